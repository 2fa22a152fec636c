// Package registry owns the rules for registering OAuth clients: which
// redirect URIs may be registered (RFC 6749 section 3.1.2, RFC 8252 for
// native apps, RFC 9700 section 2.1), which scopes a client may enable, and
// how client ids and secrets are made, and what only an administrator may do
// to a client (docs/security.md#admin-is-never-self-granted). The CLI, the
// demo seeding, the admin API and the Client Center all create and change
// clients through it, each naming who asks (an Actor), so the rules hold
// whichever door is used.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
)

// ValidateRedirectURI accepts https URIs, http URIs on a loopback host
// (127.0.0.1, [::1], localhost: RFC 8252 section 7.3), and private-use
// schemes of native apps (RFC 8252 section 7.1, a scheme with a dot such as
// com.example.app:/callback). Fragments are never allowed (RFC 6749 section
// 3.1.2). The URI is kept exactly as written: matching is by string equality.
func ValidateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("redirect URI %q is not an absolute URI", raw)
	}
	if strings.Contains(raw, "#") {
		return fmt.Errorf("redirect URI %q must not contain a fragment", raw)
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return fmt.Errorf("redirect URI %q must not contain spaces", raw)
	}
	if p := u.Port(); p != "" && !validPort(p) {
		return fmt.Errorf("redirect URI %q: the port must be 1-65535", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("redirect URI %q has no host", raw)
		}
		return nil
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("redirect URI %q: http is allowed only on 127.0.0.1, [::1] or localhost; use https", raw)
		}
		return nil
	}
	if !strings.Contains(u.Scheme, ".") {
		return fmt.Errorf("redirect URI %q: a native app's private-use scheme must be a reversed domain name such as com.example.app", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MaxRedirectURIs bounds the redirect URIs of one client: every
// authorization request is matched against the list, and a developer form
// should not be able to grow a row without limit.
const MaxRedirectURIs = 20

// Spec is what a developer asks for when registering or editing a client.
type Spec struct {
	Name         string
	Public       bool
	FirstParty   bool
	RedirectURIs []string
	// Scopes is split on whitespace before anything is checked, so one
	// form value "read admin" is two scopes, as RFC 6749 section 3.3 reads
	// a scope parameter; bundles allowed.
	Scopes         string
	OwnerID        string
	ResourceServer bool // may introspect other clients' tokens (docs/security.md#who-may-introspect)

	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser (OpenID Connect RP-Initiated Logout 1.0 section 3.1): the
	// rules of redirect URIs, exact match. Optional.
	PostLogoutRedirectURIs []string
	// IDTokenAlg is id_token_signed_response_alg: "RS256" (also when "")
	// or "ES256".
	IDTokenAlg string

	// DPoPBound is dpop_bound_access_tokens (RFC 9449 section 5.2): the
	// client gets DPoP-bound tokens only. It only takes away bearer
	// tokens from the client, so its owner may set it, as an
	// administrator may.
	DPoPBound bool

	// Financial-grade settings (docs/fapi.md), each the client's own
	// choice: they only narrow how it may obtain tokens. AuthMethod is
	// token_endpoint_auth_method ("" keeps a confidential client's secret
	// usable either way); JWKS the inline JWK Set of private_key_jwt;
	// Profile "" or "fapi2"; RequirePAR is
	// require_pushed_authorization_requests; RefreshRotation "", "rotate"
	// or "none"; RefreshGrace is refresh_token_grace_seconds.
	AuthMethod      string
	JWKS            string
	Profile         string
	RequirePAR      bool
	RefreshRotation string
	RefreshGrace    int
}

// Actor is who asks the registry to create or change a client. What only an
// administrator may do is decided here, from Actor, and nowhere else.
type Actor struct {
	Admin bool
}

// Operator is the person running the aries command line. They hold the
// database and the root secret, so they count as an administrator.
var Operator = Actor{Admin: true}

// ActorOf is the signed-in user u: an administrator only while u.Admin is
// set.
func ActorOf(u store.User) Actor { return Actor{Admin: u.Admin} }

// Refusal is the registry's answer to a spec it will not apply: every
// objection, one per line, worded for the person who asked. Nothing was
// written. Create and Update return any other error only when the store
// failed.
type Refusal struct{ err error }

func (r *Refusal) Error() string { return r.err.Error() }
func (r *Refusal) Unwrap() error { return r.err }

// Validate checks the spec and returns the canonical scopes to enable.
func (s Spec) Validate() ([]string, error) {
	var errs []error
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, errors.New("a client needs a name"))
	}
	if len(s.Name) > 100 {
		errs = append(errs, errors.New("the name may be at most 100 characters"))
	}
	if len(s.RedirectURIs) == 0 {
		errs = append(errs, errors.New("register at least one redirect URI"))
	}
	if len(s.RedirectURIs) > MaxRedirectURIs {
		errs = append(errs, fmt.Errorf("register at most %d redirect URIs", MaxRedirectURIs))
	}
	for _, u := range s.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			errs = append(errs, err)
		}
	}
	scopes, err := scope.Parse(s.Scopes)
	if err != nil {
		errs = append(errs, err)
	} else if len(scopes) == 0 {
		errs = append(errs, errors.New("enable at least one scope"))
	}
	errs = append(errs, s.validateOIDC()...)
	return scopes, errors.Join(errs...)
}

// check applies Validate and the rules about who may do what
// (docs/security.md#admin-is-never-self-granted) to s, which by sends to
// create a client (old is nil) or to edit old. It returns the canonical
// scopes or a *Refusal.
func (s Spec) check(by Actor, old *store.Client) ([]string, error) {
	scopes, err := s.Validate()
	errs := []error{err}
	public := s.Public
	var was store.Client // a new client starts with every flag off
	if old != nil {
		public, was = old.Type == store.Public, *old
	}
	errs = append(errs, s.validateFinancialGrade(public)...)
	// A private_key_jwt client moving to a secret method has no secret
	// yet: it gets one from RotateSecret (aries clients rotate-secret ID),
	// which refuses while the method is private_key_jwt; until then it
	// cannot authenticate (NeedsSecret).
	// The admin scope opens the admin API to whoever an administrator
	// signs in with the client; so not only adding it but keeping it is an
	// administrator's decision: a developer's edit of a client that has it
	// is refused until the scope is taken off.
	if !by.Admin && slices.Contains(scopes, scope.Admin) {
		errs = append(errs, errors.New("only administrators may enable the admin scope"))
	}
	// First-party clients sign users in with a password and may be granted
	// admin; resource servers read every token. A developer keeps what an
	// administrator set, but changes neither.
	if !by.Admin && s.FirstParty != was.FirstParty {
		errs = append(errs, errors.New("only administrators may mark a client first-party"))
	}
	if !by.Admin && s.ResourceServer != was.ResourceServer {
		errs = append(errs, errors.New("only administrators may mark a client as a resource server"))
	}
	// A first-party client takes users' passwords, so it must prove who it
	// is with a secret; a public client has none (RFC 6749 section 2.1).
	if public && s.FirstParty {
		errs = append(errs, errors.New("a public client cannot be first-party: first-party clients must be confidential and authenticate with a client secret"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &Refusal{err}
	}
	return scopes, nil
}

// Create registers a new client on behalf of by. For a confidential client
// it returns the secret, which exists in clear only in this return value.
// A spec the registry will not register is a *Refusal.
func Create(ctx context.Context, st store.ClientStore, h *secret.Hasher, by Actor, s Spec, now time.Time) (store.Client, string, error) {
	s = s.withProfileDefaults()
	scopes, err := s.check(by, nil)
	if err != nil {
		return store.Client{}, "", err
	}
	c := store.Client{
		ID:             secret.ID(secret.ClientIDPrefix),
		Name:           strings.TrimSpace(s.Name),
		Type:           store.Confidential,
		FirstParty:     s.FirstParty,
		RedirectURIs:   s.RedirectURIs,
		Scopes:         scopes,
		OwnerID:        s.OwnerID,
		ResourceServer: s.ResourceServer,
		CreatedAt:      now,
		UpdatedAt:      now,

		PostLogoutRedirectURIs:   s.PostLogoutRedirectURIs,
		IDTokenSignedResponseAlg: s.idTokenAlg(),

		DPoPBoundAccessTokens: s.DPoPBound,

		TokenEndpointAuthMethod:  s.AuthMethod,
		JWKS:                     s.JWKS,
		Profile:                  s.Profile,
		RequirePAR:               s.RequirePAR,
		RefreshTokenRotation:     s.RefreshRotation,
		RefreshTokenGraceSeconds: s.RefreshGrace,
	}
	var clientSecret string
	switch {
	case s.Public:
		c.Type, c.TokenEndpointAuthMethod = store.Public, store.AuthNone
	case s.AuthMethod == store.AuthPrivateKeyJWT:
		// It proves itself with its key: no secret is made, so none can
		// leak.
	default:
		clientSecret = secret.New(secret.ClientSecretPrefix)
		c.SecretHash = h.Hash(clientSecret)
	}
	if err := st.CreateClient(ctx, c); err != nil {
		return store.Client{}, "", err
	}
	return c, clientSecret, nil
}

// NeedsSecret reports whether c authenticates with a client secret but
// has none: a private_key_jwt client moved to a secret method, which
// needs RotateSecret before it can authenticate.
func NeedsSecret(c store.Client) bool {
	return c.Type == store.Confidential && c.SecretHash == "" && c.TokenEndpointAuthMethod != store.AuthPrivateKeyJWT
}

// RotateSecret gives a confidential client a new secret; the old one stops
// working at once. A private_key_jwt client gets none: a *Refusal.
func RotateSecret(ctx context.Context, st store.ClientStore, h *secret.Hasher, id string, now time.Time) (string, error) {
	c, err := st.Client(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Type != store.Confidential {
		return "", errors.New("a public client has no secret")
	}
	if c.TokenEndpointAuthMethod == store.AuthPrivateKeyJWT {
		return "", &Refusal{errors.New("the client authenticates with private_key_jwt and has no secret; change its auth method first (aries clients update ID --auth-method client_secret_basic)")}
	}
	clientSecret := secret.New(secret.ClientSecretPrefix)
	if err := st.SetClientSecret(ctx, id, h.Hash(clientSecret), now); err != nil {
		return "", err
	}
	return clientSecret, nil
}

// MatchRedirectURI reports whether uri, sent in an authorization request,
// is one of client c's registered redirect URIs. Matching is by exact
// string (RFC 9700 section 4.1.3): no normalisation, no prefixes, so a
// trailing slash or a changed case is a mismatch. The one exception is RFC
// 8252 section 7.3: a native app listening on a loopback interface gets an
// ephemeral port from its operating system, so for a public client's http
// URIs on 127.0.0.1, [::1] or localhost the requested port may differ from
// the registered one; it must still be written out and lie in 1-65535, and
// everything else must match. A confidential client is a web server with a
// port of its own, so its URIs match exactly
// (docs/security.md#loopback-redirect-uris): a free
// port would let any local process on the user's machine take its codes.
func MatchRedirectURI(c store.Client, uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if c.Type != store.Public {
		return false
	}
	want, port, ok := splitLoopbackPort(uri)
	if !ok || !validPort(port) {
		return false
	}
	for _, r := range c.RedirectURIs {
		if got, _, ok := splitLoopbackPort(r); ok && got == want {
			return true
		}
	}
	return false
}

// validPort reports whether p is a TCP port a loopback listener can have,
// 1-65535, written without a leading zero.
func validPort(p string) bool {
	if p == "" || p[0] == '0' || len(p) > 5 {
		return false
	}
	n := 0
	for _, d := range p {
		n = n*10 + int(d-'0')
	}
	return n <= 65535
}

// splitLoopbackPort splits an http loopback URI into the URI without its
// port and the port's digits ("" when it has none). It works on the
// string, not on a parsed URL, so that no parser leniency can make a
// different host compare equal.
func splitLoopbackPort(raw string) (uri, port string, ok bool) {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		return "", "", false
	}
	host := ""
	for _, h := range []string{"127.0.0.1", "[::1]", "localhost"} {
		if strings.HasPrefix(rest, h) {
			host = h
			break
		}
	}
	if host == "" {
		return "", "", false
	}
	rest = rest[len(host):]
	if strings.HasPrefix(rest, ":") {
		digits := 0
		for digits+1 < len(rest) && rest[digits+1] >= '0' && rest[digits+1] <= '9' {
			digits++
		}
		if digits == 0 || digits > 5 {
			return "", "", false
		}
		port, rest = rest[1:1+digits], rest[1+digits:]
	}
	if rest != "" && rest[0] != '/' && rest[0] != '?' {
		return "", "", false
	}
	return "http://" + host + rest, port, true
}
