package api

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
)

func TestRouteTable(t *testing.T) {
	// Every example endpoint of the API documentation's scope table, the
	// SDK documentation's get_current_user, and withdrawals
	// (docs/scopes.md#routes-by-scope).
	want := map[string][]string{
		"PATCH /v1/users/me":                 {scope.UserInformation},
		"GET /v1/users/me/profile":           {scope.UserInformation},
		"GET /v1/users/me":                   {scope.UserInformation},
		"GET /v1/users/me/accounts":          {scope.AccountInformation},
		"GET /v1/accounts/{id}/balances":     {scope.AccountInformation},
		"GET /v1/accounts/{id}/positions":    {scope.AccountInformation, scope.PositionInformation},
		"POST /v1/orders":                    {scope.OrderExecution},
		"PUT /v1/orders":                     {scope.OrderExecution},
		"DELETE /v1/orders":                  {scope.OrderExecution},
		"GET /v2/accounts/{id}/orders":       {scope.OrderInformation},
		"GET /v1/marketdata/search":          {scope.MarketInformation},
		"GET /v1/market/ws":                  {scope.MarketInformation},
		"GET /v1/calendars/economics":        {scope.CalendarInformation},
		"GET /v1/calendars/earnings":         {scope.CalendarInformation},
		"GET /v1/options/stocks/top-volume":  {scope.OptionsInformation},
		"GET /v1/options/etfs/top-volume":    {scope.OptionsInformation},
		"GET /v1/analytics/ratings":          {scope.AnalyticsInformation},
		"GET /v1/analytics/market-breadth":   {scope.AnalyticsInformation},
		"GET /v1/news":                       {scope.MarketSupplemental},
		"GET /v1/company/profile":            {scope.MarketSupplemental},
		"GET /v1/financials/statements":      {scope.MarketSupplemental},
		"POST /v1/accounts/{id}/withdrawals": {scope.FundsWithdrawal},
	}
	seen := map[string]bool{}
	for _, rt := range Routes {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			t.Errorf("%s is listed twice", key)
		}
		seen[key] = true
		if !slices.Equal(rt.Scopes, want[key]) {
			t.Errorf("%s: got scopes %v, want %v", key, rt.Scopes, want[key])
		}
		if (rt.Sandbox == nil) == (rt.Upstream == "") {
			t.Errorf("%s: want exactly one of Sandbox and Upstream", key)
		}
		if rt.Upstream != "" && !underPrefix(rt.Path, rt.Upstream) {
			t.Errorf("%s: upstream prefix %s does not cover the path", key, rt.Upstream)
		}
		wantCategory := ratelimit.Market
		switch {
		case rt.Sandbox == nil:
		case rt.Path == "/v1/orders" || rt.Path == "/v2/accounts/{id}/orders" || rt.Path == "/v1/accounts/{id}/withdrawals":
			wantCategory = ratelimit.Trading
		default:
			wantCategory = ratelimit.User
		}
		if rt.Category != wantCategory {
			t.Errorf("%s: got category %s, want %s", key, rt.Category, wantCategory)
		}
		if rt.WebSocket != (key == "GET /v1/market/ws") {
			t.Errorf("%s: WebSocket = %t", key, rt.WebSocket)
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s is missing from the route table", key)
		}
	}
}

func TestCheckUpstreams(t *testing.T) {
	tests := []struct {
		upstreams map[string]string
		wantErr   bool
	}{
		{map[string]string{"/v1": "http://127.0.0.1:9000"}, false},
		{map[string]string{"/v1/marketdata": "https://md.internal/base", "/v1/news/": "http://news:80"}, false},
		{map[string]string{"v1/marketdata": "http://x"}, true},              // not a path
		{map[string]string{"/v2/orders": "http://x"}, true},                 // no upstream route there
		{map[string]string{"/v1/marketdat": "http://x"}, true},              // prefixes match whole segments
		{map[string]string{"/v1/marketdata": ""}, true},                     // no URL
		{map[string]string{"/v1/marketdata": "ftp://x"}, true},              // not http
		{map[string]string{"/v1/marketdata": "http://u:p@x"}, true},         // credentials
		{map[string]string{"/v1/marketdata": "http://x/?key=secret"}, true}, // query
		{map[string]string{"/v1/marketdata": "/relative"}, true},
	}
	for _, tt := range tests {
		err := CheckUpstreams(tt.upstreams)
		if (err != nil) != tt.wantErr {
			t.Errorf("CheckUpstreams(%q): got error %v, want error %t", tt.upstreams, err, tt.wantErr)
		}
	}
}

func TestUpstreamForTakesTheLongestPrefix(t *testing.T) {
	targets, err := upstreamTargets(map[string]string{
		"/v1":            "http://everything",
		"/v1/marketdata": "http://marketdata",
	})
	if err != nil {
		t.Fatal(err)
	}
	// /v1/marketdata does not cover /v1/market: prefixes are whole segments.
	for prefix, wantHost := range map[string]string{"/v1/marketdata": "marketdata", "/v1/market": "everything", "/v1/news": "everything"} {
		if got := upstreamFor(targets, prefix); got == nil || got.Host != wantHost {
			t.Errorf("upstreamFor(%s): got %v, want host %s", prefix, got, wantHost)
		}
	}
	if got := upstreamFor(map[string]*url.URL{}, "/v1/news"); got != nil {
		t.Errorf("upstreamFor with nothing configured: got %v, want nil", got)
	}
}

// revocationStore answers RevocationsSince from a list and records the
// times it was asked about.
type revocationStore struct {
	store.Store
	all    store.Revocations
	asked  []time.Time
	failed bool
}

func (s *revocationStore) RevocationsSince(_ context.Context, since time.Time) (store.Revocations, error) {
	s.asked = append(s.asked, since)
	if s.failed {
		return store.Revocations{}, errors.New("database is down")
	}
	var out store.Revocations
	for _, a := range s.all.AccessTokens {
		if !a.RevokedAt.Before(since) {
			out.AccessTokens = append(out.AccessTokens, a)
		}
	}
	for _, g := range s.all.Grants {
		if !g.RevokedAt.Before(since) {
			out.Grants = append(out.Grants, g)
		}
	}
	for _, c := range s.all.Clients {
		if !c.RevokedAt.Before(since) {
			out.Clients = append(out.Clients, c)
		}
	}
	return out, nil
}

func TestRevocations(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	clock := t0
	st := &revocationStore{}
	r := &Revocations{Store: st, Interval: 5 * time.Second, TokenLifetime: 15*time.Minute + 30*time.Second, Now: func() time.Time { return clock }}
	ctx := context.Background()
	token := func(jti, grant, client string, issued time.Time) *bearer.Claims {
		return &bearer.Claims{JTI: jti, GrantID: grant, ClientID: client, Subject: "usr_1", IssuedAt: issued}
	}
	if _, err := r.Revoked(ctx, token("a", "", "c", t0)); err == nil {
		t.Fatal("Revoked before the first poll: got no error, want it to fail closed")
	}
	if err := r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := st.asked[0], t0.Add(-16*time.Minute); !got.Equal(want) {
		t.Errorf("first poll asked since %v, want %v (token lifetime and overlap back)", got, want)
	}

	clock = t0.Add(5 * time.Second)
	st.all = store.Revocations{
		AccessTokens: []store.RevokedAccessToken{{JTI: "jti-revoked", ExpiresAt: t0.Add(15 * time.Minute), RevokedAt: t0.Add(time.Second)}},
		Grants:       []store.RevokedGrant{{ID: "grant-revoked", RevokedAt: t0.Add(2 * time.Second)}},
		Clients:      []store.RevokedClient{{ID: "client-disabled", RevokedAt: t0.Add(3*time.Second + 500*time.Millisecond)}},
	}
	if err := r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := st.asked[1], t0.Add(-overlap); !got.Equal(want) {
		t.Errorf("second poll asked since %v, want %v (the previous poll minus the overlap)", got, want)
	}
	tests := []struct {
		name  string
		token *bearer.Claims
		want  bool
	}{
		{"live", token("jti-live", "grant-live", "client-live", t0), false},
		{"revoked jti", token("jti-revoked", "grant-live", "client-live", t0), true},
		{"revoked grant", token("jti-live", "grant-revoked", "client-live", t0), true},
		{"client disabled after issue", token("jti-live", "", "client-disabled", t0), true},
		{"issued in the second of the disabling", token("jti-live", "", "client-disabled", t0.Add(3*time.Second)), true},
		{"issued after the client was enabled again", token("jti-live", "", "client-disabled", t0.Add(4*time.Second)), false},
	}
	for _, tt := range tests {
		got, err := r.Revoked(ctx, tt.token)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %t, %v; want %t", tt.name, got, err, tt.want)
		}
	}

	// Old revocations are forgotten once no live token can carry them.
	clock = t0.Add(17 * time.Minute)
	if err := r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if s := r.snap.Load(); len(s.jtis)+len(s.grants)+len(s.clients) != 0 {
		t.Errorf("after the token lifetime: still holding %d jtis, %d grants, %d clients", len(s.jtis), len(s.grants), len(s.clients))
	}

	// A store that cannot be polled makes the list stale: refuse to judge.
	st.failed = true
	clock = clock.Add(r.StaleAfter() - time.Second)
	if err := r.Poll(ctx); err == nil {
		t.Error("Poll with the store down: got no error")
	}
	if _, err := r.Revoked(ctx, token("x", "", "c", clock)); err != nil {
		t.Errorf("Revoked within StaleAfter of the last poll: got %v, want an answer", err)
	}
	clock = clock.Add(2 * time.Second)
	if _, err := r.Revoked(ctx, token("x", "", "c", clock)); err == nil {
		t.Error("Revoked after StaleAfter without a poll: got no error, want it to fail closed")
	}
}
