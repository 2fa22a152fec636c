package authorize

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/par"
	"github.com/ariesexchange/aries/internal/store"
)

// push validates params as the PAR endpoint does for client id and stores
// them for par.TTL, returning the request_uri.
func (e *env) push(id string, params url.Values) string {
	e.t.Helper()
	c, err := e.store.Client(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	stored, err := e.h.ValidatePushed(c, params)
	if err != nil {
		e.t.Fatalf("ValidatePushed: %v", err)
	}
	uri, err := e.h.push(context.Background(), id, stored, par.TTL)
	if err != nil {
		e.t.Fatal(err)
	}
	return uri
}

// newClient registers c now.
func (e *env) newClient(c store.Client) {
	e.t.Helper()
	c.CreatedAt, c.UpdatedAt = e.clock.Now(), e.clock.Now()
	if err := e.store.CreateClient(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

func byRequestURI(clientID, uri string) url.Values {
	return url.Values{"client_id": {clientID}, "request_uri": {uri}}
}

// wantPage checks that p is the 400 error page naming code, not a redirect.
func wantPage(t *testing.T, what string, p page, code string) {
	t.Helper()
	if p.StatusCode != http.StatusBadRequest || p.Header.Get("Location") != "" {
		t.Fatalf("%s: status %d, Location %q; want a 400 page", what, p.StatusCode, p.Header.Get("Location"))
	}
	if !strings.Contains(p.body, "<code>"+code+"</code>") {
		t.Errorf("%s: page does not name %s:\n%s", what, code, p.body)
	}
}

// TestPushedRequestThroughSignIn: a pushed request survives sign-in and
// consent, ends in a code with the pushed state and iss, and its
// request_uri then fails; no page carries the pushed parameters.
func TestPushedRequestThroughSignIn(t *testing.T) {
	e := newEnv(t)
	params := with(confParams(), "state", "pushed-state-42", "nonce", "n-0S6")
	uri := e.push(confID, params)

	signInPage := e.authorize(byRequestURI(confID, uri))
	if signInPage.StatusCode != http.StatusOK || !strings.Contains(signInPage.body, `name="password"`) {
		t.Fatalf("first use: status %d, want the sign-in page:\n%s", signInPage.StatusCode, signInPage.body)
	}
	if strings.Contains(signInPage.body, "pushed-state-42") || strings.Contains(signInPage.body, "n-0S6") {
		t.Error("the sign-in page repeats the pushed parameters; want them carried by request_uri only")
	}
	if !strings.Contains(signInPage.body, confName) {
		t.Errorf("the sign-in page does not name the client %q", confName)
	}
	returnTo := hiddenFields(signInPage.body).Get("return_to")

	// The original request_uri is spent: the client has two redirect
	// URIs, so the error is a page.
	wantPage(t, "second use", e.authorize(byRequestURI(confID, uri)), oauth.InvalidRequestURI)

	consent := e.follow(e.submitSignIn(signInPage, userEmail, userPassword))
	if !strings.Contains(consent.body, `name="decision"`) {
		t.Fatalf("after sign-in: status %d, want the consent page:\n%s", consent.StatusCode, consent.body)
	}
	fields := hiddenFields(consent.body)
	if fields.Get("request_uri") == "" || fields.Get("state") != "" || fields.Get("scope") != "" {
		t.Errorf("consent form fields %v: want client_id and request_uri only", fields)
	}
	// The sign-in's return path was used once.
	wantPage(t, "return path again", e.get(returnTo), oauth.InvalidRequestURI)

	loc := e.decide(consent, "approve").location()
	if loc == nil {
		t.Fatal("approve: no redirect")
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != confRedirect {
		t.Errorf("redirected to %s, want %s", got, confRedirect)
	}
	if q.Get("code") == "" || q.Get("state") != "pushed-state-42" || q.Get("iss") != e.h.Issuer {
		t.Errorf("redirect query %v: want code, state=pushed-state-42, iss=%s", q, e.h.Issuer)
	}
	ac, err := e.store.AuthCode(context.Background(), e.h.Hasher.Hash(q.Get("code")), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ac.Nonce != "n-0S6" {
		t.Errorf("code nonce %q, want the pushed n-0S6", ac.Nonce)
	}
	// The consent form's request_uri worked once too.
	wantPage(t, "consent form again", e.post("/oauth2/authorize", with(fields, "decision", "approve")), oauth.InvalidRequestURI)
}

// TestPushedRequestIgnoresQuery: beside client_id and request_uri, the
// authorization request's parameters are ignored (RFC 9126 section 4).
func TestPushedRequestIgnoresQuery(t *testing.T) {
	e := newEnv(t)
	e.signIn(userEmail, userPassword)
	uri := e.push(confID, with(confParams(), "scope", "account:information", "prompt", "none"))
	q := with(byRequestURI(confID, uri), "redirect_uri", queryRedirect, "state", "evil", "scope", "admin", "prompt", "")
	p := e.authorize(q)
	loc := p.location()
	// prompt=none from the pushed request: no consent yet, so an error to
	// the pushed redirect URI with the pushed state.
	if loc == nil || loc.Query().Get("error") != oauth.ConsentRequired || loc.Query().Get("state") != "st-123" ||
		loc.Scheme+"://"+loc.Host+loc.Path != confRedirect || loc.RawQuery == "" || strings.Contains(loc.RawQuery, "tenant") {
		t.Fatalf("status %d, Location %q; want consent_required to %s with state st-123", p.StatusCode, p.Header.Get("Location"), confRedirect)
	}
}

// TestRequestURIErrors: request_uris that name no usable request.
func TestRequestURIErrors(t *testing.T) {
	e := newEnv(t)
	single := store.Client{ID: "aries_ci_single", Name: "Single", Type: store.Confidential, SecretHash: "h1$x",
		RedirectURIs: []string{confRedirect}, Scopes: []string{"account:information"}}
	e.newClient(single)
	singleParams := with(confParams(), "client_id", single.ID, "scope", "account:information")

	t.Run("another client's", func(t *testing.T) {
		uri := e.push(confID, confParams())
		wantPage(t, "used by "+pubID, e.authorize(byRequestURI(pubID, uri)), oauth.InvalidRequestURI)
		// The owner can still use it: the other client's attempt did not spend it.
		if p := e.authorize(byRequestURI(confID, uri)); p.StatusCode != http.StatusOK {
			t.Errorf("owner after another client's attempt: status %d, want the sign-in page", p.StatusCode)
		}
	})
	t.Run("expired", func(t *testing.T) {
		uri := e.push(confID, confParams())
		e.clock.Add(par.TTL)
		wantPage(t, "after 60 s", e.authorize(byRequestURI(confID, uri)), oauth.InvalidRequestURI)
	})
	t.Run("unknown, one redirect URI", func(t *testing.T) {
		// The client has one redirect URI, so the error goes back to it.
		p := e.authorize(byRequestURI(single.ID, "urn:ietf:params:oauth:request_uri:aries_ru_nope"))
		loc := p.location()
		if loc == nil || loc.Query().Get("error") != oauth.InvalidRequestURI || loc.Query().Get("iss") != e.h.Issuer {
			t.Fatalf("status %d, Location %q; want invalid_request_uri and iss to %s", p.StatusCode, p.Header.Get("Location"), confRedirect)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, uri := range []string{"", "https://evil.example/req", "urn:ietf:params:oauth:request_uri:x", strings.Repeat("a", 300)} {
			wantPage(t, "request_uri "+uri, e.authorize(byRequestURI(confID, uri)), oauth.InvalidRequestURI)
		}
	})
	t.Run("used, one redirect URI", func(t *testing.T) {
		e.signIn(userEmail, userPassword)
		uri := e.push(single.ID, singleParams)
		if p := e.authorize(byRequestURI(single.ID, uri)); p.StatusCode != http.StatusOK {
			t.Fatalf("first use: status %d, want the consent page", p.StatusCode)
		}
		loc := e.authorize(byRequestURI(single.ID, uri)).location()
		if loc == nil || loc.Query().Get("error") != oauth.InvalidRequestURI || loc.Query().Get("code") != "" {
			t.Fatalf("second use: Location %v; want invalid_request_uri and no code", loc)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		uri := e.push(confID, confParams())
		wantPage(t, "unknown client", e.authorize(byRequestURI("aries_ci_nope", uri)), oauth.InvalidClient)
	})
}

// TestRequirePAR: a client registered to push, a FAPI 2.0 client, and
// every client under --require-par are refused plain requests, with an
// error back to the (registered) redirect URI; pushed ones work.
func TestRequirePAR(t *testing.T) {
	for _, tt := range []struct {
		name     string
		server   bool
		register func(*store.Client)
	}{
		{"client setting", false, func(c *store.Client) { c.RequirePAR = true }},
		{"fapi2 profile", false, func(c *store.Client) { c.Profile = store.ProfileFAPI2 }},
		{"server flag", true, func(*store.Client) {}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(h *Handler) { h.RequirePAR = tt.server })
			c := store.Client{ID: "aries_ci_partner", Name: "Partner", Type: store.Confidential, SecretHash: "h1$x",
				RedirectURIs: []string{confRedirect}, Scopes: []string{"account:information"}}
			tt.register(&c)
			e.newClient(c)
			params := with(confParams(), "client_id", c.ID, "scope", "account:information",
				"code_challenge", challenge, "code_challenge_method", "S256")
			loc := e.authorize(params).location()
			if loc == nil || loc.Query().Get("error") != oauth.InvalidRequest || loc.Query().Get("state") != "st-123" {
				t.Fatalf("plain request: Location %v; want invalid_request with state", loc)
			}
			if p := e.authorize(byRequestURI(c.ID, e.push(c.ID, params))); p.StatusCode != http.StatusOK {
				t.Errorf("pushed request: status %d, want the sign-in page", p.StatusCode)
			}
		})
	}
}

// TestValidatePushed: the PAR endpoint's validation answers every error
// as an *oauth.Error for the JSON response, never a page.
func TestValidatePushed(t *testing.T) {
	e := newEnv(t)
	fapi := store.Client{ID: "aries_ci_fapi", Name: "Partner", Type: store.Confidential,
		RedirectURIs: []string{confRedirect}, Scopes: []string{"account:information"}, Profile: store.ProfileFAPI2}
	e.newClient(fapi)
	conf, err := e.store.Client(context.Background(), confID)
	if err != nil {
		t.Fatal(err)
	}
	fapiParams := with(confParams(), "client_id", fapi.ID, "scope", "account:information",
		"code_challenge", challenge, "code_challenge_method", "S256")
	tests := []struct {
		name   string
		client store.Client
		params url.Values
		code   string // "" for accepted
	}{
		{"valid", conf, confParams(), ""},
		{"valid fapi2", fapi, fapiParams, ""},
		{"request_uri inside", conf, with(confParams(), "request_uri", "urn:ietf:params:oauth:request_uri:aries_ru_x"), oauth.InvalidRequest},
		{"request object", conf, with(confParams(), "request", "eyJhbGciOiJub25lIn0.e30."), oauth.InvalidRequest},
		{"unregistered redirect_uri", conf, with(confParams(), "redirect_uri", "https://evil.example/cb"), oauth.InvalidRequest},
		{"missing redirect_uri", conf, with(confParams(), "redirect_uri", ""), oauth.InvalidRequest},
		{"unknown scope", conf, with(confParams(), "scope", "everything"), oauth.InvalidScope},
		{"response_type token", conf, with(confParams(), "response_type", "token"), oauth.UnsupportedResponseType},
		{"plain PKCE", conf, with(confParams(), "code_challenge", challenge, "code_challenge_method", "plain"), oauth.InvalidRequest},
		{"short challenge", conf, with(confParams(), "code_challenge", "abc", "code_challenge_method", "S256"), oauth.InvalidRequest},
		{"bad prompt", conf, with(confParams(), "prompt", "none login"), oauth.InvalidRequest},
		{"bad max_age", conf, with(confParams(), "max_age", "-1"), oauth.InvalidRequest},
		{"bad dpop_jkt", conf, with(confParams(), "dpop_jkt", "not-a-thumbprint"), oauth.InvalidRequest},
		{"fapi2 without PKCE", fapi, with(fapiParams, "code_challenge", "", "code_challenge_method", ""), oauth.InvalidRequest},
		{"fapi2 plain PKCE", fapi, with(fapiParams, "code_challenge_method", "plain"), oauth.InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.h.ValidatePushed(tt.client, tt.params)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if got.Has("client_id") || got.Get("redirect_uri") == "" {
					t.Errorf("stored params %v: want the request's without client_id", got)
				}
				return
			}
			oe, ok := errors.AsType[*oauth.Error](err)
			if !ok || oe.Code != tt.code {
				t.Fatalf("got %v, want an *oauth.Error %s", err, tt.code)
			}
		})
	}
}

// TestFAPI2CodeLifetime: a FAPI 2.0 client's code lives at most 60 s
// whatever the server's code lifetime; other clients keep it.
func TestFAPI2CodeLifetime(t *testing.T) {
	e := newEnv(t, func(h *Handler) { h.CodeTTL = 5 * time.Minute })
	fapi := store.Client{ID: "aries_ci_fapi", Name: "Partner", Type: store.Confidential,
		RedirectURIs: []string{confRedirect}, Scopes: []string{"account:information"}, Profile: store.ProfileFAPI2}
	e.newClient(fapi)
	e.signIn(userEmail, userPassword)
	for _, tt := range []struct {
		params url.Values
		pushed bool
		want   time.Duration
	}{
		{with(confParams(), "scope", "account:information", "prompt", "consent"), false, 5 * time.Minute},
		{with(confParams(), "client_id", fapi.ID, "scope", "account:information", "code_challenge", challenge, "code_challenge_method", "S256"), true, time.Minute},
	} {
		id := tt.params.Get("client_id")
		q := tt.params
		if tt.pushed {
			q = byRequestURI(id, e.push(id, tt.params))
		}
		loc := e.decide(e.authorize(q), "approve").location()
		if loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("%s: no code", id)
		}
		ac, err := e.store.AuthCode(context.Background(), e.h.Hasher.Hash(loc.Query().Get("code")), e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := ac.ExpiresAt.Sub(ac.CreatedAt); got != tt.want {
			t.Errorf("%s: code lives %v, want %v", id, got, tt.want)
		}
	}
}
