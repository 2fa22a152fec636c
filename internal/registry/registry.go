// Package registry owns the rules for registering OAuth clients: which
// redirect URIs may be registered (RFC 6749 section 3.1.2, RFC 8252 for
// native apps, RFC 9700 section 2.1), which scopes a client may enable, and
// how client ids and secrets are made. The CLI, the demo seeding and the
// Client Center all register clients through it.
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
	Scopes       string // space-separated; bundles allowed
	OwnerID      string
}

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
	return scopes, errors.Join(errs...)
}

// Create registers a new client. For a confidential client it returns the
// secret, which exists in clear only in this return value.
func Create(ctx context.Context, st store.Store, h *secret.Hasher, s Spec, now time.Time) (store.Client, string, error) {
	scopes, err := s.Validate()
	if err != nil {
		return store.Client{}, "", err
	}
	c := store.Client{
		ID:           secret.ID(secret.ClientIDPrefix),
		Name:         strings.TrimSpace(s.Name),
		Type:         store.Confidential,
		FirstParty:   s.FirstParty,
		RedirectURIs: s.RedirectURIs,
		Scopes:       scopes,
		OwnerID:      s.OwnerID,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	var clientSecret string
	if s.Public {
		c.Type = store.Public
	} else {
		clientSecret = secret.New(secret.ClientSecretPrefix)
		c.SecretHash = h.Hash(clientSecret)
	}
	if err := st.CreateClient(ctx, c); err != nil {
		return store.Client{}, "", err
	}
	return c, clientSecret, nil
}

// RotateSecret gives a confidential client a new secret; the old one stops
// working at once.
func RotateSecret(ctx context.Context, st store.Store, h *secret.Hasher, id string, now time.Time) (string, error) {
	c, err := st.Client(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Type != store.Confidential {
		return "", errors.New("a public client has no secret")
	}
	clientSecret := secret.New(secret.ClientSecretPrefix)
	if err := st.SetClientSecret(ctx, id, h.Hash(clientSecret), now); err != nil {
		return "", err
	}
	return clientSecret, nil
}

// MatchRedirectURI reports whether uri, sent in an authorization request,
// is one of the registered redirect URIs. Matching is by exact string
// (RFC 9700 section 4.1.3): no normalisation, no prefixes, so a trailing
// slash or a changed case is a mismatch. The one exception is RFC 8252
// section 7.3: a native app listening on a loopback interface gets an
// ephemeral port from its operating system, so for http URIs on 127.0.0.1,
// [::1] or localhost the port may differ; everything else must still match.
func MatchRedirectURI(registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	want, ok := withoutLoopbackPort(uri)
	if !ok {
		return false
	}
	for _, r := range registered {
		if got, ok := withoutLoopbackPort(r); ok && got == want {
			return true
		}
	}
	return false
}

// withoutLoopbackPort returns an http loopback URI with its port removed.
// It works on the string, not on a parsed URL, so that no parser leniency
// can make a different host compare equal.
func withoutLoopbackPort(raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		return "", false
	}
	host := ""
	for _, h := range []string{"127.0.0.1", "[::1]", "localhost"} {
		if strings.HasPrefix(rest, h) {
			host = h
			break
		}
	}
	if host == "" {
		return "", false
	}
	rest = rest[len(host):]
	if strings.HasPrefix(rest, ":") {
		digits := 0
		for digits+1 < len(rest) && rest[digits+1] >= '0' && rest[digits+1] <= '9' {
			digits++
		}
		if digits == 0 || digits > 5 {
			return "", false
		}
		rest = rest[1+digits:]
	}
	if rest != "" && rest[0] != '/' && rest[0] != '?' {
		return "", false
	}
	return "http://" + host + rest, true
}
