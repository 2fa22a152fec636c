package registry

import (
	"fmt"

	"github.com/ariesexchange/aries/internal/store"
)

// ID token algorithms a client may register (OpenID Connect Dynamic Client
// Registration 1.0 section 2, id_token_signed_response_alg): RS256, the
// default every relying party can verify (Core 1.0 section 15.1), or ES256.
const (
	IDTokenRS256 = "RS256"
	IDTokenES256 = "ES256"
)

// validateOIDC checks the OpenID Connect settings of s: post-logout
// redirect URIs follow the rules of redirect URIs (exact strings, https,
// loopback http or a private-use scheme, no fragment), since RP-initiated
// logout sends the browser to them as the authorization endpoint does to
// redirect URIs.
func (s Spec) validateOIDC() []error {
	var errs []error
	if len(s.PostLogoutRedirectURIs) > MaxRedirectURIs {
		errs = append(errs, fmt.Errorf("register at most %d post-logout redirect URIs", MaxRedirectURIs))
	}
	for _, u := range s.PostLogoutRedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			errs = append(errs, fmt.Errorf("post-logout %w", err))
		}
	}
	switch s.IDTokenAlg {
	case "", IDTokenRS256, IDTokenES256:
	default:
		errs = append(errs, fmt.Errorf("the ID token algorithm (id_token_signed_response_alg) must be RS256 or ES256, not %q", s.IDTokenAlg))
	}
	return errs
}

// idTokenAlg is the algorithm to store: RS256 unless ES256 was asked for.
func (s Spec) idTokenAlg() string {
	if s.IDTokenAlg == "" {
		return IDTokenRS256
	}
	return s.IDTokenAlg
}

// idtokenAlg is the algorithm of a stored client's ID tokens, "" read as
// the default.
func idtokenAlg(c store.Client) string {
	if c.IDTokenSignedResponseAlg == "" {
		return IDTokenRS256
	}
	return c.IDTokenSignedResponseAlg
}
