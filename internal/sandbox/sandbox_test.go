package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

var now = time.Date(2026, 11, 3, 14, 30, 0, 0, time.UTC)

// Cents formats expected amounts as the wire does.
type Cents = protocol.Cents

// env is a sandbox on a fresh SQLite store with two users.
type env struct {
	t   *testing.T
	api *API
	mux *http.ServeMux
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, testenv.Open(t, false))
}

// backend is a database serving users and the ledger, as each backend
// package does.
type backend interface {
	store.UserStore
	ledger.Store
}

// newEnvOn is newEnv over st.
func newEnvOn(t *testing.T, st backend) *env {
	t.Helper()
	for _, id := range []string{"usr_alice", "usr_bob"} {
		if err := st.CreateUser(context.Background(), store.User{ID: id, Email: id + "@example.com", PasswordHash: "x", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	a := &API{Users: st, Ledger: st, Now: func() time.Time { return now }}
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /v1/users/me":                   a.Me,
		"GET /v1/users/me/profile":           a.Profile,
		"PATCH /v1/users/me":                 a.UpdateMe,
		"GET /v1/users/me/accounts":          a.Accounts,
		"GET /v1/accounts/{id}/balances":     a.Balances,
		"GET /v1/accounts/{id}/positions":    a.Positions,
		"POST /v1/accounts/{id}/withdrawals": a.Withdraw,
		"POST /v1/orders":                    a.PlaceOrder,
		"PUT /v1/orders":                     a.ReplaceOrder,
		"DELETE /v1/orders":                  a.CancelOrder,
		"GET /v2/accounts/{id}/orders":       a.Orders,
	} {
		mux.Handle(pattern, h)
	}
	return &env{t: t, api: a, mux: mux}
}

type result struct {
	status int
	header http.Header
	body   map[string]any
}

// do serves a request as sub (a user id, or the client id for a client
// acting as itself) with a JSON body given as a string.
func (e *env) do(sub, method, target, body string, header ...string) result {
	e.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	r = r.WithContext(bearer.NewContext(r.Context(), &bearer.Claims{Subject: sub, ClientID: "aries_ci_app"}))
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	out := result{status: w.Code, header: w.Header()}
	if err := json.Unmarshal(w.Body.Bytes(), &out.body); err != nil {
		e.t.Fatalf("%s %s: body %q is not a JSON object", method, target, w.Body)
	}
	return out
}

func (e *env) account(user string) string {
	e.t.Helper()
	r := e.do(user, "GET", "/v1/users/me/accounts", "")
	accounts := r.body["accounts"].([]any)
	return accounts[0].(map[string]any)["id"].(string)
}

func (e *env) balances(user, account string) map[string]any {
	e.t.Helper()
	return e.do(user, "GET", "/v1/accounts/"+account+"/balances", "").body
}

func want(t *testing.T, what string, got result, status int, code string) {
	t.Helper()
	if got.status != status || (code != "" && got.body["error"] != code) {
		t.Fatalf("%s: got %d %v, want %d %s", what, got.status, got.body, status, code)
	}
}

func TestPriceIsStable(t *testing.T) {
	// Pinned: a change would move every documented example and every fill.
	tests := map[string]int64{"AAPL": Price("AAPL"), "MSFT": Price("MSFT")}
	for sym, p := range tests {
		if p < minPrice || p > maxPrice {
			t.Errorf("Price(%s) = %d cents, want between %d and %d", sym, p, minPrice, maxPrice)
		}
		if again := Price(sym); again != p {
			t.Errorf("Price(%s) changed between calls: %d then %d", sym, p, again)
		}
	}
	if got := Price("AAPL"); got != 134_57 {
		t.Errorf("Price(AAPL) = %d, want the documented 13457 ($134.57)", got)
	}
}

func TestNewUserGetsAPaperAccount(t *testing.T) {
	e := newEnv(t)
	acc := e.account("usr_alice")
	if again := e.account("usr_alice"); again != acc {
		t.Errorf("second listing: got account %s, want the same %s", again, acc)
	}
	got := e.balances("usr_alice", acc)
	wantBalances := map[string]any{"account_id": acc, "currency": "USD", "cash": "100000.00",
		"positions_value": "0.00", "equity": "100000.00", "buying_power": "100000.00"}
	if d := cmp.Diff(wantBalances, got); d != "" {
		t.Errorf("balances of a new account (-want +got):\n%s", d)
	}
}

func TestMarketOrdersFillAtTheSimulatedPrice(t *testing.T) {
	e := newEnv(t)
	acc := e.account("usr_alice")
	price := Price("AAPL")

	r := e.do("usr_alice", "POST", "/v1/orders", `{"symbol":"aapl","side":"buy","quantity":10}`)
	want(t, "market buy", r, http.StatusCreated, "")
	if r.body["status"] != "filled" || r.body["filled_price"] != Cents(price).String() || r.body["symbol"] != "AAPL" || r.body["account_id"] != acc {
		t.Errorf("market buy: got %v, want filled at %s on %s", r.body, Cents(price), acc)
	}
	b := e.balances("usr_alice", acc)
	if b["cash"] != Cents(DefaultStartingCash-10*price).String() || b["equity"] != "100000.00" {
		t.Errorf("balances after buying: got %v, want cash %s and equity unchanged", b, Cents(DefaultStartingCash-10*price))
	}
	pos := e.do("usr_alice", "GET", "/v1/accounts/"+acc+"/positions", "").body["positions"].([]any)
	if len(pos) != 1 || pos[0].(map[string]any)["quantity"] != 10.0 || pos[0].(map[string]any)["cost_basis"] != Cents(10*price).String() {
		t.Errorf("positions: got %v, want 10 AAPL costing %s", pos, Cents(10*price))
	}

	// Refusals change nothing.
	r = e.do("usr_alice", "POST", "/v1/orders", `{"symbol":"AAPL","side":"sell","quantity":11}`)
	want(t, "selling more than held", r, http.StatusUnprocessableEntity, "insufficient_shares")
	r = e.do("usr_alice", "POST", "/v1/orders", `{"symbol":"AAPL","side":"buy","quantity":1000000}`)
	want(t, "buying beyond the cash", r, http.StatusUnprocessableEntity, "insufficient_funds")
	if after := e.balances("usr_alice", acc); after["cash"] != b["cash"] {
		t.Errorf("cash after refused orders: got %v, want %v", after["cash"], b["cash"])
	}
	orders := e.do("usr_alice", "GET", "/v2/accounts/"+acc+"/orders", "").body["orders"].([]any)
	if len(orders) != 1 {
		t.Errorf("got %d orders listed, want only the filled one", len(orders))
	}
}

func TestLimitOrdersRestUntilChangedOrCancelled(t *testing.T) {
	e := newEnv(t)
	acc := e.account("usr_alice")
	price := Price("MSFT")

	r := e.do("usr_alice", "POST", "/v1/orders", `{"symbol":"MSFT","side":"buy","type":"limit","quantity":5,"limit_price":"10.00"}`)
	want(t, "limit buy below the price", r, http.StatusCreated, "")
	if r.body["status"] != "open" || r.body["filled_price"] != nil {
		t.Fatalf("limit buy below the price: got %v, want it open", r.body)
	}
	id := r.body["id"].(string)
	if b := e.balances("usr_alice", acc); b["cash"] != "100000.00" {
		t.Errorf("cash with a resting order: got %v, want untouched", b["cash"])
	}

	r = e.do("usr_alice", "PUT", "/v1/orders", `{"order_id":"`+id+`","quantity":7}`)
	want(t, "changing the quantity", r, http.StatusOK, "")
	if r.body["status"] != "open" || r.body["quantity"] != 7.0 {
		t.Errorf("changed order: got %v, want open with 7 shares", r.body)
	}
	// A limit at or above the price fills at the price, not the limit.
	r = e.do("usr_alice", "PUT", "/v1/orders", `{"order_id":"`+id+`","limit_price":"`+Cents(price+1_00).String()+`"}`)
	want(t, "raising the limit above the price", r, http.StatusOK, "")
	if r.body["status"] != "filled" || r.body["filled_price"] != Cents(price).String() {
		t.Errorf("marketable limit: got %v, want filled at %s", r.body, Cents(price))
	}
	if b := e.balances("usr_alice", acc); b["cash"] != Cents(DefaultStartingCash-7*price).String() {
		t.Errorf("cash after the fill: got %v, want %s", b["cash"], Cents(DefaultStartingCash-7*price))
	}
	want(t, "changing a filled order", e.do("usr_alice", "PUT", "/v1/orders", `{"order_id":"`+id+`","quantity":1}`), http.StatusConflict, "order_not_open")
	want(t, "cancelling a filled order", e.do("usr_alice", "DELETE", "/v1/orders?order_id="+id, ""), http.StatusConflict, "order_not_open")

	// A limit sell above the price rests; DELETE cancels it (id in the
	// query or in a JSON body).
	for _, how := range []string{"query", "body"} {
		r = e.do("usr_alice", "POST", "/v1/orders", `{"symbol":"MSFT","side":"sell","type":"limit","quantity":1,"limit_price":"999999.00"}`)
		want(t, "limit sell above the price", r, http.StatusCreated, "")
		id := r.body["id"].(string)
		if how == "query" {
			r = e.do("usr_alice", "DELETE", "/v1/orders?order_id="+id, "")
		} else {
			r = e.do("usr_alice", "DELETE", "/v1/orders", `{"order_id":"`+id+`"}`)
		}
		want(t, "cancel by "+how, r, http.StatusOK, "")
		if r.body["status"] != "cancelled" || r.body["cancelled_at"] == nil {
			t.Errorf("cancel by %s: got %v, want cancelled", how, r.body)
		}
	}
	open := e.do("usr_alice", "GET", "/v2/accounts/"+acc+"/orders?status=open", "").body["orders"].([]any)
	if len(open) != 0 {
		t.Errorf("open orders after cancelling: got %d, want 0", len(open))
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	acc := e.account("usr_alice")
	order := `{"symbol":"AAPL","side":"buy","quantity":3}`
	first := e.do("usr_alice", "POST", "/v1/orders", order, "Idempotency-Key", "k-1")
	want(t, "first", first, http.StatusCreated, "")
	retry := e.do("usr_alice", "POST", "/v1/orders", order, "Idempotency-Key", "k-1")
	want(t, "retry", retry, http.StatusCreated, "")
	if retry.body["id"] != first.body["id"] || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: got order %v (Idempotent-Replayed %q), want %v replayed", retry.body["id"], retry.header.Get("Idempotent-Replayed"), first.body["id"])
	}
	if b := e.balances("usr_alice", acc); b["cash"] != Cents(DefaultStartingCash-3*Price("AAPL")).String() {
		t.Errorf("cash after a retried order: got %v, want one execution", b["cash"])
	}
	want(t, "same key, another order", e.do("usr_alice", "POST", "/v1/orders", `{"symbol":"AAPL","side":"buy","quantity":4}`, "Idempotency-Key", "k-1"),
		http.StatusUnprocessableEntity, "idempotency_key_reused")
	want(t, "another user, same key", e.do("usr_bob", "POST", "/v1/orders", order, "Idempotency-Key", "k-1"), http.StatusCreated, "")

	w := `{"amount":"100.00"}`
	first = e.do("usr_alice", "POST", "/v1/accounts/"+acc+"/withdrawals", w, "Idempotency-Key", "w-1")
	want(t, "withdrawal", first, http.StatusCreated, "")
	retry = e.do("usr_alice", "POST", "/v1/accounts/"+acc+"/withdrawals", w, "Idempotency-Key", "w-1")
	if retry.status != http.StatusCreated || retry.body["id"] != first.body["id"] {
		t.Errorf("retried withdrawal: got %d %v, want the first replayed", retry.status, retry.body)
	}
	want(t, "key with a space", e.do("usr_alice", "POST", "/v1/orders", order, "Idempotency-Key", "a b"), http.StatusBadRequest, "invalid_request")
}

func TestWithdrawals(t *testing.T) {
	e := newEnv(t)
	acc := e.account("usr_alice")
	r := e.do("usr_alice", "POST", "/v1/accounts/"+acc+"/withdrawals", `{"amount":"99999.99"}`)
	want(t, "withdrawal", r, http.StatusCreated, "")
	if r.body["amount"] != "99999.99" || r.body["status"] != "completed" {
		t.Errorf("withdrawal: got %v", r.body)
	}
	want(t, "overdraft", e.do("usr_alice", "POST", "/v1/accounts/"+acc+"/withdrawals", `{"amount":"0.02"}`), http.StatusUnprocessableEntity, "insufficient_funds")
	want(t, "the last cent", e.do("usr_alice", "POST", "/v1/accounts/"+acc+"/withdrawals", `{"amount":0.01}`), http.StatusCreated, "")
	for _, body := range []string{`{}`, `{"amount":"0"}`, `{"amount":"-5"}`, `{"amount":"1.001"}`, `{"amount":"1","to":"elsewhere"}`} {
		want(t, "withdrawal "+body, e.do("usr_alice", "POST", "/v1/accounts/"+acc+"/withdrawals", body), http.StatusBadRequest, "invalid_request")
	}
}

func TestOtherUsersRowsAreNotFound(t *testing.T) {
	e := newEnv(t)
	alice := e.account("usr_alice")
	e.account("usr_bob")
	order := e.do("usr_alice", "POST", "/v1/orders", `{"symbol":"AAPL","side":"buy","type":"limit","quantity":1,"limit_price":"1.00"}`).body["id"].(string)
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/v1/accounts/" + alice + "/balances", ""},
		{"GET", "/v1/accounts/" + alice + "/positions", ""},
		{"GET", "/v2/accounts/" + alice + "/orders", ""},
		{"POST", "/v1/accounts/" + alice + "/withdrawals", `{"amount":"1.00"}`},
		{"POST", "/v1/orders", `{"account_id":"` + alice + `","symbol":"AAPL","side":"buy","quantity":1}`},
		{"PUT", "/v1/orders", `{"order_id":"` + order + `","quantity":2}`},
		{"DELETE", "/v1/orders?order_id=" + order, ""},
	} {
		want(t, "bob: "+c.method+" "+c.target, e.do("usr_bob", c.method, c.target, c.body), http.StatusNotFound, "not_found")
	}
}

// Ids no row can have (a NUL byte, invalid UTF-8) are 404 on every
// backend: PostgreSQL refuses them with an error that would read as an
// outage (security review finding 12).
func TestBadIdsAreNotFound(t *testing.T) {
	for name, pg := range map[string]bool{"sqlite": false, "postgres": true} {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, testenv.Open(t, pg))
			for _, id := range []string{"acc_\x00x", "acc_\xff"} {
				esc := url.PathEscape(id)
				for _, c := range []struct{ method, target, body string }{
					{"GET", "/v1/accounts/" + esc + "/balances", ""},
					{"GET", "/v2/accounts/" + esc + "/orders", ""},
					{"POST", "/v1/accounts/" + esc + "/withdrawals", `{"amount":"1.00"}`},
					{"POST", "/v1/orders", `{"account_id":"acc_\u0000x","symbol":"AAPL","side":"buy","quantity":1}`},
					{"PUT", "/v1/orders", `{"order_id":"ord_\u0000x","quantity":2}`},
					{"DELETE", "/v1/orders?order_id=" + url.QueryEscape(id), ""},
				} {
					want(t, c.method+" "+c.target, e.do("usr_alice", c.method, c.target, c.body), http.StatusNotFound, "not_found")
				}
			}
		})
	}
}

func TestClientWithoutUserIsRefused(t *testing.T) {
	e := newEnv(t)
	want(t, "client_credentials token", e.do("aries_ci_app", "GET", "/v1/users/me", ""), http.StatusForbidden, "user_required")
}

func TestProfile(t *testing.T) {
	e := newEnv(t)
	r := e.do("usr_alice", "GET", "/v1/users/me/profile", "")
	if r.body["display_name"] != "" || r.body["email"] != "usr_alice@example.com" || r.body["updated_at"] != nil {
		t.Errorf("profile never saved: got %v", r.body)
	}
	r = e.do("usr_alice", "PATCH", "/v1/users/me", `{"display_name":"  Alice  ","phone":"+14155550123"}`)
	want(t, "PATCH", r, http.StatusOK, "")
	if r.body["display_name"] != "Alice" || r.body["phone"] != "+14155550123" {
		t.Errorf("after PATCH: got %v", r.body)
	}
	r = e.do("usr_alice", "PATCH", "/v1/users/me", `{"phone":""}`)
	if r.body["display_name"] != "Alice" || r.body["phone"] != "" {
		t.Errorf("after PATCH of the phone only: got %v, want the name kept", r.body)
	}
	for _, body := range []string{`{"email":"evil@example.com"}`, `{"password":"x"}`, `{"phone":"555-0123"}`,
		`{"display_name":"` + strings.Repeat("x", 101) + `"}`, `{"display_name":"a\u0000b"}`, `[]`, `{"display_name":"a"} {}`} {
		want(t, "PATCH "+body, e.do("usr_alice", "PATCH", "/v1/users/me", body), http.StatusBadRequest, "invalid_request")
	}
	me := e.do("usr_alice", "GET", "/v1/users/me", "")
	if me.body["id"] != "usr_alice" || me.body["email"] != "usr_alice@example.com" {
		t.Errorf("GET /v1/users/me: got %v", me.body)
	}
}

func TestRequestBodies(t *testing.T) {
	e := newEnv(t)
	huge := `{"symbol":"` + strings.Repeat("A", 70<<10) + `"}`
	want(t, "body over 64 KiB", e.do("usr_alice", "POST", "/v1/orders", huge), http.StatusRequestEntityTooLarge, "invalid_request")
	r := httptest.NewRequest("POST", "/v1/orders", bytes.NewReader([]byte(`symbol=AAPL`)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = r.WithContext(bearer.NewContext(r.Context(), &bearer.Claims{Subject: "usr_alice", ClientID: "c"}))
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	if w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("form body: got %d, want 415", w.Code)
	}
	for _, body := range []string{
		`{"symbol":"AAPL","side":"hold","quantity":1}`,
		`{"symbol":"AAPL","side":"buy","quantity":0}`,
		`{"symbol":"AAPL","side":"buy","quantity":1.5}`,
		`{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1.00"}`,
		`{"symbol":"AAPL","side":"buy","type":"limit","quantity":1}`,
		`{"symbol":"AAPL","side":"buy","type":"stop","quantity":1}`,
		`{"symbol":"$$$","side":"buy","quantity":1}`,
	} {
		want(t, "order "+body, e.do("usr_alice", "POST", "/v1/orders", body), http.StatusBadRequest, "invalid_request")
	}
}
