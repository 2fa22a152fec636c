// Package ledger is the sandbox API's paper-trading ledger, a bounded
// context of its own beside the authorization store: accounts, positions,
// orders, withdrawals and profiles, the Store interface both backends
// (internal/store/sqlite, internal/store/postgres) implement, and the money
// rules they share (money.go). Its conformance suite is ledgertest.
//
// The ledger's ErrNotFound is store.ErrNotFound: a missing row reads the
// same whichever part of the database it is in.
package ledger

import (
	"context"
	"errors"
	"time"
)

// The ledger's invariants. Money is integer cents and
// quantities are whole shares: no floating point anywhere, so a fill moves
// exactly what it says. Every change of cash and positions happens in one
// transaction whose UPDATEs carry their own conditions ("... AND cash >=
// cost"), so cash and positions never go negative, whatever runs at the
// same time, in this process or another.

var (
	// ErrInsufficientFunds: the account's cash does not cover the fill or
	// withdrawal. Nothing was written.
	ErrInsufficientFunds = errors.New("ledger: insufficient cash")
	// ErrInsufficientShares: the account does not hold the shares a sell
	// would take (there is no short selling). Nothing was written.
	ErrInsufficientShares = errors.New("ledger: insufficient shares")
	// ErrOrderNotOpen: the order was filled or cancelled already, so it can
	// no longer be changed or cancelled.
	ErrOrderNotOpen = errors.New("ledger: order is not open")
	// ErrIdempotentReplay: the user already used this Idempotency-Key for
	// the same kind of request. Nothing was written; the earlier result is
	// returned with this error.
	ErrIdempotentReplay = errors.New("ledger: idempotency key already used")
)

// Account is a user's paper-trading account.
type Account struct {
	ID        string // "acc_" + random
	UserID    string
	Currency  string // "USD"
	Cash      int64  // cents, never negative
	CreatedAt time.Time
}

// Position is the shares of one symbol an account holds. An account holds
// no Position with zero shares.
type Position struct {
	AccountID string
	Symbol    string
	Quantity  int64 // shares, > 0
	Cost      int64 // cents paid for the shares still held (their cost basis)
	UpdatedAt time.Time
}

// OrderSide is buy or sell.
type OrderSide string

const (
	Buy  OrderSide = "buy"
	Sell OrderSide = "sell"
)

// OrderType is market (fill now at the price) or limit (fill only at the
// limit price or better).
type OrderType string

const (
	Market OrderType = "market"
	Limit  OrderType = "limit"
)

// OrderStatus is where an order is in its life.
type OrderStatus string

const (
	OrderOpen      OrderStatus = "open" // a limit order resting until filled or cancelled
	OrderFilled    OrderStatus = "filled"
	OrderCancelled OrderStatus = "cancelled"
)

// Order is an order of the paper ledger. It fills whole or not at all.
type Order struct {
	ID         string // "ord_" + random
	AccountID  string
	UserID     string
	Symbol     string
	Side       OrderSide
	Type       OrderType
	Quantity   int64 // shares, > 0
	LimitPrice int64 // cents per share; 0 for market orders
	Status     OrderStatus
	FillPrice  int64 // cents per share; 0 until filled
	// IdempotencyKey is the Idempotency-Key header of the placing request,
	// "" when it had none. Unique per user.
	IdempotencyKey string
	// RequestHash fingerprints the placing request, so that a retry (same
	// key, same request) can be told from a reused key (same key, another
	// request).
	RequestHash string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FilledAt    time.Time // zero until filled
	CancelledAt time.Time // zero unless cancelled
}

// Withdrawal takes cash out of an account.
type Withdrawal struct {
	ID             string // "wd_" + random
	AccountID      string
	UserID         string
	Amount         int64 // cents, > 0
	IdempotencyKey string
	RequestHash    string
	CreatedAt      time.Time
}

// Profile is what a user may change about themselves through the API.
// Email and password are not here: they are sign-in credentials, and a
// token must not be able to change them.
type Profile struct {
	UserID      string
	DisplayName string
	Phone       string    // E.164, or ""
	UpdatedAt   time.Time // zero until first saved
}

// Store is the part of the Store that the sandbox trading API needs.
// Every method that names an account or order also takes the user: a row
// of another user is ErrNotFound, exactly like a row that does not exist.
type Store interface {
	// OpenAccount creates a, the paper account of a.UserID, unless that
	// user already has one, and returns the user's account either way.
	// Concurrent calls for one user create one account.
	OpenAccount(ctx context.Context, a Account) (Account, error)
	// Accounts lists the user's accounts, oldest first.
	Accounts(ctx context.Context, userID string) ([]Account, error)
	// Account returns the user's account id.
	Account(ctx context.Context, userID, id string) (Account, error)
	// Positions lists the positions of the user's account id by symbol.
	Positions(ctx context.Context, userID, accountID string) ([]Position, error)

	// PlaceOrder stores o and, when o.Status is OrderFilled, applies its
	// fill at o.FillPrice, in one transaction: a buy takes Quantity x
	// FillPrice from the cash (ErrInsufficientFunds if it does not cover
	// it) and adds the shares at that cost; a sell needs the shares
	// (ErrInsufficientShares), credits the cash and removes the sold
	// shares' part of the cost basis. When o.IdempotencyKey is set and the
	// user placed an order with that key before, nothing is written and
	// that order is returned with ErrIdempotentReplay. Unknown or other
	// users' accounts give ErrNotFound.
	PlaceOrder(ctx context.Context, o Order) (Order, error)
	// ReplaceOrder changes the quantity and limit price of the user's open
	// order o.ID to o's, and fills it at o.FillPrice (applied as in
	// PlaceOrder, with the stored side and symbol) when o.Status is
	// OrderFilled, all in one transaction. o.UpdatedAt (and o.FilledAt
	// for a fill) is the time of the change. An order no longer open gives
	// ErrOrderNotOpen.
	ReplaceOrder(ctx context.Context, o Order) (Order, error)
	// CancelOrder cancels the user's open order id at now; ErrOrderNotOpen
	// once it is filled or cancelled.
	CancelOrder(ctx context.Context, userID, id string, now time.Time) (Order, error)
	// Order returns the user's order id.
	Order(ctx context.Context, userID, id string) (Order, error)
	// Orders lists the orders of the user's account, newest first, at most
	// limit of them, only those with status unless it is "".
	Orders(ctx context.Context, userID, accountID string, status OrderStatus, limit int) ([]Order, error)

	// Withdraw takes w.Amount from the account's cash and records w, in
	// one transaction; ErrInsufficientFunds when the cash does not cover
	// it. An Idempotency-Key used before by the user returns that
	// withdrawal with ErrIdempotentReplay and writes nothing.
	Withdraw(ctx context.Context, w Withdrawal) (Withdrawal, error)

	// Profile returns the user's profile; a user who never saved one gets
	// an empty Profile (with UserID set), not ErrNotFound.
	Profile(ctx context.Context, userID string) (Profile, error)
	// SaveProfile replaces the user's profile.
	SaveProfile(ctx context.Context, p Profile) error
}
