package aries_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAries plays the Aries token, first-party and user endpoints over
// httptest, closely enough for the SDK's behaviour to be observable:
// rotation of refresh tokens with replay detection, expiring access tokens,
// PKCE, the MFA step. The end-to-end tests in cmd/aries run the SDK
// against the real server.
type fakeAries struct {
	*httptest.Server
	clientID, secret string
	expiresIn        int64         // lifetime of issued access tokens
	refreshDelay     time.Duration // makes concurrent refreshes overlap
	// keepRefresh plays a client whose refresh tokens are not rotated
	// (docs/fapi.md#refresh-token-policy): a refresh leaves the token
	// valid and answers without a refresh_token.
	keepRefresh bool

	refreshes atomic.Int64 // refresh_token grants served
	tokenHits atomic.Int64 // token endpoint requests

	mu         sync.Mutex
	access     map[string]time.Time // access token -> expiry
	refresh    map[string]bool      // refresh token -> still valid
	codes      map[string]string    // code -> S256 challenge ("" for none)
	sessions   map[string]bool      // MFA session tokens
	lastForm   map[string][]string  // the last token request
	lastHeader http.Header
}

const (
	testClientID = "aries_ci_test"
	testSecret   = "aries_cs_test"
	testPassword = "correct horse battery"
	testMFACode  = "123456"
)

func newFakeAries(t testing.TB) *fakeAries {
	f := startFake()
	t.Cleanup(f.Close)
	return f
}

// startFake starts a fakeAries; the caller closes it.
func startFake() *fakeAries {
	f := &fakeAries{clientID: testClientID, secret: testSecret, expiresIn: 900,
		access: map[string]time.Time{}, refresh: map[string]bool{}, codes: map[string]string{}, sessions: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", f.token)
	mux.HandleFunc("POST /v1/oauth2/revoke", f.revoke)
	mux.HandleFunc("POST /v1/oauth2/authorize", f.firstParty)
	mux.HandleFunc("POST /v1/oauth2/mfa/verify", f.verifyMFA)
	f.sandbox(mux)
	f.Server = httptest.NewServer(mux)
	return f
}

func (f *fakeAries) newCode(challenge string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := "code_" + rand.Text()
	f.codes[c] = challenge
	return c
}

// issueRefresh makes a refresh token the server accepts.
func (f *fakeAries) issueRefresh() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	rt := "rt_" + rand.Text()
	f.refresh[rt] = true
	return rt
}

func (f *fakeAries) form() (map[string][]string, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastForm, f.lastHeader
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func (f *fakeAries) token(w http.ResponseWriter, r *http.Request) {
	f.tokenHits.Add(1)
	r.ParseForm()
	f.mu.Lock()
	f.lastForm, f.lastHeader = r.PostForm, r.Header.Clone()
	f.mu.Unlock()
	if r.PostForm.Get("client_id") != f.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	confidential := r.PostForm.Get("client_secret") != ""
	if confidential && r.PostForm.Get("client_secret") != f.secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code", "code":
		f.mu.Lock()
		challenge, ok := f.codes[r.PostForm.Get("code")]
		delete(f.codes, r.PostForm.Get("code"))
		f.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case !ok:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is invalid or expired")
		case challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != challenge:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match")
		case challenge == "" && !confidential:
			oauthError(w, http.StatusBadRequest, "invalid_request", "code_verifier is required")
		default:
			f.issue(w, true)
		}
	case "refresh_token":
		f.refreshes.Add(1)
		time.Sleep(f.refreshDelay)
		f.mu.Lock()
		valid := f.refresh[r.PostForm.Get("refresh_token")]
		if !f.keepRefresh {
			f.refresh[r.PostForm.Get("refresh_token")] = false // rotated: spent
		}
		f.mu.Unlock()
		if !valid {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired or revoked")
			return
		}
		f.issue(w, !f.keepRefresh)
	case "client_credentials":
		if !confidential {
			oauthError(w, http.StatusBadRequest, "unauthorized_client", "client_credentials needs a confidential client")
			return
		}
		f.issue(w, false)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (f *fakeAries) issue(w http.ResponseWriter, withRefresh bool) {
	at := "at_" + rand.Text()
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": f.expiresIn,
		"scope": "user:information account:information"}
	f.mu.Lock()
	f.access[at] = time.Now().Add(time.Duration(f.expiresIn) * time.Second)
	if withRefresh {
		rt := "rt_" + rand.Text()
		f.refresh[rt] = true
		resp["refresh_token"] = rt
	}
	f.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeAries) revoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastForm = r.PostForm
	if _, ok := f.refresh[r.PostForm.Get("token")]; ok {
		f.refresh[r.PostForm.Get("token")] = false
	}
	delete(f.access, r.PostForm.Get("token"))
}

func (f *fakeAries) firstParty(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed JSON")
		return
	}
	if in["client_id"] != f.clientID || in["client_secret"] != f.secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if in["password"] != testPassword {
		oauthError(w, http.StatusUnauthorized, "access_denied", "wrong email or password")
		return
	}
	if strings.HasPrefix(in["email"], "mfa") {
		session := "st_" + rand.Text()
		f.mu.Lock()
		f.sessions[session] = true
		f.mu.Unlock()
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "insufficient_authorization",
			"mfa_required": true, "session_token": session, "expires_in": 300})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"authorization_code": f.newCode(in["code_challenge"])})
}

func (f *fakeAries) verifyMFA(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed JSON")
		return
	}
	f.mu.Lock()
	live := f.sessions[in["session_token"]]
	f.mu.Unlock()
	switch {
	case !live:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the session is over; sign in again")
	case in["code"] != testMFACode:
		oauthError(w, http.StatusBadRequest, "invalid_mfa_code", "the code is wrong")
	default:
		f.mu.Lock()
		delete(f.sessions, in["session_token"])
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"authorization_code": f.newCode("")})
	}
}

// protected answers like the bearer middleware: 401 with a challenge
// unless the request carries a live access token.
func (f *fakeAries) protected(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		exp, known := f.access[tok]
		f.mu.Unlock()
		if !ok || !known || time.Now().After(exp) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aries", error="invalid_token", error_description="the access token is invalid or expired"`)
			oauthError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid or expired")
			return
		}
		h(w, r)
	}
}

// accessToken issues a live access token directly.
func (f *fakeAries) accessToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := "at_" + rand.Text()
	f.access[at] = time.Now().Add(time.Hour)
	return at
}

// answerOnce is a server that answers every request the same way; the
// caller closes it.
func answerOnce(status int, header map[string]string, body string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
}
