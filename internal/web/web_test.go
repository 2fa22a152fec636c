package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/scope"
)

func TestSecureHeaders(t *testing.T) {
	h := Secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Render(w, http.StatusOK, PageSignIn, SignInPage{ReturnTo: "/"})
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"Content-Type":            "text/html; charset=utf-8",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestSecureRefusesCrossOriginPost(t *testing.T) {
	called := false
	h := Secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"foreign Origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"no browser headers", nil, http.StatusOK},
	}
	for _, tt := range tests {
		called = false
		req := httptest.NewRequest("POST", "http://aries.test/login", strings.NewReader("a=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, rec.Code, tt.want)
		}
		if called != (tt.want == http.StatusOK) {
			t.Errorf("%s: handler called = %v, want %v", tt.name, called, tt.want == http.StatusOK)
		}
		if got := rec.Header().Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options = %q, want DENY", tt.name, got)
		}
	}
}

func TestSecureBoundsBody(t *testing.T) {
	var err error
	h := Secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err = io.ReadAll(r.Body)
	}))
	req := httptest.NewRequest("POST", "/login", strings.NewReader(strings.Repeat("a", MaxFormBytes+1)))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err == nil {
		t.Errorf("reading a body of %d bytes succeeded, want an error", MaxFormBytes+1)
	}
}

func TestFormActionSource(t *testing.T) {
	tests := []struct {
		uri  string
		want string
		ok   bool
	}{
		{"https://app.example.com/callback", "https://app.example.com", true},
		{"https://app.example.com:8443/cb?x=1", "https://app.example.com:8443", true},
		{"http://127.0.0.1:9000/cb", "http://127.0.0.1:9000", true},
		{"http://localhost/cb", "http://localhost", true},
		{"http://[::1]:9000/cb", "http:", true},
		{"com.example.app:/oauth/cb", "com.example.app:", true},
		{"com.example.app:cb", "com.example.app:", true},
		{"HTTPS://App.Example.com/cb", "https://App.Example.com", true},
		{"/relative", "", false},
		{"https:///nohost", "", false},
		{"https://a.example;script-src *", "", false},
		{"https://a b.example/", "", false},
		{"https://user@a.example/", "https://a.example", true},
	}
	for _, tt := range tests {
		got, ok := FormActionSource(tt.uri)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FormActionSource(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAllowFormAction(t *testing.T) {
	h := Secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AllowFormAction(w, "https://app.example.com")
		AllowFormAction(w, "com.example.app:")
		AllowFormAction(w, "'unsafe-inline'; script-src *") // must be ignored
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	want := "form-action 'self' com.example.app: https://app.example.com;"
	if !strings.Contains(csp, want) {
		t.Errorf("CSP = %q, want it to contain %q", csp, want)
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q, an invalid source got in", csp)
	}
}

func TestCSRF(t *testing.T) {
	for _, secure := range []bool{false, true} {
		c := CSRF{Secure: secure}
		rec := httptest.NewRecorder()
		tok := c.Token(rec, httptest.NewRequest("GET", "/login", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("secure=%v: %d cookies set, want 1", secure, len(cookies))
		}
		ck := cookies[0]
		wantName := map[bool]string{false: "aries_csrf", true: "__Host-aries_csrf"}[secure]
		if ck.Name != wantName || ck.Value != tok || !ck.HttpOnly || ck.Secure != secure ||
			ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Errorf("secure=%v: cookie %+v, want %s=token HttpOnly SameSite=Lax Path=/ Secure=%v", secure, ck, wantName, secure)
		}

		// The same browser keeps its token.
		req := httptest.NewRequest("GET", "/login", nil)
		req.AddCookie(ck)
		rec = httptest.NewRecorder()
		if got := c.Token(rec, req); got != tok {
			t.Errorf("secure=%v: second Token = %q, want the cookie's %q", secure, got, tok)
		}
		if n := len(rec.Result().Cookies()); n != 0 {
			t.Errorf("secure=%v: second Token set %d cookies, want 0", secure, n)
		}

		protected := c.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}))
		other := strings.Repeat("A", 43)
		tests := []struct {
			name   string
			cookie string
			field  string
			want   int
		}{
			{"match", tok, tok, http.StatusNoContent},
			{"no field", tok, "", http.StatusForbidden},
			{"no cookie", "", tok, http.StatusForbidden},
			{"mismatch", tok, other, http.StatusForbidden},
			{"both empty", "", "", http.StatusForbidden},
		}
		for _, tt := range tests {
			form := url.Values{}
			if tt.field != "" {
				form.Set(CSRFField, tt.field)
			}
			req := httptest.NewRequest("POST", "/logout", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: c.CookieName(), Value: tt.cookie})
			}
			rec := httptest.NewRecorder()
			protected.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("secure=%v %s: status %d, want %d", secure, tt.name, rec.Code, tt.want)
			}
		}
	}
}

func TestPagesEscapeAndLoadNothingForeign(t *testing.T) {
	evil := `<script>alert(1)</script>"'`
	tests := []struct {
		name string
		data any
	}{
		{PageSignIn, SignInPage{CSRFToken: "tok", ReturnTo: evil, Email: evil, ClientName: evil, Error: evil}},
		{PageConsent, ConsentPage{CSRFToken: "tok", ClientName: evil, UserEmail: evil, RedirectHost: evil,
			SwitchURL: "javascript:alert(1)", Scopes: []scope.Scope{{Name: evil, Description: evil}, {Name: evil, Description: evil, Action: evil}},
			Fields: []Field{{Name: "state", Value: evil}}}},
		{PageError, ErrorPage{Title: evil, Code: evil, Description: evil}},
	}
	foreign := regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`)
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Render(rec, http.StatusOK, tt.name, tt.data)
		body := rec.Body.String()
		if strings.Contains(body, "<script") || strings.Contains(body, "javascript:") {
			t.Errorf("%s: page contains unescaped input:\n%s", tt.name, body)
		}
		if m := foreign.FindString(body); m != "" {
			t.Errorf("%s: page loads a foreign resource: %s", tt.name, m)
		}
		if !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("%s: page has no lang attribute", tt.name)
		}
	}
}

func TestSignInPageFields(t *testing.T) {
	rec := httptest.NewRecorder()
	Render(rec, http.StatusOK, PageSignIn, SignInPage{CSRFToken: "tok123", ReturnTo: "/oauth2/authorize?a=b"})
	body := rec.Body.String()
	for _, want := range []string{
		`action="/login"`,
		`name="email"`, `autocomplete="username"`,
		`name="password"`, `autocomplete="current-password"`,
		`<label for="email">`, `<label for="password">`,
		`name="csrf_token" value="tok123"`,
		`name="return_to" value="/oauth2/authorize?a=b"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
}

func TestAssets(t *testing.T) {
	srv := httptest.NewServer(Assets())
	defer srv.Close()
	tests := []struct {
		path        string
		status      int
		contentType string
	}{
		{AssetURL("style.css"), http.StatusOK, "text/css; charset=utf-8"},
		{AssetURL("icon.svg"), http.StatusOK, "image/svg+xml"},
		{"/assets/", http.StatusNotFound, ""},
		{"/assets/nope.css", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, resp.Header.Get("Content-Type"), tt.contentType)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", tt.path, got)
		}
	}
}
