package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAllowScripts(t *testing.T) {
	h := Secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AllowScripts(w)
		AllowScripts(w) // twice changes nothing more
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/clients", nil))
	want := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if got := rec.Header().Get("Content-Security-Policy"); got != want {
		t.Errorf("CSP = %q, want %q", got, want)
	}

	rec = httptest.NewRecorder()
	AllowScripts(rec) // no policy to widen: nothing is set
	if got := rec.Header().Get("Content-Security-Policy"); got != "" {
		t.Errorf("AllowScripts without Secure set CSP %q", got)
	}
}

func TestCenterPagesParse(t *testing.T) {
	for _, name := range []string{PageClients, PageClientNew, PageClient, PageClientSecret, PageClientDelete, PageAccountApps} {
		if pages[name] == nil {
			t.Errorf("page %q is not registered", name)
		}
	}
	// The shared pages keep an empty navigation.
	rec := httptest.NewRecorder()
	Render(rec, http.StatusOK, PageSignIn, SignInPage{ReturnTo: "/"})
	if strings.Contains(rec.Body.String(), "<nav") {
		t.Errorf("the sign-in page shows the Client Center navigation")
	}
}

func TestCopyScriptServed(t *testing.T) {
	srv := httptest.NewServer(Assets())
	defer srv.Close()
	resp, err := http.Get(srv.URL + AssetURL("copy.js"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("GET copy.js: %d %q, want 200 JavaScript", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
