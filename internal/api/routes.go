package api

import (
	"net/http"

	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/sandbox"
	"github.com/ariesexchange/aries/internal/scope"
)

// Route is one protected route of the Aries API: everything its protection
// needs, as data.
type Route struct {
	Method string // the HTTP method; GET for the WebSocket upgrade
	Path   string // a net/http pattern path: /v1/accounts/{id}/balances
	// Scopes opens the route: the token needs one of them
	// (docs/scopes.md#routes-by-scope).
	Scopes   []string
	Category ratelimit.Category // docs/rate-limits.md#categories-and-limits
	// What serves it: a sandbox handler, or the upstream service mounted
	// under this path prefix (configured with --upstream PREFIX=URL).
	// Exactly one is set.
	Sandbox  func(*sandbox.API, http.ResponseWriter, *http.Request)
	Upstream string
	// WebSocket marks a route whose GET upgrades (the table's WSS rows).
	WebSocket bool
}

// Routes is the route table of the Aries API: every example endpoint of
// the scope table in the public Aries API documentation, the endpoints the
// SDK examples call (users.get_current_user is GET /v1/users/me), and
// withdrawals (funds:withdrawal); docs/scopes.md#routes-by-scope lists them.
//
// GET /v1/accounts/{id}/positions is listed under both account:information
// and position:information in that documentation; either scope opens it.
//
// Categories: users and accounts are "user", orders and withdrawals
// "trading", everything served by upstream market-data services "market".
// The limits of each category are in package ratelimit (DefaultLimits) and
// the --rate-limit flag.
var Routes = []Route{
	// user:information
	{Method: "GET", Path: "/v1/users/me", Scopes: []string{scope.UserInformation}, Category: ratelimit.User, Sandbox: (*sandbox.API).Me},
	{Method: "GET", Path: "/v1/users/me/profile", Scopes: []string{scope.UserInformation}, Category: ratelimit.User, Sandbox: (*sandbox.API).Profile},
	{Method: "PATCH", Path: "/v1/users/me", Scopes: []string{scope.UserInformation}, Category: ratelimit.User, Sandbox: (*sandbox.API).UpdateMe},

	// account:information, position:information
	{Method: "GET", Path: "/v1/users/me/accounts", Scopes: []string{scope.AccountInformation}, Category: ratelimit.User, Sandbox: (*sandbox.API).Accounts},
	{Method: "GET", Path: "/v1/accounts/{id}/balances", Scopes: []string{scope.AccountInformation}, Category: ratelimit.User, Sandbox: (*sandbox.API).Balances},
	{Method: "GET", Path: "/v1/accounts/{id}/positions", Scopes: []string{scope.AccountInformation, scope.PositionInformation}, Category: ratelimit.User, Sandbox: (*sandbox.API).Positions},

	// order:execution, order:information
	{Method: "POST", Path: "/v1/orders", Scopes: []string{scope.OrderExecution}, Category: ratelimit.Trading, Sandbox: (*sandbox.API).PlaceOrder},
	{Method: "PUT", Path: "/v1/orders", Scopes: []string{scope.OrderExecution}, Category: ratelimit.Trading, Sandbox: (*sandbox.API).ReplaceOrder},
	{Method: "DELETE", Path: "/v1/orders", Scopes: []string{scope.OrderExecution}, Category: ratelimit.Trading, Sandbox: (*sandbox.API).CancelOrder},
	{Method: "GET", Path: "/v2/accounts/{id}/orders", Scopes: []string{scope.OrderInformation}, Category: ratelimit.Trading, Sandbox: (*sandbox.API).Orders},

	// funds:withdrawal
	{Method: "POST", Path: "/v1/accounts/{id}/withdrawals", Scopes: []string{scope.FundsWithdrawal}, Category: ratelimit.Trading, Sandbox: (*sandbox.API).Withdraw},

	// market:information
	{Method: "GET", Path: "/v1/marketdata/search", Scopes: []string{scope.MarketInformation}, Category: ratelimit.Market, Upstream: "/v1/marketdata"},
	{Method: "GET", Path: "/v1/market/ws", Scopes: []string{scope.MarketInformation}, Category: ratelimit.Market, Upstream: "/v1/market", WebSocket: true},

	// calendar:information
	{Method: "GET", Path: "/v1/calendars/economics", Scopes: []string{scope.CalendarInformation}, Category: ratelimit.Market, Upstream: "/v1/calendars"},
	{Method: "GET", Path: "/v1/calendars/earnings", Scopes: []string{scope.CalendarInformation}, Category: ratelimit.Market, Upstream: "/v1/calendars"},

	// options:information
	{Method: "GET", Path: "/v1/options/stocks/top-volume", Scopes: []string{scope.OptionsInformation}, Category: ratelimit.Market, Upstream: "/v1/options"},
	{Method: "GET", Path: "/v1/options/etfs/top-volume", Scopes: []string{scope.OptionsInformation}, Category: ratelimit.Market, Upstream: "/v1/options"},

	// analytics:information
	{Method: "GET", Path: "/v1/analytics/ratings", Scopes: []string{scope.AnalyticsInformation}, Category: ratelimit.Market, Upstream: "/v1/analytics"},
	{Method: "GET", Path: "/v1/analytics/market-breadth", Scopes: []string{scope.AnalyticsInformation}, Category: ratelimit.Market, Upstream: "/v1/analytics"},

	// market:supplemental
	{Method: "GET", Path: "/v1/news", Scopes: []string{scope.MarketSupplemental}, Category: ratelimit.Market, Upstream: "/v1/news"},
	{Method: "GET", Path: "/v1/company/profile", Scopes: []string{scope.MarketSupplemental}, Category: ratelimit.Market, Upstream: "/v1/company"},
	{Method: "GET", Path: "/v1/financials/statements", Scopes: []string{scope.MarketSupplemental}, Category: ratelimit.Market, Upstream: "/v1/financials"},
}
