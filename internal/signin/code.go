package signin

import (
	"context"
	"fmt"
	"time"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
)

// Defaults for the zero values of CodeIssuer's durations.
const (
	DefaultCodeTTL  = 60 * time.Second
	DefaultGrantTTL = 90 * 24 * time.Hour
	// FAPI2CodeTTL caps the lifetime of a FAPI 2.0 client's codes
	// (docs/fapi.md), whatever the server's configured lifetime.
	FAPI2CodeTTL = 60 * time.Second
)

// Authorization is what a user approved: everything an authorization code
// carries to the token endpoint.
type Authorization struct {
	ClientID            string
	UserID              string
	RedirectURI         string // "" when the request named none (first-party sign-in)
	Scopes              []string
	CodeChallenge       string // S256 challenge, "" for none
	CodeChallengeMethod string
	AuthTime            time.Time
	AMR                 []string

	// Nonce is the OpenID Connect nonce to echo in the ID token, and
	// SessionID the sid of the browser session that approved ("" for a
	// sign-in without one): OpenID Connect Core 1.0 sections 2 and 3.1.2.1.
	Nonce     string
	SessionID string

	// DPoPJKT is the dpop_jkt of the request (RFC 9449 section 10): the
	// code is redeemed only with a proof of that key. "" for none.
	DPoPJKT string

	// FAPI2 caps the code's lifetime at FAPI2CodeTTL: the client has the
	// FAPI 2.0 profile.
	FAPI2 bool
}

// CodeIssuer stores authorization codes and the grants they start. The
// browser flow and the first-party sign-in both issue codes through it, so
// the token endpoint cannot tell how a code was earned.
type CodeIssuer struct {
	Store    store.GrantStore
	Hasher   *secret.Hasher
	CodeTTL  time.Duration // lifetime of a code; DefaultCodeTTL if zero
	GrantTTL time.Duration // absolute lifetime of the grant's refresh tokens; DefaultGrantTTL if zero
	Now      func() time.Time
}

// Issue stores a new code for a and the grant it will start, and returns
// the code (RFC 6749 section 4.1.2). Only its hash is stored.
func (c *CodeIssuer) Issue(ctx context.Context, a Authorization) (string, error) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	codeTTL, grantTTL := c.CodeTTL, c.GrantTTL
	if codeTTL <= 0 {
		codeTTL = DefaultCodeTTL
	}
	if grantTTL <= 0 {
		grantTTL = DefaultGrantTTL
	}
	if a.FAPI2 {
		codeTTL = min(codeTTL, FAPI2CodeTTL)
	}
	code := secret.New(secret.CodePrefix)
	grant := store.Grant{
		ID:        secret.ID("grt_"),
		ClientID:  a.ClientID,
		UserID:    a.UserID,
		Scopes:    a.Scopes,
		AuthTime:  a.AuthTime,
		AMR:       a.AMR,
		CreatedAt: now,
		ExpiresAt: now.Add(grantTTL),
		SessionID: a.SessionID,
	}
	ac := store.AuthCode{
		Hash:                c.Hasher.Hash(code),
		GrantID:             grant.ID,
		ClientID:            a.ClientID,
		UserID:              a.UserID,
		RedirectURI:         a.RedirectURI,
		Scopes:              a.Scopes,
		CodeChallenge:       a.CodeChallenge,
		CodeChallengeMethod: a.CodeChallengeMethod,
		AuthTime:            a.AuthTime,
		AMR:                 a.AMR,
		CreatedAt:           now,
		ExpiresAt:           now.Add(codeTTL),
		Nonce:               a.Nonce,
		SessionID:           a.SessionID,
		DPoPJKT:             a.DPoPJKT,
	}
	if err := c.Store.CreateAuthCode(ctx, ac, grant); err != nil {
		return "", fmt.Errorf("signin: create code: %w", err)
	}
	return code, nil
}
