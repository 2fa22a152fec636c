package api

import (
	"testing"

	"github.com/ariesexchange/aries/internal/scope"
)

// TestScopesThatWriteSaySo ties the consent page's wording to the route
// table: a scope that opens any route other than GET must state its action
// in the scope table, so the consent page sets it apart
// (docs/security.md#the-consent-page-says-what-a-token-can-do), and a
// scope that states one must open such a route.
func TestScopesThatWriteSaySo(t *testing.T) {
	writes := map[string]bool{}
	for _, rt := range Routes {
		if rt.Method != "GET" {
			for _, s := range rt.Scopes {
				writes[s] = true
			}
		}
	}
	for _, s := range scope.All {
		if s.Name == scope.Admin {
			continue // the admin API is not in this table
		}
		if got, want := s.Action != "", writes[s.Name]; got != want {
			t.Errorf("scope %s: states an action %t (%q), opens a route that writes %t", s.Name, got, s.Action, want)
		}
	}
}
