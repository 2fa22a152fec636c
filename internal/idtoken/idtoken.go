package idtoken

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// DefaultTTL is the lifetime of an ID token when Issuer.TTL is zero: that
// of an access token (docs/protocol.md#lifetimes).
const DefaultTTL = 15 * time.Minute

// Algorithms are the values of a client's id_token_signed_response_alg:
// RS256, the default, and ES256.
var Algorithms = []string{keys.RS256, keys.Algorithm}

// AlgorithmOf is the algorithm of client c's ID tokens.
func AlgorithmOf(c store.Client) string {
	if c.IDTokenSignedResponseAlg == "" {
		return keys.RS256
	}
	return c.IDTokenSignedResponseAlg
}

// Profiles reads the name a user chose (PATCH /v1/users/me); the ledger
// store is one.
type Profiles interface {
	Profile(ctx context.Context, userID string) (ledger.Profile, error)
}

// Issuer mints ID tokens and user claims for one issuer. Set its fields
// before use; do not change them afterwards.
type Issuer struct {
	Keys     *keys.Keyring
	Issuer   string
	TTL      time.Duration // DefaultTTL when zero
	Now      func() time.Time
	Users    store.UserFinder
	Profiles Profiles // nil: no name claim
}

// Request is what an ID token is about: a grant that carries the openid
// scope, at the code exchange or a refresh.
type Request struct {
	Client    store.Client // the audience and authorized party
	UserID    string
	Scopes    []string // the scopes granted with it
	Nonce     string   // the authorization request's; "" on refresh (Core 1.0 section 12.2)
	SessionID string
	AuthTime  time.Time
	AMR       []string
	// AccessToken is the access token issued with it, bound by at_hash.
	AccessToken string
}

func (i *Issuer) now() time.Time {
	if i.Now == nil {
		return time.Now()
	}
	return i.Now()
}

// Issue signs an ID token for r and returns it with its claims (Core 1.0
// section 3.1.3.6 for at_hash). A user who no longer exists is
// store.ErrNotFound.
func (i *Issuer) Issue(ctx context.Context, r Request) (string, protocol.IDTokenClaims, error) {
	alg := AlgorithmOf(r.Client)
	if !slices.Contains(Algorithms, alg) {
		return "", protocol.IDTokenClaims{}, fmt.Errorf("idtoken: client %s asks for algorithm %q", r.Client.ID, alg)
	}
	info, err := i.UserInfo(ctx, r.UserID, r.Scopes)
	if err != nil {
		return "", protocol.IDTokenClaims{}, err
	}
	ttl := i.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	now := i.now()
	c := protocol.IDTokenClaims{
		Issuer:   i.Issuer,
		Subject:  r.UserID,
		Audience: []string{r.Client.ID},
		IssuedAt: time.Unix(now.Unix(), 0),
		Expiry:   time.Unix(now.Add(ttl).Unix(), 0),
		AuthTime: unixSeconds(r.AuthTime),
		Nonce:    r.Nonce,
		AMR:      r.AMR,
		// Core 1.0 section 2 makes azp optional with one audience; it is
		// set anyway, so a relying party that checks it finds itself.
		AuthorizedParty: r.Client.ID,
		SessionID:       r.SessionID,
		Email:           info.Email,
		EmailVerified:   info.EmailVerified,
		Name:            info.Name,
	}
	if r.AccessToken != "" {
		c.AccessTokenHash = atHash(r.AccessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", protocol.IDTokenClaims{}, fmt.Errorf("idtoken: encode claims: %w", err)
	}
	tok, err := i.Keys.SignAs(alg, keys.IDTokenType, payload)
	if err != nil {
		return "", protocol.IDTokenClaims{}, err
	}
	return tok, c, nil
}

// UserInfo returns the claims about userID that a grant of scopes may see
// (Core 1.0 section 5.4): sub always, email and email_verified with email,
// name with profile when the user set one. A user who no longer exists is
// store.ErrNotFound.
func (i *Issuer) UserInfo(ctx context.Context, userID string, scopes []string) (protocol.UserInfo, error) {
	u, err := i.Users.UserByID(ctx, userID)
	if err != nil {
		return protocol.UserInfo{}, err
	}
	info := protocol.UserInfo{Subject: u.ID}
	if slices.Contains(scopes, scope.Email) {
		info.Email, info.EmailVerified = u.Email, u.EmailVerified
	}
	if slices.Contains(scopes, scope.Profile) && i.Profiles != nil {
		p, err := i.Profiles.Profile(ctx, u.ID)
		if err != nil {
			return protocol.UserInfo{}, fmt.Errorf("idtoken: profile of %s: %w", u.ID, err)
		}
		info.Name = p.DisplayName
	}
	return info, nil
}

// atHash is at_hash for an RS256 or ES256 token: the left half of the
// SHA-256 of the access token, base64url (Core 1.0 section 3.1.3.6).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func unixSeconds(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(t.Unix(), 0)
}

// ErrInvalidHint matches every error of VerifyHint.
var ErrInvalidHint = errors.New("idtoken: invalid id_token_hint")

// HintError says why an id_token_hint was refused, in words fit for an
// error_description or a page.
type HintError struct{ Reason string }

func (e *HintError) Error() string        { return "idtoken: invalid id_token_hint: " + e.Reason }
func (e *HintError) Is(target error) bool { return target == ErrInvalidHint }

func badHint(reason string) error { return &HintError{Reason: reason} }

// maxHintSize bounds the work spent on a hint before its signature is
// checked; Aries ID tokens are well under 2 KiB.
const maxHintSize = 8 << 10

// VerifyHint checks an ID token a relying party sent back as id_token_hint
// (Core 1.0 section 3.1.2.1, RP-Initiated Logout 1.0 section 2): an
// RS256 or ES256 JWS with typ JWT, signed by a key Aries publishes now,
// issued by this issuer, naming a subject and an audience. Its expiry is
// not checked: a relying party holds on to the ID token of a sign-in and
// sends it back when the session is over, and RP-Initiated Logout 1.0
// section 4 asks the OP to accept it then. Errors match ErrInvalidHint.
func (i *Issuer) VerifyHint(raw string) (protocol.IDTokenClaims, error) {
	if len(raw) > maxHintSize {
		return protocol.IDTokenClaims{}, badHint("it is too large to be an ID token")
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return protocol.IDTokenClaims{}, badHint("it is not a signed JWT")
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != keys.IDTokenType {
		return protocol.IDTokenClaims{}, badHint("it is not an ID token")
	}
	jwk, ok := i.Keys.PublicJWK(h.KeyID)
	if !ok || h.KeyID == "" {
		return protocol.IDTokenClaims{}, badHint("it was not signed by a key of this server")
	}
	if jwk.Algorithm != h.Algorithm {
		return protocol.IDTokenClaims{}, badHint("its algorithm does not match its key")
	}
	payload, err := jws.Verify(jwk.Key)
	if err != nil {
		return protocol.IDTokenClaims{}, badHint("its signature does not verify")
	}
	var c protocol.IDTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return protocol.IDTokenClaims{}, badHint("its claims are malformed")
	}
	switch {
	case c.Issuer != i.Issuer:
		return protocol.IDTokenClaims{}, badHint("it was issued by another server")
	case c.Subject == "" || len(c.Audience) == 0:
		return protocol.IDTokenClaims{}, badHint("it names no user or no client")
	}
	return c, nil
}

// IssuedTo reports whether an ID token names clientID as its audience.
func IssuedTo(c protocol.IDTokenClaims, clientID string) bool {
	return slices.Contains(c.Audience, clientID)
}
