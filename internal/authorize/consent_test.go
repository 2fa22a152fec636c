package authorize

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/scope"
)

// TestConsentListsWriteActionsSeparately asks for "read trade" through the
// authorization endpoint: the consent page names each scope that can change
// something (the profile, orders) as its own plainly worded action, and folds
// the read-only scopes into one line
// (docs/security.md#the-consent-page-says-what-a-token-can-do).
func TestConsentListsWriteActionsSeparately(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	p := e.authorize(with(confParams(), "scope", "read trade"))
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="approve"`) {
		t.Fatalf("status %d, want the consent page:\n%s", p.StatusCode, p.body)
	}

	writeItem := regexp.MustCompile(`(?s)<li class="scope-write">(.*?)</li>`)
	var actions []string
	for _, m := range writeItem.FindAllStringSubmatch(p.body, -1) {
		actions = append(actions, m[1])
	}
	wantActions := []struct{ name, action string }{
		{scope.UserInformation, "can change your profile"},
		{scope.OrderExecution, "can place, change and cancel orders"},
	}
	if len(actions) != len(wantActions) {
		t.Fatalf("got %d write actions %q, want %d", len(actions), actions, len(wantActions))
	}
	for i, want := range wantActions {
		if !strings.Contains(actions[i], ">"+want.action+"<") || !strings.Contains(actions[i], ">"+want.name+"<") {
			t.Errorf("write action %d: got %q, want %s stated as %q", i, actions[i], want.name, want.action)
		}
	}

	folded := regexp.MustCompile(`(?s)<details>.*?</details>`).FindAllString(p.body, -1)
	if len(folded) != 1 {
		t.Fatalf("got %d <details> lines, want one for the read-only scopes", len(folded))
	}
	for _, s := range scope.Bundles["read"] {
		row := scope.Lookup(s)
		if got, want := strings.Contains(folded[0], ">"+s+"<"), row.Action == ""; got != want {
			t.Errorf("%s in the read-only line: got %t, want %t", s, got, want)
		}
		if !strings.Contains(p.body, row.Description) {
			t.Errorf("consent page lacks the scope table's description of %s, %q", s, row.Description)
		}
	}
	if !strings.Contains(folded[0], "8 read-only permissions") {
		t.Errorf("read-only line %q does not count its 8 scopes", folded[0])
	}
}
