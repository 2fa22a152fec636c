package aries

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// UsersService calls the user endpoints (scope read, or user:information
// and account:information).
type UsersService struct{ c *Client }

// Current returns the user the client acts for (GET /v1/users/me). A token
// the app obtained for itself acts for no user: 403 user_required.
func (s *UsersService) Current(ctx context.Context) (*protocol.User, error) {
	var u protocol.User
	if err := s.c.do(ctx, request{method: http.MethodGet, path: "/v1/users/me"}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Profile returns the user's profile (GET /v1/users/me/profile).
func (s *UsersService) Profile(ctx context.Context) (*protocol.Profile, error) {
	var p protocol.Profile
	if err := s.c.do(ctx, request{method: http.MethodGet, path: "/v1/users/me/profile"}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Update changes the fields of the profile that are set in u (PATCH
// /v1/users/me) and returns the new profile.
func (s *UsersService) Update(ctx context.Context, u protocol.ProfileUpdate) (*protocol.Profile, error) {
	var p protocol.Profile
	if err := s.c.do(ctx, request{method: http.MethodPatch, path: "/v1/users/me", body: u}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Accounts lists the user's accounts (GET /v1/users/me/accounts); the
// sandbox opens a paper account at the first call.
func (s *UsersService) Accounts(ctx context.Context) ([]protocol.Account, error) {
	var out protocol.AccountList
	if err := s.c.do(ctx, request{method: http.MethodGet, path: "/v1/users/me/accounts"}, &out); err != nil {
		return nil, err
	}
	return out.Accounts, nil
}

// AccountsService calls the account endpoints (scope read).
type AccountsService struct{ c *Client }

// Balances returns an account's cash and value (GET
// /v1/accounts/{id}/balances).
func (s *AccountsService) Balances(ctx context.Context, accountID string) (*protocol.Balances, error) {
	var b protocol.Balances
	if err := s.c.do(ctx, request{method: http.MethodGet, path: "/v1/accounts/" + url.PathEscape(accountID) + "/balances"}, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Positions lists an account's holdings by symbol (GET
// /v1/accounts/{id}/positions).
func (s *AccountsService) Positions(ctx context.Context, accountID string) ([]protocol.Position, error) {
	var out protocol.PositionList
	if err := s.c.do(ctx, request{method: http.MethodGet, path: "/v1/accounts/" + url.PathEscape(accountID) + "/positions"}, &out); err != nil {
		return nil, err
	}
	return out.Positions, nil
}

// OrdersService places and manages orders (scope trade to change them,
// read to list them).
type OrdersService struct{ c *Client }

// Place places an order (POST /v1/orders). The Idempotency-Key makes it
// safe to send again: Aries executes one order per key and answers a
// repeat with that order. Pass a key you keep with the order in your own
// records to survive a crash between sending and reading the answer; with
// "" the SDK makes one, which covers its own retries. A market order, or a
// marketable limit, fills at once; an order the account cannot pay for
// fails with 422 insufficient_funds (or insufficient_shares) and nothing
// is recorded.
func (s *OrdersService) Place(ctx context.Context, order protocol.PlaceOrderRequest, idempotencyKey string) (*protocol.Order, error) {
	var o protocol.Order
	if err := s.c.do(ctx, withKey(request{method: http.MethodPost, path: "/v1/orders", body: order}, idempotencyKey), &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// Modify changes the quantity or limit price of a resting limit order (PUT
// /v1/orders). A filled or cancelled order fails with 409 order_not_open.
func (s *OrdersService) Modify(ctx context.Context, change protocol.ModifyOrderRequest) (*protocol.Order, error) {
	if change.OrderID == "" {
		return nil, errors.New("aries: Modify needs an OrderID")
	}
	var o protocol.Order
	if err := s.c.do(ctx, request{method: http.MethodPut, path: "/v1/orders", body: change}, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// Cancel cancels a resting order (DELETE /v1/orders). A filled or
// cancelled order fails with 409 order_not_open.
func (s *OrdersService) Cancel(ctx context.Context, orderID string) (*protocol.Order, error) {
	if orderID == "" {
		return nil, errors.New("aries: Cancel needs an order id")
	}
	var o protocol.Order
	r := request{method: http.MethodDelete, path: "/v1/orders", query: url.Values{"order_id": {orderID}}}
	if err := s.c.do(ctx, r, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// ListOrdersOptions narrows Orders.List.
type ListOrdersOptions struct {
	Status protocol.OrderStatus // only orders with this status; "" for all
	Limit  int                  // at most this many, 1 to 500; 0 for the server's default (100)
}

// List lists an account's orders, newest first (GET
// /v2/accounts/{id}/orders).
func (s *OrdersService) List(ctx context.Context, accountID string, opts ListOrdersOptions) ([]protocol.Order, error) {
	q := url.Values{}
	if opts.Status != "" {
		q.Set("status", string(opts.Status))
	}
	if opts.Limit != 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	var out protocol.OrderList
	r := request{method: http.MethodGet, path: "/v2/accounts/" + url.PathEscape(accountID) + "/orders", query: q}
	if err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out.Orders, nil
}

// WithdrawalsService takes cash out of accounts (scope withdraw).
type WithdrawalsService struct{ c *Client }

// Create withdraws amount from the account's cash (POST
// /v1/accounts/{id}/withdrawals), once per Idempotency-Key as for
// Orders.Place. Cash that does not cover it fails with 422
// insufficient_funds.
func (s *WithdrawalsService) Create(ctx context.Context, accountID string, amount protocol.Cents, idempotencyKey string) (*protocol.Withdrawal, error) {
	var wd protocol.Withdrawal
	r := request{method: http.MethodPost, path: "/v1/accounts/" + url.PathEscape(accountID) + "/withdrawals",
		body: protocol.WithdrawalRequest{Amount: amount}}
	if err := s.c.do(ctx, withKey(r, idempotencyKey), &wd); err != nil {
		return nil, err
	}
	return &wd, nil
}

// withKey sets the Idempotency-Key header, making one when key is "".
func withKey(r request, key string) request {
	if key == "" {
		key = rand.Text()
	}
	r.header = http.Header{"Idempotency-Key": {key}}
	return r
}
