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
	// Scope names are case-sensitive (DESIGN.md section 5).
	for _, param := range []string{"Read", "user:Information", "order:execute", "read,trade", "openid"} {
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
		t.Errorf("Describe(order:execution) = %q, want the guide's wording", got)
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
	// DESIGN.md section 8: the consent page sets these apart with a plain
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
		t.Errorf("Lookup(user:information).Description: got %q, want the guide's %q", got, want)
	}
	if got := Lookup("nope"); got != (Scope{Name: "nope", Description: "nope"}) {
		t.Errorf("Lookup of an unknown name: got %+v", got)
	}
}
