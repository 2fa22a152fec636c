package aries

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Token is what the token endpoint grants (RFC 6749 section 5.1). It is the
// value a TokenStore keeps; its JSON form is the store's file format.
type Token struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"` // zero: the SDK never refreshes it proactively
	Scope        string    `json:"scope,omitempty"` // granted scopes, space-separated, bundles expanded
	// ExpiresIn is the lifetime in seconds as the server sent it; it is
	// not updated as time passes (use Expiry).
	ExpiresIn int64 `json:"expires_in,omitempty"`
	// IDToken is the OpenID Connect ID token of a sign-in with the openid
	// scope, and of its refreshes; check it with Client.VerifyIDToken.
	IDToken string `json:"id_token,omitempty"`
}

// Scopes returns the granted scopes.
func (t *Token) Scopes() []string { return strings.Fields(t.Scope) }

// The ways a tokenManager gets a new token.
type (
	refreshFunc func(ctx context.Context, refreshToken string) (*Token, error)
	appFunc     func(ctx context.Context) (*Token, error) // client credentials
)

// tokenManager holds a client's current token and replaces it before it
// expires. Whatever the number of goroutines asking at once, at most one
// load or refresh runs at a time (sem), and the others receive its result:
// with refresh-token rotation a second concurrent refresh would present a
// spent token, which the server takes as a replay and answers by revoking
// the whole family.
type tokenManager struct {
	sem     chan struct{} // held during a load, refresh or save
	store   TokenStore    // nil: none
	early   time.Duration // refresh this long before expiry
	now     func() time.Time
	refresh refreshFunc
	app     appFunc // nil when the client has no secret

	mu     sync.Mutex
	tok    *Token
	asApp  bool  // tok came from app: it acts for no user
	loaded bool  // the store was consulted
	dead   error // the refresh token was refused; cleared by set
}

func newTokenManager(tok *Token, store TokenStore, early time.Duration, now func() time.Time, refresh refreshFunc, app appFunc) *tokenManager {
	return &tokenManager{sem: make(chan struct{}, 1), tok: tok, store: store, early: early, now: now,
		refresh: refresh, app: app, loaded: store == nil}
}

// fresh returns the current token if it is usable without a refresh.
func (m *tokenManager) fresh() *Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded || m.dead != nil || m.tok == nil || m.tok.AccessToken == "" {
		return nil
	}
	if !m.tok.Expiry.IsZero() && !m.now().Add(m.early).Before(m.tok.Expiry) {
		return nil
	}
	return m.tok
}

func (m *tokenManager) lock(ctx context.Context) error {
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *tokenManager) unlock() { <-m.sem }

// token returns a usable access token, refreshing it when it expires within
// the early-refresh window.
func (m *tokenManager) token(ctx context.Context) (*Token, error) {
	if t := m.fresh(); t != nil {
		return t, nil
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.unlock()
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	// Another goroutine may have refreshed while this one waited.
	if t := m.fresh(); t != nil {
		return t, nil
	}
	m.mu.Lock()
	old, dead, asApp := m.tok, m.dead, m.asApp
	m.mu.Unlock()
	if dead != nil {
		return nil, dead
	}
	var tok *Token
	var err error
	switch {
	case old != nil && old.RefreshToken != "":
		tok, err = m.refresh(ctx, old.RefreshToken)
	case (old == nil || asApp) && m.app != nil:
		// Only a client that never held a user's token acts as the
		// app: a user's session that ends must not silently become
		// the app's.
		tok, err = m.app(ctx)
		if err == nil {
			m.mu.Lock()
			m.tok, m.asApp = tok, true
			m.mu.Unlock()
			return tok, nil // the app's tokens are not the store's to keep
		}
	case old != nil && old.AccessToken != "":
		err = ErrTokenExpired
	default:
		err = ErrNoToken
	}
	if err != nil {
		if errors.Is(err, ErrRefreshTokenRevoked) {
			m.mu.Lock()
			m.dead = err
			m.mu.Unlock()
			return nil, err
		}
		// A failed proactive refresh is not yet a failed call: the old
		// token still works until it expires.
		if old != nil && old.AccessToken != "" && m.now().Before(old.Expiry) && ctx.Err() == nil {
			return old, nil
		}
		return nil, err
	}
	m.mu.Lock()
	m.tok = tok
	m.mu.Unlock()
	if m.store != nil {
		if err := m.store.Save(ctx, tok); err != nil {
			// The old refresh token is spent: losing the new one would
			// sign the user out at the next start, so say so loudly.
			return nil, fmt.Errorf("aries: saving the refreshed token: %w", err)
		}
	}
	return tok, nil
}

// load reads the store once; a stored token wins over the one the client
// was built with, because a refresh token is spent once rotated and the
// store holds the latest of the chain. Called with sem held.
func (m *tokenManager) load(ctx context.Context) error {
	m.mu.Lock()
	loaded := m.loaded
	m.mu.Unlock()
	if loaded {
		return nil
	}
	tok, err := m.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("aries: loading the token: %w", err)
	}
	m.mu.Lock()
	if tok != nil {
		m.tok = tok
	}
	m.loaded = true
	m.mu.Unlock()
	return nil
}

// set replaces the token (after a sign-in) and saves it.
func (m *tokenManager) set(ctx context.Context, tok *Token) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.unlock()
	m.mu.Lock()
	m.tok, m.dead, m.asApp, m.loaded = tok, nil, false, true
	m.mu.Unlock()
	if m.store != nil {
		if err := m.store.Save(ctx, tok); err != nil {
			return fmt.Errorf("aries: saving the token: %w", err)
		}
	}
	return nil
}
