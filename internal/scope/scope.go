// Package scope is the scope table of Aries: every scope a token can carry,
// its plain-English description (the wording of the public Aries API
// documentation), and the coarse bundles of the SDK documentation (read,
// trade, withdraw) that expand into it. docs/scopes.md is the contract.
package scope

import (
	"fmt"
	"slices"
	"strings"
)

// Scope names. They are case-sensitive.
const (
	UserInformation      = "user:information"
	AccountInformation   = "account:information"
	OrderExecution       = "order:execution"
	OrderInformation     = "order:information"
	PositionInformation  = "position:information"
	MarketInformation    = "market:information"
	CalendarInformation  = "calendar:information"
	OptionsInformation   = "options:information"
	AnalyticsInformation = "analytics:information"
	MarketSupplemental   = "market:supplemental"
	FundsWithdrawal      = "funds:withdrawal"
	Admin                = "admin"

	// OpenID Connect Core 1.0 sections 3.1.2.1 and 5.4: openid makes a
	// request an OpenID Connect one (an ID token is issued); profile and
	// email ask for the user's name and email address.
	OpenID  = "openid"
	Profile = "profile"
	Email   = "email"
)

// Scope is one row of the table.
type Scope struct {
	Name        string
	Description string // the API documentation's wording, kept as written
	// Action states plainly what a token with this scope can change, for
	// the consent page to set it apart
	// (docs/security.md#the-consent-page-says-what-a-token-can-do); "" for
	// a read-only scope. A description alone can mislead: the documentation
	// words user:information "View ..." although its table opens
	// PATCH /v1/users/me with it.
	Action string
}

// All lists every scope in the order pages and token responses show them.
var All = []Scope{
	{OpenID, "Know who you are: your Aries user ID", ""},
	{Profile, "View your name", ""},
	{Email, "View your email address", ""},
	{UserInformation, "View user profile and personal details", "can change your profile"},
	{AccountInformation, "View account balances, positions, and transaction history", ""},
	{OrderExecution, "Place, modify, and cancel orders", "can place, change and cancel orders"},
	{OrderInformation, "View order history, status, and execution reports", ""},
	{PositionInformation, "View current positions and holdings", ""},
	{MarketInformation, "Access live and historical market data", ""},
	{CalendarInformation, "Access earnings, economic, and market schedule data", ""},
	{OptionsInformation, "Access options chains, Greeks, and expiration data", ""},
	{AnalyticsInformation, "View analytics, ratings, and market insights", ""},
	{MarketSupplemental, "Comprehensive market data: news, company profiles, financials, filings, ETF data, technical analysis", ""},
	{FundsWithdrawal, "Withdraw funds from your accounts", "can move money out of your account"},
	{Admin, "Administer Aries: every client and user", "can change every app and user on Aries"},
}

// Bundles are the coarse scopes of the SDK page, accepted in requests and
// expanded before anything is granted.
var Bundles = map[string][]string{
	"read": {UserInformation, AccountInformation, OrderInformation, PositionInformation,
		MarketInformation, CalendarInformation, OptionsInformation, AnalyticsInformation, MarketSupplemental},
	"trade":    {OrderExecution},
	"withdraw": {FundsWithdrawal},
}

var order = func() map[string]int {
	m := make(map[string]int, len(All))
	for i, s := range All {
		m[s.Name] = i
	}
	return m
}()

// Known reports whether name is a scope of the table (not a bundle).
func Known(name string) bool {
	_, ok := order[name]
	return ok
}

// Describe returns the plain-English description of a scope.
func Describe(name string) string {
	if i, ok := order[name]; ok {
		return All[i].Description
	}
	return name
}

// Lookup returns the table's row for name; an unknown name gets a row with
// the name as its description and no action.
func Lookup(name string) Scope {
	if i, ok := order[name]; ok {
		return All[i]
	}
	return Scope{Name: name, Description: name}
}

// Parse splits a space-separated scope parameter (RFC 6749 section 3.3),
// expands bundles and returns the scopes in table order without duplicates.
// An unknown name is an error that names it.
func Parse(param string) ([]string, error) {
	return Expand(strings.Fields(param))
}

// Expand is Parse for names already split.
func Expand(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if b, ok := Bundles[n]; ok {
			out = append(out, b...)
			continue
		}
		if !Known(n) {
			return nil, fmt.Errorf("unknown scope %q", n)
		}
		out = append(out, n)
	}
	return Normalize(out), nil
}

// Normalize sorts known scopes into table order and drops duplicates.
func Normalize(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int { return order[a] - order[b] })
	return slices.Compact(out)
}

// Subset reports whether every scope of want is in have.
func Subset(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// Join renders scopes as the space-separated form of the protocol.
func Join(names []string) string { return strings.Join(names, " ") }
