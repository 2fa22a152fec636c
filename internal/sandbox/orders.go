package sandbox

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Bounds of an order. With prices at most $1,000,000.00 and 1,000,000
// shares, a notional fits easily in an int64 of cents.
const (
	maxQuantity   = 1_000_000
	maxLimitPrice = 1_000_000_00
)

// symbolPattern is a ticker: a letter, then letters, digits or dots.
var symbolPattern = regexp.MustCompile(`^[A-Z][A-Z0-9.]{0,9}$`)

func toOrder(o ledger.Order) protocol.Order {
	out := protocol.Order{
		ID: o.ID, AccountID: o.AccountID, Symbol: o.Symbol, Side: protocol.OrderSide(o.Side), Type: protocol.OrderType(o.Type),
		Quantity: o.Quantity, Status: protocol.OrderStatus(o.Status), CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
		FilledAt: timeOrNil(o.FilledAt), CancelledAt: timeOrNil(o.CancelledAt),
	}
	if o.Type == ledger.Limit {
		p := protocol.Cents(o.LimitPrice)
		out.LimitPrice = &p
	}
	if o.Status == ledger.OrderFilled {
		p := protocol.Cents(o.FillPrice)
		out.FilledPrice = &p
	}
	return out
}

// checkOrder validates and normalises the body of POST /v1/orders; it
// returns the problem, or "".
func checkOrder(p *protocol.PlaceOrderRequest) string {
	p.Symbol = strings.ToUpper(strings.TrimSpace(p.Symbol))
	if p.Type == "" {
		p.Type = protocol.Market
	}
	switch {
	case !symbolPattern.MatchString(p.Symbol):
		return "symbol must be a ticker such as AAPL or BRK.B"
	case p.Side != protocol.Buy && p.Side != protocol.Sell:
		return `side must be "buy" or "sell"`
	case p.Type != protocol.Market && p.Type != protocol.Limit:
		return `type must be "market" or "limit"`
	case p.Quantity < 1 || p.Quantity > maxQuantity:
		return "quantity must be a whole number of shares from 1 to 1000000"
	case p.Type == protocol.Market && p.LimitPrice != nil:
		return "a market order takes no limit_price"
	case p.Type == protocol.Limit && (p.LimitPrice == nil || *p.LimitPrice <= 0 || *p.LimitPrice > maxLimitPrice):
		return `a limit order needs a limit_price from "0.01" to "1000000.00"`
	}
	return ""
}

// marketable reports whether an order of side with limit (0: market) fills
// at price now: a buy at or above it, a sell at or below it.
func marketable(side ledger.OrderSide, limit, price int64) bool {
	switch {
	case limit == 0:
		return true
	case side == ledger.Buy:
		return limit >= price
	default:
		return limit <= price
	}
}

// PlaceOrder serves POST /v1/orders (the SDK's orders.place_order). A
// marketable order fills at once at the simulated price; a limit order that
// is not rests. 201 with the order; 422 insufficient_funds or
// insufficient_shares when it cannot fill, and then nothing is recorded.
func (a *API) PlaceOrder(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	var req protocol.PlaceOrderRequest
	if !decode(w, r, &req) {
		return
	}
	if problem := checkOrder(&req); problem != "" {
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, problem)
		return
	}
	if req.AccountID != "" && !knownID(w, r, a, req.AccountID) {
		return
	}
	if req.AccountID == "" {
		acc, err := a.account(r, userID)
		if err != nil {
			a.storeError(w, r, err)
			return
		}
		req.AccountID = acc.ID
	}
	var limit int64
	if req.LimitPrice != nil {
		limit = int64(*req.LimitPrice)
	}
	now := a.now()
	o := ledger.Order{
		ID: secret.ID("ord_"), AccountID: req.AccountID, UserID: userID, Symbol: req.Symbol,
		Side: ledger.OrderSide(req.Side), Type: ledger.OrderType(req.Type), Quantity: req.Quantity,
		LimitPrice: limit, Status: ledger.OrderOpen, IdempotencyKey: key,
		RequestHash: fingerprint("order", req.AccountID, req.Symbol, string(req.Side), string(req.Type),
			strconv.FormatInt(req.Quantity, 10), strconv.FormatInt(limit, 10)),
		CreatedAt: now, UpdatedAt: now,
	}
	if price := Price(o.Symbol); marketable(o.Side, limit, price) {
		o.Status, o.FillPrice, o.FilledAt = ledger.OrderFilled, price, now
	}
	placed, err := a.Ledger.PlaceOrder(r.Context(), o)
	if errors.Is(err, ledger.ErrIdempotentReplay) {
		if placed.RequestHash != o.RequestHash {
			writeError(w, http.StatusUnprocessableEntity, protocol.ErrIdempotencyKeyReused, "this Idempotency-Key was used for a different order")
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		// The order as it is now: a resting one may have changed since.
		if placed, err = a.Ledger.Order(r.Context(), userID, placed.ID); err != nil {
			a.storeError(w, r, err)
			return
		}
	} else if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toOrder(placed))
}

// ReplaceOrder serves PUT /v1/orders: {"order_id", "quantity"?,
// "limit_price"?} changes a resting limit order; if the new limit is
// marketable it fills at once. 409 order_not_open once the order is filled
// or cancelled.
func (a *API) ReplaceOrder(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	var req protocol.ModifyOrderRequest
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.OrderID == "":
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "order_id is required")
		return
	case req.Quantity == nil && req.LimitPrice == nil:
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "give a new quantity, limit_price or both")
		return
	case req.Quantity != nil && (*req.Quantity < 1 || *req.Quantity > maxQuantity):
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "quantity must be a whole number of shares from 1 to 1000000")
		return
	case req.LimitPrice != nil && (*req.LimitPrice <= 0 || *req.LimitPrice > maxLimitPrice):
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, `limit_price must be from "0.01" to "1000000.00"`)
		return
	}
	if !knownID(w, r, a, req.OrderID) {
		return
	}
	cur, err := a.Ledger.Order(r.Context(), userID, req.OrderID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if cur.Status != ledger.OrderOpen {
		a.storeError(w, r, ledger.ErrOrderNotOpen)
		return
	}
	next := cur
	if req.Quantity != nil {
		next.Quantity = *req.Quantity
	}
	if req.LimitPrice != nil {
		next.LimitPrice = int64(*req.LimitPrice)
	}
	now := a.now()
	next.UpdatedAt = now
	if price := Price(cur.Symbol); marketable(cur.Side, next.LimitPrice, price) {
		next.Status, next.FillPrice, next.FilledAt = ledger.OrderFilled, price, now
	}
	// The store applies the change only if the order is still open, so a
	// race with a cancel or another change has one winner.
	replaced, err := a.Ledger.ReplaceOrder(r.Context(), next)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toOrder(replaced))
}

// CancelOrder serves DELETE /v1/orders?order_id=ID (or the id in a JSON
// body {"order_id"}): it cancels a resting order. 409 order_not_open once
// it is filled or cancelled.
func (a *API) CancelOrder(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("order_id")
	if id == "" && r.ContentLength != 0 {
		var req struct {
			OrderID string `json:"order_id"`
		}
		if !decode(w, r, &req) {
			return
		}
		id = req.OrderID
	}
	if id == "" {
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "order_id is required, in the query string or a JSON body")
		return
	}
	if !knownID(w, r, a, id) {
		return
	}
	cancelled, err := a.Ledger.CancelOrder(r.Context(), userID, id, a.now())
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toOrder(cancelled))
}

// Orders serves GET /v2/accounts/{id}/orders?status=open|filled|cancelled
// &limit=N: the account's orders, newest first (limit 100 by default, at
// most 500).
func (a *API) Orders(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	status := ledger.OrderStatus(q.Get("status"))
	switch status {
	case "", ledger.OrderOpen, ledger.OrderFilled, ledger.OrderCancelled:
	default:
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, `status must be "open", "filled" or "cancelled"`)
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "limit must be a whole number from 1 to 500")
			return
		}
		limit = n
	}
	if !knownID(w, r, a, r.PathValue("id")) {
		return
	}
	orders, err := a.Ledger.Orders(r.Context(), userID, r.PathValue("id"), status, limit)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	out := protocol.OrderList{Orders: []protocol.Order{}}
	for _, o := range orders {
		out.Orders = append(out.Orders, toOrder(o))
	}
	writeJSON(w, http.StatusOK, out)
}
