package protocol

import "time"

// The resources of the sandbox trading API, as the server writes them.
// Money is Cents (a decimal string on the wire), quantities whole shares,
// times RFC 3339 in UTC. A time that has not happened yet is null (nil).

// User is GET /v1/users/me: the user the token acts for.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// Profile is GET /v1/users/me/profile and the answer of PATCH /v1/users/me.
type Profile struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	DisplayName string     `json:"display_name"`
	Phone       string     `json:"phone"` // E.164, such as "+14155550123", or ""
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"` // nil until first changed
}

// ProfileUpdate is the body of PATCH /v1/users/me: a field that is set
// replaces the stored value, a nil one keeps it; "" clears it. Email and
// password cannot be changed with an access token.
type ProfileUpdate struct {
	DisplayName *string `json:"display_name,omitempty"`
	Phone       *string `json:"phone,omitempty"`
}

// Account is a user's paper-trading account.
type Account struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"` // "paper"
	Currency  string    `json:"currency"`
	Status    string    `json:"status"` // "active"
	CreatedAt time.Time `json:"created_at"`
}

// AccountList is GET /v1/users/me/accounts.
type AccountList struct {
	Accounts []Account `json:"accounts"`
}

// Balances is GET /v1/accounts/{id}/balances. Positions are valued at the
// sandbox's simulated prices.
type Balances struct {
	AccountID      string `json:"account_id"`
	Currency       string `json:"currency"`
	Cash           Cents  `json:"cash"`
	PositionsValue Cents  `json:"positions_value"`
	Equity         Cents  `json:"equity"`
	BuyingPower    Cents  `json:"buying_power"`
}

// Position is the shares of one symbol an account holds.
type Position struct {
	Symbol       string `json:"symbol"`
	Quantity     int64  `json:"quantity"`
	CostBasis    Cents  `json:"cost_basis"`
	Price        Cents  `json:"price"`
	MarketValue  Cents  `json:"market_value"`
	UnrealizedPL Cents  `json:"unrealized_pl"`
}

// PositionList is GET /v1/accounts/{id}/positions.
type PositionList struct {
	AccountID string     `json:"account_id"`
	Positions []Position `json:"positions"`
}

// OrderSide is buy or sell.
type OrderSide string

const (
	Buy  OrderSide = "buy"
	Sell OrderSide = "sell"
)

// OrderType is market (fills at once at the price) or limit (fills only at
// the limit price or better, and rests until then).
type OrderType string

const (
	Market OrderType = "market"
	Limit  OrderType = "limit"
)

// OrderStatus is where an order is in its life.
type OrderStatus string

const (
	OrderOpen      OrderStatus = "open" // a limit order resting
	OrderFilled    OrderStatus = "filled"
	OrderCancelled OrderStatus = "cancelled"
)

// Order is an order of the paper ledger; it fills whole or not at all.
type Order struct {
	ID          string      `json:"id"`
	AccountID   string      `json:"account_id"`
	Symbol      string      `json:"symbol"`
	Side        OrderSide   `json:"side"`
	Type        OrderType   `json:"type"`
	Quantity    int64       `json:"quantity"`
	LimitPrice  *Cents      `json:"limit_price"` // nil for market orders
	Status      OrderStatus `json:"status"`
	FilledPrice *Cents      `json:"filled_price"` // nil until filled
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	FilledAt    *time.Time  `json:"filled_at"`
	CancelledAt *time.Time  `json:"cancelled_at"`
}

// OrderList is GET /v2/accounts/{id}/orders, newest first.
type OrderList struct {
	Orders []Order `json:"orders"`
}

// PlaceOrderRequest is the body of POST /v1/orders. AccountID may be empty
// for the user's paper account; Type defaults to market; LimitPrice is
// for limit orders only.
type PlaceOrderRequest struct {
	AccountID  string    `json:"account_id,omitempty"`
	Symbol     string    `json:"symbol"`
	Side       OrderSide `json:"side"`
	Type       OrderType `json:"type,omitempty"`
	Quantity   int64     `json:"quantity"`
	LimitPrice *Cents    `json:"limit_price,omitempty"`
}

// ModifyOrderRequest is the body of PUT /v1/orders: a new quantity, limit
// price or both for a resting limit order. A limit that has become
// marketable fills at once.
type ModifyOrderRequest struct {
	OrderID    string `json:"order_id"`
	Quantity   *int64 `json:"quantity,omitempty"`
	LimitPrice *Cents `json:"limit_price,omitempty"`
}

// WithdrawalRequest is the body of POST /v1/accounts/{id}/withdrawals.
type WithdrawalRequest struct {
	Amount Cents `json:"amount"`
}

// Withdrawal is cash taken out of an account.
type Withdrawal struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Amount    Cents     `json:"amount"`
	Status    string    `json:"status"` // "completed": paper money moves at once
	CreatedAt time.Time `json:"created_at"`
}

// Sandbox error codes, beside those of RFC 6749 and RFC 6750.
const (
	ErrNotFound             = "not_found"
	ErrUserRequired         = "user_required" // a client_credentials token on a user's route
	ErrInsufficientFunds    = "insufficient_funds"
	ErrInsufficientShares   = "insufficient_shares"
	ErrOrderNotOpen         = "order_not_open"
	ErrIdempotencyKeyReused = "idempotency_key_reused"
)
