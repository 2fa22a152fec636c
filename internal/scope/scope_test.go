package scope

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseExpandsBundlesInTableOrder(t *testing.T) {
	tests := []struct {
		param string
		want  []string
	}{
		{"read", []string{UserInformation, AccountInformation, OrderInformation, PositionInformation,
			MarketInformation, CalendarInformation, OptionsInformation, AnalyticsInformation, MarketSupplemental}},
		{"trade", []string{OrderExecution}},
		{"withdraw", []string{FundsWithdrawal}},
		{"market:information  account:information order:execution", []string{AccountInformation, OrderExecution, MarketInformation}},
		{"trade order:execution trade", []string{OrderExecution}},
		{"admin", []string{Admin}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := Parse(tt.param)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.param, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.param, diff)
		}
	}
}

func TestParseRefusesUnknownNames(t *testing.T) {
	// Scope names are case-sensitive (docs/scopes.md#the-scope-table).
	for _, param := range []string{"Read", "user:Information", "order:execute", "read,trade", "OpenID", "open id"} {
		if got, err := Parse(param); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", param, got)
		}
	}
}

func TestEveryScopeHasADescription(t *testing.T) {
	for _, s := range All {
		if s.Description == "" || Describe(s.Name) != s.Description {
			t.Errorf("scope %q has no description", s.Name)
		}
	}
	if got := Describe(OrderExecution); got != "Place, modify, and cancel orders" {
		t.Errorf("Describe(order:execution) = %q, want the documented wording", got)
	}
}

func TestSubset(t *testing.T) {
	if !Subset([]string{OrderExecution}, []string{MarketInformation, OrderExecution}) {
		t.Error("a scope that is granted is not a subset")
	}
	if Subset([]string{FundsWithdrawal}, []string{OrderExecution}) {
		t.Error("a scope that is not granted is a subset")
	}
}

func TestWriteScopesStateTheirAction(t *testing.T) {
	// docs/security.md#the-consent-page-says-what-a-token-can-do: the
	// consent page sets these apart with a plain
	// statement of what they do; every other scope is read-only.
	want := map[string]string{
		UserInformation: "can change your profile",
		OrderExecution:  "can place, change and cancel orders",
		FundsWithdrawal: "can move money out of your account",
		Admin:           "can change every app and user on Aries",
	}
	for _, s := range All {
		if got := Lookup(s.Name).Action; got != want[s.Name] {
			t.Errorf("Lookup(%q).Action: got %q, want %q", s.Name, got, want[s.Name])
		}
	}
	if got, want := Lookup(UserInformation).Description, "View user profile and personal details"; got != want {
		t.Errorf("Lookup(user:information).Description: got %q, want the documented %q", got, want)
	}
	if got := Lookup("nope"); got != (Scope{Name: "nope", Description: "nope"}) {
		t.Errorf("Lookup of an unknown name: got %+v", got)
	}
}

// The OpenID Connect scopes are in the table, so a client enables them
// like any other, but in no bundle: "read" must not turn an OAuth client
// into one that receives ID tokens and the user's email.
func TestOpenIDConnectScopes(t *testing.T) {
	for _, name := range []string{OpenID, Profile, Email} {
		if !Known(name) || Lookup(name).Action != "" {
			t.Errorf("%s: known %t, action %q; want a known read-only scope", name, Known(name), Lookup(name).Action)
		}
		for b, members := range Bundles {
			for _, m := range members {
				if m == name {
					t.Errorf("bundle %s holds %s", b, name)
				}
			}
		}
	}
	got, err := Parse("email read openid")
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != OpenID || got[1] != Email {
		t.Errorf("Parse: got %v, want openid and email first, in table order", got)
	}
}
