package token

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// authorizationCode redeems a code (RFC 6749 section 4.1.3, RFC 7636
// section 4.6). The code is spent by the first request that authenticates,
// whatever else is wrong with it: a code that failed a PKCE or redirect check
// may be in an attacker's hands and must not be tried again.
func (h *Handler) authorizationCode(ctx context.Context, req request) (*protocol.TokenResponse, error) {
	code, oerr := req.params.Require("code")
	if oerr != nil {
		return nil, oerr
	}
	redirectURI := req.params["redirect_uri"]
	verifier, hasVerifier := req.params["code_verifier"]
	if hasVerifier && !validVerifier(verifier) {
		return nil, oauth.Errorf(oauth.InvalidRequest, "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 section 4.1)")
	}
	if req.client.Type == store.Public && !hasVerifier {
		return nil, oauth.Errorf(oauth.InvalidRequest, "code_verifier is required for a public client")
	}

	// The first refresh token is stored in the same transaction that spends
	// the code: a racing reuse then always finds it, and revokes it.
	refresh := secret.New(secret.RefreshPrefix)
	ac, err := h.Store.RedeemAuthCode(ctx, h.Hasher.Hash(code), store.RefreshToken{
		Hash: h.Hasher.Hash(refresh), CreatedAt: req.now, ExpiresAt: req.now.Add(h.RefreshTTL),
		DPoPJKT: req.refreshKey(),
	}, req.now)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrRevoked):
		return nil, oauth.Errorf(oauth.InvalidGrant, "the authorization code is invalid, expired or revoked")
	case errors.Is(err, store.ErrCodeReused):
		h.Metrics.CodeReuses.Inc()
		h.Logger.WarnContext(ctx, "authorization code reused; its grant is revoked",
			"client_id", req.client.ID, "user", reusedBy(err), "source", req.source)
		return nil, oauth.Errorf(oauth.InvalidGrant, "the authorization code was already used; the tokens issued from it are revoked")
	case err != nil:
		return nil, err
	}
	oerr = checkRedemption(ac, req.client, redirectURI, verifier, hasVerifier)
	if oerr == nil {
		oerr = checkCodeKey(ac, req)
	}
	if oerr != nil {
		// The refresh token stored with the redemption must not outlive it.
		if err := h.Store.RevokeGrant(ctx, ac.GrantID, req.now); err != nil {
			return nil, err
		}
		return nil, oerr
	}
	resp, err := h.mint(protocol.Claims{
		Subject: ac.UserID, ClientID: ac.ClientID, Scopes: ac.Scopes,
		AuthTime: ac.AuthTime, AMR: ac.AMR, GrantID: ac.GrantID,
		Confirmation: req.confirmation(),
	}, refresh)
	if err != nil {
		return nil, err
	}
	return h.withIDToken(ctx, resp, idtoken.Request{
		Client: req.client, UserID: ac.UserID, Scopes: ac.Scopes,
		Nonce: ac.Nonce, SessionID: ac.SessionID, AuthTime: ac.AuthTime, AMR: ac.AMR,
	})
}

// checkRedemption applies the checks that need the redeemed code: it was
// issued to this client, for this redirect_uri, and the PKCE verifier
// matches its challenge (RFC 6749 section 4.1.3, RFC 7636 section 4.6).
func checkRedemption(ac store.AuthCode, client store.Client, redirectURI, verifier string, hasVerifier bool) *oauth.Error {
	switch {
	case ac.ClientID != client.ID:
		return oauth.Errorf(oauth.InvalidGrant, "the authorization code was issued to another client")
	case ac.RedirectURI != "" && ac.RedirectURI != redirectURI:
		// RFC 6749 section 4.1.3: required and identical when the
		// authorization request carried one.
		return oauth.Errorf(oauth.InvalidGrant, "redirect_uri must be the one of the authorization request")
	case ac.RedirectURI == "" && redirectURI != "" && !registry.MatchRedirectURI(client, redirectURI):
		// A first-party sign-in may omit it; one sent anyway must at
		// least be registered.
		return oauth.Errorf(oauth.InvalidGrant, "redirect_uri is not registered for this client")
	case ac.CodeChallenge == "" && hasVerifier:
		// RFC 9700 section 2.1.1: a verifier for a code issued without a
		// challenge is a downgrade attempt.
		return oauth.Errorf(oauth.InvalidGrant, "code_verifier was sent but the authorization request had no code_challenge")
	case ac.CodeChallenge != "" && !hasVerifier:
		return oauth.Errorf(oauth.InvalidGrant, "code_verifier is required: the authorization request carried a code_challenge")
	case ac.CodeChallenge != "" && !challengeMatches(verifier, ac.CodeChallenge):
		return oauth.Errorf(oauth.InvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// refreshToken uses a refresh token (RFC 6749 section 6) under its
// client's policy (docs/fapi.md#refresh-token-policy): rotated, rotated with
// a grace window, or kept. A narrower scope applies to the new access token
// only; the grant keeps its scope. The access and ID tokens are new in
// every case.
func (h *Handler) refreshToken(ctx context.Context, req request) (*protocol.TokenResponse, error) {
	old, oerr := req.params.Require("refresh_token")
	if oerr != nil {
		return nil, oerr
	}
	oldHash := h.Hasher.Hash(old)
	var narrowed []string
	if s, ok := req.params["scope"]; ok {
		want, err := scope.Parse(s)
		if err != nil {
			return nil, oauth.Errorf(oauth.InvalidScope, "%v", err)
		}
		// Checked before rotating: a refused request must leave the token
		// usable. Grant scopes never change, so this read cannot go stale.
		_, g, err := h.Store.RefreshTokenGrant(ctx, oldHash, req.now)
		if err == nil && !scope.Subset(want, g.Scopes) {
			return nil, oauth.Errorf(oauth.InvalidScope, "scope may only narrow the scope originally granted (%s)", scope.Join(g.Scopes))
		}
		narrowed = want
	}

	use := store.RefreshUse{
		ClientID: req.client.ID, Hash: oldHash, Rotation: req.client.Rotation(),
		// Under RotationNone, Next.ExpiresAt is the kept token's new
		// idle expiry: it slides with each use, within the grant's
		// absolute limit.
		Next: store.RefreshToken{ClientID: req.client.ID, CreatedAt: req.now, ExpiresAt: req.now.Add(h.RefreshTTL),
			DPoPJKT: req.refreshKey()},
	}
	var refresh string
	if use.Rotation != store.RotationNone {
		refresh = secret.New(secret.RefreshPrefix)
		use.Next.Hash = h.Hasher.Hash(refresh)
		if n := req.client.RefreshTokenGraceSeconds; n > 0 {
			sealed, err := h.sealChild(oldHash, refresh)
			if err != nil {
				return nil, err
			}
			use.Grace, use.Sealed = time.Duration(n)*time.Second, sealed
		}
	}
	res, err := h.Store.UseRefreshToken(ctx, use, req.now)
	switch {
	case errors.Is(err, store.ErrDPoPKeyMismatch):
		// RFC 9449 section 5: the token stays as it was, usable by the
		// holder of its key.
		return nil, oauth.Errorf(oauth.InvalidGrant, "the refresh token is bound to a DPoP key: refresh with a proof of that key")
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrRevoked):
		return nil, oauth.Errorf(oauth.InvalidGrant, "the refresh token is invalid, expired or revoked")
	case errors.Is(err, store.ErrRefreshReplayed):
		h.Metrics.RefreshReplays.Inc()
		h.Logger.WarnContext(ctx, "refresh token replayed; its family is revoked",
			"client_id", req.client.ID, "user", reusedBy(err), "source", req.source)
		return nil, oauth.Errorf(oauth.InvalidGrant, "the refresh token was already used; every token of this sign-in is revoked")
	case err != nil:
		return nil, err
	}
	g := res.Grant
	switch res.Outcome {
	case store.RefreshKept:
		// RFC 6749 section 5.1 makes refresh_token optional and section 6
		// lets the server keep the old one: the client keeps using it.
		// It cannot be sent back, as only its hash is stored.
		refresh = ""
	case store.RefreshGrace:
		// A retry of a rotation within the grace window: the same new
		// refresh token as the first use got.
		if refresh, err = h.openChild(oldHash, res.Sealed); err != nil {
			return nil, err
		}
		h.Logger.InfoContext(ctx, "refresh token retried within its grace window",
			"client_id", req.client.ID, "user", g.UserID, "source", req.source)
	}
	// The check before the call could not run on a spent token (a grace
	// retry, which spent nothing, so refusing leaves everything as it
	// was) nor when the read failed: no scope beyond the grant, ever.
	if narrowed != nil && !scope.Subset(narrowed, g.Scopes) {
		return nil, oauth.Errorf(oauth.InvalidScope, "scope may only narrow the scope originally granted (%s)", scope.Join(g.Scopes))
	}
	granted := g.Scopes
	if narrowed != nil {
		granted = narrowed
	}
	// A scope the client has lost since the user consented is not renewed.
	granted = slices.DeleteFunc(slices.Clone(granted), func(s string) bool { return !slices.Contains(req.client.Scopes, s) })
	resp, err := h.mint(protocol.Claims{
		Subject: g.UserID, ClientID: g.ClientID, Scopes: granted,
		AuthTime: g.AuthTime, AMR: g.AMR, GrantID: g.ID,
		Confirmation: req.confirmation(),
	}, refresh)
	if err != nil {
		return nil, err
	}
	// OpenID Connect Core 1.0 section 12.2: the same iss, sub, aud, azp and
	// auth_time as at sign-in, a new iat, and no nonce (a refresh answers
	// no authentication request).
	return h.withIDToken(ctx, resp, idtoken.Request{
		Client: req.client, UserID: g.UserID, Scopes: granted,
		SessionID: g.SessionID, AuthTime: g.AuthTime, AMR: g.AMR,
	})
}

// clientCredentials issues a token to a confidential client acting as
// itself (RFC 6749 section 4.4). With no scope it gets every scope enabled
// on it except admin, which belongs to administrators, not applications.
func (h *Handler) clientCredentials(ctx context.Context, req request) (*protocol.TokenResponse, error) {
	if req.client.Type != store.Confidential {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client_credentials is for confidential clients only")
	}
	granted := slices.DeleteFunc(slices.Clone(req.client.Scopes), func(s string) bool { return s == scope.Admin || aboutAUser(s) })
	if s, ok := req.params["scope"]; ok {
		want, err := scope.Parse(s)
		if err != nil {
			return nil, oauth.Errorf(oauth.InvalidScope, "%v", err)
		}
		if slices.ContainsFunc(want, aboutAUser) {
			return nil, oauth.Errorf(oauth.InvalidScope, "openid, profile and email are about a signed-in user; client_credentials has none")
		}
		if !scope.Subset(want, granted) {
			return nil, oauth.Errorf(oauth.InvalidScope, "the client may only ask for the scopes enabled on it (%s)", scope.Join(granted))
		}
		granted = want
	}
	return h.mint(protocol.Claims{Subject: req.client.ID, ClientID: req.client.ID, Scopes: granted,
		Confirmation: req.confirmation()}, "")
}

// aboutAUser reports whether s is an OpenID Connect scope, which asks for
// an ID token or claims about the user who signed in (OpenID Connect Core
// 1.0 section 5.4): an app acting as itself has no user, so
// client_credentials never grants one.
func aboutAUser(s string) bool {
	return s == scope.OpenID || s == scope.Profile || s == scope.Email
}

// checkCodeKey applies RFC 9449 section 10: a code whose authorization
// request named dpop_jkt is redeemed only with a proof of that key, so a
// code intercepted on its way back to the client is worthless.
func checkCodeKey(ac store.AuthCode, req request) *oauth.Error {
	if ac.DPoPJKT != "" && (req.proof == nil || req.proof.JKT != ac.DPoPJKT) {
		return oauth.Errorf(oauth.InvalidGrant, "the authorization code is bound to a DPoP key (dpop_jkt): redeem it with a proof of that key")
	}
	return nil
}

// validVerifier checks the code_verifier syntax of RFC 7636 section 4.1.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// challengeMatches applies S256 (RFC 7636 section 4.6); plain is never
// accepted at the authorization endpoint, so it is not handled here.
func challengeMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// reusedBy is the user whose grant a code reuse or refresh replay revoked.
func reusedBy(err error) string {
	if re, ok := errors.AsType[*store.ReuseError](err); ok {
		return re.UserID
	}
	return ""
}
