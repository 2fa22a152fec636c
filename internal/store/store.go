// Package store owns Aries' persistent state: the domain types, the Store
// interface every backend implements, and the sentinel errors callers check
// with errors.Is.
//
// Secrets never reach a Store in clear: codes, refresh tokens, session ids and
// client secrets arrive already hashed (package secret), so a database dump
// cannot be replayed; the one token kept whole, a rotated refresh token's
// child during its client's grace window, arrives encrypted (RefreshUse).
// Single use of codes and refresh tokens is decided by the database (a
// conditional UPDATE inside a transaction), never by process memory, so it
// holds across goroutines and across instances.
//
// The behaviour every backend must show is written down once, as tests, in
// package storetest.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound: no such row, or the row has expired.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique value (an email, an id) is already taken.
	ErrConflict = errors.New("store: already exists")
	// ErrCodeReused: the authorization code was already redeemed. The
	// backend has revoked the grant the first redemption created.
	ErrCodeReused = errors.New("store: authorization code already used")
	// ErrRefreshReplayed: a refresh token that was already rotated was
	// presented again. The backend has revoked its whole grant (family).
	ErrRefreshReplayed = errors.New("store: refresh token replayed")
	// ErrRevoked: the grant behind a code or refresh token was revoked.
	ErrRevoked = errors.New("store: grant revoked")
	// ErrDPoPKeyMismatch: a refresh token bound to a DPoP key was
	// presented with another key, or none (RFC 9449 section 5). Nothing
	// was changed.
	ErrDPoPKeyMismatch = errors.New("store: refresh token bound to another DPoP key")
)

// ReuseError is how a backend reports ErrCodeReused and ErrRefreshReplayed
// (errors.Is sees through it): with the grant it revoked and that grant's
// user, for the security log.
type ReuseError struct {
	Err     error // ErrCodeReused or ErrRefreshReplayed
	GrantID string
	UserID  string
}

func (e *ReuseError) Error() string { return e.Err.Error() }
func (e *ReuseError) Unwrap() error { return e.Err }

// User is a person who signs in to Aries.
type User struct {
	ID           string // "usr_" + random; the JWT "sub"
	Email        string // stored lower-cased; unique
	PasswordHash string // PHC-encoded argon2id
	Admin        bool
	CreatedAt    time.Time

	// EmailVerified says the operator checked that the user controls Email
	// (`aries users create --email-verified`); Aries itself verifies no
	// email yet. It is the ID token's email_verified (docs/oidc.md).
	EmailVerified bool
}

// ClientType says whether a client can keep a secret (RFC 6749 section 2.1).
type ClientType string

const (
	Confidential ClientType = "confidential"
	Public       ClientType = "public"
)

// Client is an application registered with Aries.
type Client struct {
	ID           string // "aries_ci_..." public identifier
	Name         string
	Type         ClientType
	FirstParty   bool   // may use POST /v1/oauth2/authorize (password sign-in)
	SecretHash   string // empty for public clients; see secret.Hasher
	RedirectURIs []string
	Scopes       []string // canonical scope names the client may ask for
	Disabled     bool
	OwnerID      string // user id of the developer who manages it; "" for CLI-made clients
	// ResourceServer lets the client introspect tokens issued to other
	// clients (docs/security.md#who-may-introspect); only an administrator
	// sets it.
	ResourceServer bool
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser back to (OpenID Connect RP-Initiated Logout 1.0 section 3.1),
	// matched exactly like RedirectURIs.
	PostLogoutRedirectURIs []string
	// IDTokenSignedResponseAlg is the JWS algorithm of the client's ID
	// tokens (OpenID Connect Dynamic Client Registration 1.0 section 2):
	// "RS256" or "ES256"; "" means RS256, the default.
	IDTokenSignedResponseAlg string

	// DPoPBoundAccessTokens: the client gets DPoP-bound tokens only (RFC
	// 9449 section 5.2, dpop_bound_access_tokens); a token request without
	// a DPoP proof is refused.
	DPoPBoundAccessTokens bool

	// Financial-grade settings (docs/fapi.md). TokenEndpointAuthMethod is
	// how the client authenticates (RFC 7591 section 2): one of the
	// AuthMethod constants, or "" for a confidential client registered
	// without a choice, which may send its secret either way.
	TokenEndpointAuthMethod string
	// JWKS is the client's public keys as an inline JWK Set (RFC 7517
	// section 5), the keys of its private_key_jwt assertions; "" for none.
	JWKS string
	// Profile is "" or ProfileFAPI2 (FAPI 2.0 Security Profile).
	Profile string
	// RequirePAR refuses authorization requests not pushed first (RFC
	// 9126 section 6, require_pushed_authorization_requests).
	RequirePAR bool
	// RefreshTokenRotation is "" (the default: RotationRotate, or
	// RotationNone under the FAPI 2.0 profile), RotationRotate or
	// RotationNone.
	RefreshTokenRotation string
	// RefreshTokenGraceSeconds: for this long after a rotation the parent
	// token, presented again by the same client (and key), returns the same
	// child; 0-60.
	RefreshTokenGraceSeconds int
}

// Client authentication methods (RFC 7591 section 2, RFC 7523 section 2.2).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
)

// ProfileFAPI2 is the FAPI 2.0 Security Profile (docs/fapi.md).
const ProfileFAPI2 = "fapi2"

// Refresh-token rotation policies (docs/fapi.md#refresh-token-policy).
const (
	RotationRotate = "rotate"
	RotationNone   = "none"
)

// AuthMethod is the client's token_endpoint_auth_method as metadata and
// `clients show` name it: "none" for a public client, client_secret_basic
// (RFC 7591 section 2's default) for a confidential one registered without
// a choice, which may also send its secret in the body.
func (c Client) AuthMethod() string {
	switch {
	case c.TokenEndpointAuthMethod != "":
		return c.TokenEndpointAuthMethod
	case c.Type == Public:
		return AuthNone
	}
	return AuthSecretBasic
}

// FAPI2 reports whether the client is under the FAPI 2.0 Security Profile.
func (c Client) FAPI2() bool { return c.Profile == ProfileFAPI2 }

// Rotation is the client's refresh-token policy: as registered, else none
// under the FAPI 2.0 profile (which forbids rotation without a grace
// window), else rotate.
func (c Client) Rotation() string {
	switch {
	case c.RefreshTokenRotation != "":
		return c.RefreshTokenRotation
	case c.FAPI2():
		return RotationNone
	}
	return RotationRotate
}

// SigningKey is one JWT signing key. The private key is stored encrypted
// (package keys); the store never sees it in clear.
type SigningKey struct {
	ID                  string // the JWS "kid"
	Algorithm           string // "ES256"
	EncryptedPrivateKey []byte
	PublicJWK           []byte // JSON of the public JWK
	CreatedAt           time.Time
	RetiredAt           time.Time // zero while it is the key in use
}

// Session is a signed-in browser.
type Session struct {
	IDHash   string // hash of the cookie value
	UserID   string
	AuthTime time.Time
	AMR      []string // RFC 8176 methods: "pwd", "otp"
	// OTPTime is when the session last passed a second factor (a TOTP or
	// recovery code); zero if never. Step-up scopes need it recent.
	OTPTime   time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Consent records which scopes a user has approved for a client.
type Consent struct {
	UserID     string
	ClientID   string
	Scopes     []string
	GrantedAt  time.Time
	LastUsedAt time.Time
}

// Grant is what one authorization (one consent decision, one code) produced:
// the family every refresh token rotated from that code belongs to. Revoking
// a grant kills its refresh tokens and, through the "grant_id" claim, its
// access tokens.
type Grant struct {
	ID        string
	ClientID  string
	UserID    string
	Scopes    []string
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time // absolute limit for every refresh token of the grant
	RevokedAt time.Time // zero while live

	// SessionID is the sid of the sign-in, repeated in every ID token the
	// grant's refresh tokens get (OpenID Connect Core 1.0 section 12.2).
	SessionID string
}

// AuthCode is an authorization code (RFC 6749 section 4.1.2). Its grant is
// created together with it, so a reuse can always revoke it, even while the
// first redemption is still issuing tokens.
type AuthCode struct {
	Hash                string
	GrantID             string
	ClientID            string
	UserID              string
	RedirectURI         string
	Scopes              []string
	CodeChallenge       string // S256 challenge, "" when none was sent
	CodeChallengeMethod string // "S256" or ""
	AuthTime            time.Time
	AMR                 []string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              time.Time // zero until redeemed

	// Nonce is the OpenID Connect nonce of the authorization request,
	// echoed in the ID token (Core 1.0 section 3.1.2.1); "" for none.
	Nonce string
	// SessionID is the sid of the browser session that approved, for the
	// ID token; "" when there was none (first-party sign-in).
	SessionID string

	// DPoPJKT is the dpop_jkt of the authorization request (RFC 9449
	// section 10): the thumbprint of the key the token request must prove;
	// "" for none.
	DPoPJKT string
}

// RefreshToken is one refresh token of a grant. Each use rotates it,
// unless its client's policy says otherwise (RefreshUse).
type RefreshToken struct {
	Hash      string
	GrantID   string
	ClientID  string
	CreatedAt time.Time
	ExpiresAt time.Time // idle expiry; a backend clamps it to the grant's ExpiresAt
	UsedAt    time.Time // zero until rotated

	// DPoPJKT is the thumbprint of the key a public client's refresh
	// token is bound to (RFC 9449 section 5): only a request proving that
	// key may rotate it. "" for an unbound token.
	DPoPJKT string
}

// Store is everything the authorization server persists: the union of the
// domain interfaces below, for wiring (one backend serves them all) and for
// the conformance suite (package storetest). A consumer names the narrow
// interface it uses, never Store. Every method takes the caller's context;
// "now" is passed in so expiry is decided by the caller's clock.
type Store interface {
	Lifecycle
	UserStore
	ClientStore
	SigningKeyStore
	SessionStore
	ConsentStore
	GrantStore
	RevocationStore
	MFAStore     // mfa.go: TOTP enrollment, recovery codes, MFA challenges
	LockoutStore // lockout.go: failed sign-ins and second-factor locks
	DPoPStore    // dpop.go: DPoP proofs already used
	PARStore     // par.go: pushed authorization requests
}

// Lifecycle is the database as a whole.
type Lifecycle interface {
	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	Close() error
	// DeleteExpired removes rows that can no longer be used: expired codes,
	// sessions, refresh tokens, grants, MFA challenges, revoked-token
	// records, DPoP proofs past their window, expired pushed
	// authorization requests, and authentication failures older than
	// AuthFailureRetention.
	DeleteExpired(ctx context.Context, now time.Time) error
}

// UserStore keeps the people who sign in.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error // ErrConflict on a taken email or id
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error) // email matched lower-cased
}

// UserFinder is the read side of UserStore.
type UserFinder interface {
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
}

// ClientStore keeps the registered applications.
type ClientStore interface {
	ClientFinder
	CreateClient(ctx context.Context, c Client) error
	// Clients lists every client, oldest first, or only those owned by
	// ownerID when it is not "".
	Clients(ctx context.Context, ownerID string) ([]Client, error)
	// UpdateClient replaces the name, redirect URIs, scopes, first-party
	// and resource-server flags, post-logout redirect URIs, ID token
	// algorithm and DPoP binding of an existing client.
	UpdateClient(ctx context.Context, c Client) error
	SetClientSecret(ctx context.Context, id, secretHash string, now time.Time) error
	// SetClientDisabled disables or enables a client. Disabling revokes
	// every grant the client holds.
	SetClientDisabled(ctx context.Context, id string, disabled bool, now time.Time) error
	// DeleteClient removes the client, its consents, codes, grants and
	// refresh tokens.
	DeleteClient(ctx context.Context, id string) error
}

// ClientFinder looks one client up: all that client authentication and the
// authorization endpoint need.
type ClientFinder interface {
	Client(ctx context.Context, id string) (Client, error)
}

// SigningKeyStore keeps the JWT signing keys (encrypted; package keys).
type SigningKeyStore interface {
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys returns every key, newest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// RetireSigningKeys marks every live key of keepID's algorithm except
	// keepID as retired at now: rotating the ES256 key leaves the RS256 key
	// of ID tokens in use, and the reverse.
	RetireSigningKeys(ctx context.Context, keepID string, now time.Time) error
}

// SessionStore keeps signed-in browsers.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// Session returns a live session; ErrNotFound once it has expired.
	Session(ctx context.Context, idHash string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, idHash string) error
}

// ConsentStore keeps what users approved for which client.
type ConsentStore interface {
	// SaveConsent records the scopes the user approved for the client,
	// adding to any earlier consent.
	SaveConsent(ctx context.Context, c Consent) error
	Consent(ctx context.Context, userID, clientID string) (Consent, error)
	Consents(ctx context.Context, userID string) ([]Consent, error)
	// DeleteConsent forgets the consent and revokes every grant the user
	// gave the client.
	DeleteConsent(ctx context.Context, userID, clientID string, now time.Time) error
}

// GrantStore keeps authorization codes, grants and refresh tokens, and
// decides their single use (policy.go says why each use fails).
type GrantStore interface {
	// CreateAuthCode stores the code and creates its (not yet used) grant.
	CreateAuthCode(ctx context.Context, c AuthCode, g Grant) error
	// RedeemAuthCode marks a live code used and, in the same transaction,
	// stores first as the grant's first refresh token (GrantID and ClientID are
	// taken from the code; ExpiresAt is clamped to the grant's; CreatedAt zero
	// means now). It returns the code. Unknown or expired codes give ErrNotFound;
	// a code whose grant was revoked ErrRevoked; a code already used gives
	// ErrCodeReused (as a *ReuseError) after revoking its grant (and so the
	// refresh token the first redemption stored). Of any number of concurrent
	// calls with one code, exactly one succeeds.
	RedeemAuthCode(ctx context.Context, hash string, first RefreshToken, now time.Time) (AuthCode, error)
	// AuthCode returns the code with hash if it is unused and unexpired at
	// now, ErrNotFound otherwise. It changes nothing: the token endpoint's
	// rate limit uses it to learn which user a code names.
	AuthCode(ctx context.Context, hash string, now time.Time) (AuthCode, error)
	// UseRefreshToken uses the live refresh token u.Hash of u.ClientID
	// under the client's policy and returns its grant, all in one
	// transaction. Under rotation (RFC 9700 section 4.14.2) it marks the
	// token used and stores u.Next; under RotationNone it only slides the
	// token's idle expiry, and concurrent uses all succeed. Unknown,
	// expired or other clients' tokens give ErrNotFound; a token of a
	// revoked or expired grant ErrRevoked; a token already rotated gives
	// ErrRefreshReplayed (as a *ReuseError) after revoking its grant,
	// unless u.Grace allows a retry (policy.go, WhyNotRotated), which
	// returns the child the rotation stored. Of concurrent calls with one
	// token, exactly one rotates it; within a grace window the others get
	// its child, outside one they are replays. A token bound to a DPoP key
	// is used only by a request proving it (u.Next.DPoPJKT), else
	// ErrDPoPKeyMismatch and nothing changes, not even for a spent token
	// (the caller proved nothing).
	UseRefreshToken(ctx context.Context, u RefreshUse, now time.Time) (Refreshed, error)
	// RefreshTokenGrant returns the grant of a refresh token that is still
	// usable (not rotated, not expired, grant live): for introspection.
	RefreshTokenGrant(ctx context.Context, hash string, now time.Time) (RefreshToken, Grant, error)
	Grant(ctx context.Context, id string) (Grant, error)
	RevokeGrant(ctx context.Context, id string, now time.Time) error
}

// RevocationStore keeps revoked access tokens and reports what was revoked.
type RevocationStore interface {
	// RevokeAccessToken records a revoked access token id until it expires.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error
	AccessTokenRevoked(ctx context.Context, jti string) (bool, error)
	// RevocationsSince returns what was revoked at or after since: access
	// tokens, grants, and clients disabled or deleted (revocations.go).
	// The time of an access token's revocation is the database's clock.
	RevocationsSince(ctx context.Context, since time.Time) (Revocations, error)
}
