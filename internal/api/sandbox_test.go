package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/sandbox"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// TestUpstreams checks what an upstream receives and what the caller gets
// when there is none.
func TestUpstreams(t *testing.T) {
	up := testUpstream(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	e := newEnv(t, withUpstream("/v1/marketdata", up.URL), withUpstream("/v1/news", dead.URL))
	tok := e.login(t, e.app, e.User, "read").Token

	r := e.call(t, "GET", "/v1/marketdata/search?q=MSFT", tok, nil, "X-Aries-User", "usr_someone_else", "X-Aries-Admin", "true", "Cookie", "__Host-aries_session=secret")
	var echo map[string]string
	r.Decode(t, &echo)
	if r.Status != http.StatusOK || echo["user"] != e.User.ID || echo["spoofed"] != "" || echo["cookie"] != "" || echo["authorization"] != "" {
		t.Errorf("upstream saw %v (status %d): want the verified user only, no spoofed X-Aries-* header, no cookie, no token", echo, r.Status)
	}

	// A client acting as itself has no user.
	cc := e.clientToken(t, e.app, "market:information")
	r = e.call(t, "GET", "/v1/marketdata/search", cc.Token, nil)
	r.Decode(t, &echo)
	if r.Status != http.StatusOK || echo["user"] != "" || echo["client"] != e.app.ID {
		t.Errorf("client_credentials token: upstream saw %v, want no user and client %s", echo, e.app.ID)
	}

	tests := []struct {
		path       string
		wantStatus int
		wantError  string
	}{
		{"/v1/calendars/earnings", http.StatusServiceUnavailable, "upstream_unavailable"},
		{"/v1/market/ws", http.StatusServiceUnavailable, "upstream_unavailable"},
		{"/v1/news", http.StatusBadGateway, "upstream_error"},
	}
	for _, tt := range tests {
		r := e.call(t, "GET", tt.path, tok, nil)
		if r.Status != tt.wantStatus || r.ErrorCode() != tt.wantError {
			t.Errorf("GET %s: got %s, want %d %s", tt.path, r, tt.wantStatus, tt.wantError)
		}
	}
}

// TestTradingRateLimit: the 51st trading request within a minute is
// refused with 429, Retry-After and X-RateLimit-Reset; other categories,
// other users and the same user through another client are not affected.
// (internal/token's TestAuthenticationRateLimit is the authentication
// category.)
func TestTradingRateLimit(t *testing.T) {
	e := newEnv(t)
	other, _ := e.NewClient(store.Client{Name: "Other app", Scopes: testenv.Scopes(t, "read trade")})
	bob := e.NewUser(store.User{Email: "bob@example.com"}, "")

	alice := e.login(t, other, e.User, "read trade").Token
	aliceViaApp := e.login(t, e.app, e.User, "read trade").Token
	order := map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1}
	// GCRA refills one request every 1.2 s (50/min); the clock stands
	// still, so exactly 50 pass.
	start := e.Now()
	var placed int
	var refused testenv.Answer
	for placed < 100 {
		r := e.call(t, "POST", "/v1/orders", alice, order)
		if r.Status != http.StatusCreated {
			refused = r
			break
		}
		if got := r.Header.Get("X-RateLimit-Limit"); got != "50" {
			t.Fatalf("order %d: X-RateLimit-Limit %q, want 50", placed+1, got)
		}
		placed++
	}
	refills := int(e.Now().Sub(start) / (1200 * time.Millisecond))
	if placed < 50 || placed > 50+refills {
		t.Errorf("%d orders placed before the limit, want 50 (+%d refilled while they ran)", placed, refills)
	}
	if refused.Status != http.StatusTooManyRequests || refused.ErrorCode() != "rate_limited" {
		t.Fatalf("got %s, want 429 rate_limited", refused)
	}
	retry, err := strconv.Atoi(refused.Header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 60 {
		t.Errorf("Retry-After %q: want whole seconds between 1 and 60", refused.Header.Get("Retry-After"))
	}
	reset, err := strconv.ParseInt(refused.Header.Get("X-RateLimit-Reset"), 10, 64)
	if now := e.Now().Unix(); err != nil || reset < now || reset > now+61 {
		t.Errorf("X-RateLimit-Reset %q: want unix seconds within the next minute", refused.Header.Get("X-RateLimit-Reset"))
	}
	if got := refused.Header.Get("X-RateLimit-Limit"); got != "50" {
		t.Errorf("X-RateLimit-Limit: got %q, want 50", got)
	}
	if got := refused.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("X-RateLimit-Remaining: got %q, want 0", got)
	}
	// Reading the account is another category.
	if r := e.call(t, "GET", "/v1/users/me", alice, nil); r.Status != http.StatusOK {
		t.Errorf("GET /v1/users/me after the trading limit: got %s, want 200", r)
	}
	if r := e.call(t, "POST", "/v1/orders", e.login(t, other, bob, "trade").Token, order); r.Status != http.StatusCreated {
		t.Errorf("another user's order: got %s, want 201", r)
	}
	if r := e.call(t, "POST", "/v1/orders", aliceViaApp, order); r.Status != http.StatusCreated {
		t.Errorf("the same user's order through another client: got %s, want 201", r)
	}
	// One refill interval later, one more order passes.
	e.Clock.Add(1200 * time.Millisecond)
	if r := e.call(t, "POST", "/v1/orders", alice, order); r.Status != http.StatusCreated {
		t.Errorf("an order 1.2s after the limit: got %s, want 201", r)
	}
}

// TestLedgerUnderConcurrentRequests sends 50 orders and withdrawals for one
// account at once and checks the ledger's invariants over HTTP: cash never
// negative, cash + position value conserved by fills, each
// Idempotency-Key executed once.
func TestLedgerUnderConcurrentRequests(t *testing.T) {
	e := newEnv(t, withLimits("trading=1000/1m"))
	tok := e.login(t, e.app, e.User, "read trade withdraw").Token
	account := e.accountID(t, tok)
	const symbol = "NVDA"
	price := sandbox.Price(symbol)
	// Holdings to sell, bought at the same simulated price.
	if r := e.call(t, "POST", "/v1/orders", tok, map[string]any{"symbol": symbol, "side": "buy", "quantity": 100}); r.Status != http.StatusCreated {
		t.Fatalf("initial buy: got %s", r)
	}
	equity := func() (cash, value int64) {
		t.Helper()
		var b struct {
			Cash           protocol.Cents `json:"cash"`
			PositionsValue protocol.Cents `json:"positions_value"`
		}
		e.call(t, "GET", "/v1/accounts/"+account+"/balances", tok, nil).Decode(t, &b)
		return int64(b.Cash), int64(b.PositionsValue)
	}
	cash0, value0 := equity()
	// Enough orders and withdrawals that cash and shares run out.
	big := (cash0/price)/4 + 1

	type request struct {
		method, path, key string
		body              any
	}
	var reqs []request
	for i := range 50 {
		switch i % 5 {
		case 0, 1:
			reqs = append(reqs, request{"POST", "/v1/orders", "", map[string]any{"account_id": account, "symbol": symbol, "side": "buy", "quantity": big}})
		case 2:
			reqs = append(reqs, request{"POST", "/v1/orders", "", map[string]any{"account_id": account, "symbol": symbol, "side": "sell", "quantity": 60}})
		case 3:
			reqs = append(reqs, request{"POST", "/v1/accounts/" + account + "/withdrawals", "", map[string]string{"amount": protocol.Cents(cash0 / 5).String()}})
		case 4:
			if i%10 == 4 {
				reqs = append(reqs, request{"POST", "/v1/orders", "order-key", map[string]any{"account_id": account, "symbol": symbol, "side": "buy", "quantity": 1}})
			} else {
				reqs = append(reqs, request{"POST", "/v1/accounts/" + account + "/withdrawals", "withdrawal-key", map[string]string{"amount": "1.00"}})
			}
		}
	}
	results := make([]testenv.Answer, len(reqs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, rq := range reqs {
		wg.Go(func() {
			<-start
			var extra []string
			if rq.key != "" {
				extra = []string{"Idempotency-Key", rq.key}
			}
			results[i] = e.call(t, rq.method, rq.path, tok, rq.body, extra...)
		})
	}
	close(start)
	wg.Wait()

	var withdrawn int64
	withdrawals := map[string]bool{}
	keyed := map[string]map[string]bool{"order-key": {}, "withdrawal-key": {}}
	refused := 0
	for i, r := range results {
		switch {
		case r.Status == http.StatusCreated:
		case r.Status == http.StatusUnprocessableEntity && (r.ErrorCode() == "insufficient_funds" || r.ErrorCode() == "insufficient_shares"):
			refused++
			continue
		default:
			t.Errorf("request %d (%s %s): got %s, want 201 or 422", i, reqs[i].method, reqs[i].path, r)
			continue
		}
		var out struct {
			ID     string         `json:"id"`
			Amount protocol.Cents `json:"amount"`
		}
		r.Decode(t, &out)
		if reqs[i].key != "" {
			keyed[reqs[i].key][out.ID] = true
		}
		if strings.HasSuffix(reqs[i].path, "/withdrawals") && !withdrawals[out.ID] {
			withdrawals[out.ID] = true
			withdrawn += int64(out.Amount)
		}
	}
	if refused == 0 {
		t.Error("no request was refused: the test did not exhaust the cash or shares")
	}
	// Every 201 for one key names the same order or withdrawal. (All of
	// them may have been refused, if the cash or shares ran out first.)
	for key, ids := range keyed {
		if len(ids) > 1 {
			t.Errorf("Idempotency-Key %q: got %d executions (%v), want at most 1", key, len(ids), ids)
		}
	}
	cash, value := equity()
	if cash < 0 {
		t.Errorf("cash is negative: %d", cash)
	}
	if got, want := cash+value, cash0+value0-withdrawn; got != want {
		t.Errorf("cash + position value: got %d, want %d (before %d, withdrawn %d)", got, want, cash0+value0, withdrawn)
	}
}

// TestUsersSeeOnlyTheirOwnAccounts: another user's account is 404, exactly
// like one that does not exist.
func TestUsersSeeOnlyTheirOwnAccounts(t *testing.T) {
	e := newEnv(t)
	alice := e.login(t, e.app, e.User, "read trade withdraw").Token
	aliceAccount := e.accountID(t, alice)
	bob := e.login(t, e.app, e.NewUser(store.User{Email: "bob@example.com"}, ""), "read trade withdraw").Token
	bobAccount := e.accountID(t, bob)
	if aliceAccount == bobAccount {
		t.Fatal("two users share an account")
	}
	order := e.restingOrder(t, alice)

	tests := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/accounts/" + aliceAccount + "/balances", nil},
		{"GET", "/v1/accounts/" + aliceAccount + "/positions", nil},
		{"GET", "/v2/accounts/" + aliceAccount + "/orders", nil},
		{"POST", "/v1/accounts/" + aliceAccount + "/withdrawals", map[string]string{"amount": "1.00"}},
		{"POST", "/v1/orders", map[string]any{"account_id": aliceAccount, "symbol": "AAPL", "side": "buy", "quantity": 1}},
		{"PUT", "/v1/orders", map[string]any{"order_id": order, "quantity": 5}},
		{"DELETE", "/v1/orders?order_id=" + order, nil},
		{"GET", "/v1/accounts/acc_doesnotexist/balances", nil},
	}
	for _, tt := range tests {
		r := e.call(t, tt.method, tt.path, bob, tt.body)
		if r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" {
			t.Errorf("bob: %s %s: got %s, want 404 not_found", tt.method, tt.path, r)
		}
	}
	// Alice's order and cash are untouched.
	var orders struct {
		Orders []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Quantity int64  `json:"quantity"`
		} `json:"orders"`
	}
	e.call(t, "GET", "/v2/accounts/"+aliceAccount+"/orders", alice, nil).Decode(t, &orders)
	if len(orders.Orders) != 1 || orders.Orders[0].Status != "open" || orders.Orders[0].Quantity != 1 {
		t.Errorf("alice's orders after bob's attempts: got %+v, want her one open order of 1", orders.Orders)
	}

	// A client acting as itself has no user, so no account.
	cc := e.clientToken(t, e.app, "user:information account:information")
	for _, path := range []string{"/v1/users/me", "/v1/users/me/accounts"} {
		if r := e.call(t, "GET", path, cc.Token, nil); r.Status != http.StatusForbidden || r.ErrorCode() != "user_required" {
			t.Errorf("client_credentials token on %s: got %s, want 403 user_required", path, r)
		}
	}
	// Seed 002's get_current_user.
	var me struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	e.call(t, "GET", "/v1/users/me", alice, nil).Decode(t, &me)
	if me.ID != e.User.ID || me.Email != e.User.Email {
		t.Errorf("GET /v1/users/me: got %+v, want %s %s", me, e.User.ID, e.User.Email)
	}
}
