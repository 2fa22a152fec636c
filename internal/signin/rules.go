package signin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
)

// ParseScopes validates a scope parameter for client (RFC 6749 section
// 3.3): every name a known scope or bundle, bundles expanded, each scope
// enabled on the client. It returns canonical names in table order.
func ParseScopes(param string, client store.Client) ([]string, *oauth.Error) {
	if strings.TrimSpace(param) == "" {
		return nil, oauth.Errorf(oauth.InvalidScope, "scope is missing")
	}
	for _, name := range strings.Fields(param) {
		if _, bundle := scope.Bundles[name]; !bundle && !scope.Known(name) {
			return nil, oauth.Errorf(oauth.InvalidScope, "unknown scope: %s", name)
		}
	}
	scopes, err := scope.Parse(param)
	if err != nil {
		return nil, oauth.Errorf(oauth.InvalidScope, "%v", err)
	}
	for _, s := range scopes {
		if !slices.Contains(client.Scopes, s) {
			return nil, oauth.Errorf(oauth.InvalidScope, "scope %s is not enabled for this client", s)
		}
	}
	return scopes, nil
}

// CheckPKCE validates a PKCE challenge (RFC 7636 section 4.3) for client:
// required from public clients and from FAPI 2.0 clients (docs/fapi.md),
// S256 only (a challenge intercepted in the browser must not reveal the
// verifier), 43 base64url characters.
func CheckPKCE(challenge, method string, client store.Client) *oauth.Error {
	switch {
	case challenge == "" && client.Type == store.Public:
		return oauth.Errorf(oauth.InvalidRequest, "public clients must send code_challenge with code_challenge_method=S256")
	case challenge == "" && client.FAPI2():
		return oauth.Errorf(oauth.InvalidRequest, "FAPI 2.0 clients must send code_challenge with code_challenge_method=S256")
	case challenge == "" && method != "":
		return oauth.Errorf(oauth.InvalidRequest, "code_challenge_method was sent without code_challenge")
	case challenge != "" && method != "S256":
		return oauth.Errorf(oauth.InvalidRequest, "code_challenge_method must be S256")
	case challenge != "" && !validChallenge(challenge):
		return oauth.Errorf(oauth.InvalidRequest, "code_challenge must be 43 base64url characters")
	}
	return nil
}

// CheckUser applies the rules that depend on who signed in: the admin scope
// is granted only to administrators.
func CheckUser(scopes []string, u store.User) *oauth.Error {
	if slices.Contains(scopes, scope.Admin) && !u.Admin {
		return oauth.Errorf(oauth.AccessDenied, "the admin scope is granted only to administrators")
	}
	return nil
}

// Owners finds the user who owns a client; any store.UserFinder is one.
type Owners interface {
	UserByID(ctx context.Context, id string) (store.User, error)
}

// CheckClientAdmin applies docs/security.md#admin-is-never-self-granted
// to the client: the admin scope is granted only through a
// client an administrator vouches for. That is a client
//   - made by the operator with the CLI (OwnerID ""): whoever runs the
//     command line holds the database, so counts as an administrator;
//   - owned by a user who is an administrator now (a revoked admin flag
//     stops it);
//   - marked first-party, which only an administrator can do (package
//     registry).
//
// A developer's own app never is, even when an administrator enabled admin
// on it: one administrator signing in to it would hand its developer the
// admin API. The refusal is invalid_scope (RFC 6749 section 4.1.2.1: the
// requested scope is invalid for this client), whoever signed in; any other
// error is the store's.
func CheckClientAdmin(ctx context.Context, owners Owners, scopes []string, client store.Client) error {
	if !slices.Contains(scopes, scope.Admin) || client.OwnerID == "" || client.FirstParty {
		return nil
	}
	owner, err := owners.UserByID(ctx, client.OwnerID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("signin: owner of client %s: %w", client.ID, err)
	case owner.Admin:
		return nil
	}
	return oauth.Errorf(oauth.InvalidScope, "the admin scope is granted only to clients an administrator owns or marked first-party")
}

// DefaultScope is the scope of a browser authorization request that names
// none: the client's enabled scopes except admin. RFC 6749 section 3.3 lets
// the server apply a pre-defined default, and the SDK documentation's PKCE
// example asks for none (docs/scopes.md#default-scope). Admin is never
// granted by default; it must be asked for by name. "" when the client has
// nothing else enabled.
func DefaultScope(client store.Client) string {
	var def []string
	for _, s := range client.Scopes {
		if s != scope.Admin {
			def = append(def, s)
		}
	}
	return strings.Join(def, " ")
}

// validChallenge reports whether c looks like an S256 challenge: the
// unpadded base64url encoding of 32 bytes (RFC 7636 section 4.2).
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}
