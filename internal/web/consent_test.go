package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/scope"
)

var (
	writeItemRE = regexp.MustCompile(`(?s)<li class="scope-write"><strong class="scope-action">([^<]*)</strong>.*?<code class="scope-name">([^<]*)</code></li>`)
	detailsRE   = regexp.MustCompile(`(?s)<details>.*?</details>`)
)

// TestConsentPageSetsWriteActionsApart renders the consent page for a
// client asking for "read trade": the scopes that change something are
// listed one by one with their plain action, outside the folded line of
// read-only scopes, and every scope keeps its description from the scope
// table (docs/security.md#the-consent-page-says-what-a-token-can-do).
func TestConsentPageSetsWriteActionsApart(t *testing.T) {
	tests := []struct {
		param       string
		wantActions map[string]string // scope name -> the action shown for it
		wantFolded  int               // read-only scopes in the <details> line
	}{
		{"read trade", map[string]string{
			scope.UserInformation: "can change your profile",
			scope.OrderExecution:  "can place, change and cancel orders",
		}, 8},
		{"withdraw account:information", map[string]string{
			scope.FundsWithdrawal: "can move money out of your account",
		}, 1},
		{"market:information", map[string]string{}, 1},
		{"trade", map[string]string{scope.OrderExecution: "can place, change and cancel orders"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			names, err := scope.Parse(tt.param)
			if err != nil {
				t.Fatal(err)
			}
			var rows []scope.Scope
			for _, n := range names {
				rows = append(rows, scope.Lookup(n))
			}
			rec := httptest.NewRecorder()
			Render(rec, http.StatusOK, PageConsent, ConsentPage{CSRFToken: "tok", ClientName: "Acme", UserEmail: "a@example.com", Scopes: rows})
			body := rec.Body.String()

			got := map[string]string{}
			for _, m := range writeItemRE.FindAllStringSubmatch(body, -1) {
				got[m[2]] = m[1]
			}
			if len(got) != len(tt.wantActions) {
				t.Errorf("write actions: got %v, want %v", got, tt.wantActions)
			}
			for name, want := range tt.wantActions {
				if got[name] != want {
					t.Errorf("action of %s: got %q, want %q", name, got[name], want)
				}
			}

			folded := detailsRE.FindAllString(body, -1)
			switch {
			case tt.wantFolded == 0 && len(folded) != 0:
				t.Errorf("got a read-only line %q, want none", folded)
			case tt.wantFolded > 0 && len(folded) != 1:
				t.Fatalf("got %d <details> lines, want one holding the read-only scopes:\n%s", len(folded), body)
			}
			inDetails := strings.Join(folded, "")
			if n := strings.Count(inDetails, `<code class="scope-name">`); n != tt.wantFolded {
				t.Errorf("read-only scopes in the folded line: got %d, want %d", n, tt.wantFolded)
			}
			for _, s := range rows {
				if !strings.Contains(body, s.Description) {
					t.Errorf("the page lacks the scope table's description of %s, %q", s.Name, s.Description)
				}
				if folded := strings.Contains(inDetails, `<code class="scope-name">`+s.Name+`</code>`); folded != (s.Action == "") {
					t.Errorf("%s inside the read-only line: got %t, want %t", s.Name, folded, s.Action == "")
				}
			}
			if strings.Contains(body, "<script") {
				t.Errorf("the consent page carries a script; folding needs none")
			}
		})
	}
}
