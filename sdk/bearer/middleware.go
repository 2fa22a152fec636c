package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

type contextKey struct{}

// NewContext returns ctx carrying c. Require does this for every accepted
// request; tests of protected handlers can use it to skip the token.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the claims Require put in ctx.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(contextKey{}).(*Claims)
	return c, ok && c != nil
}

// Require returns middleware that serves a request only with a valid access
// token carrying scope (any valid token when scope is ""), presented as
// VerifyRequest requires (a bearer token with the Bearer scheme, a
// DPoP-bound one with the DPoP scheme and a proof), and puts the token's
// claims in the request context. Otherwise it answers, per RFC 6750
// section 3.1 and RFC 9449 section 7.1:
//
//   - 401 with WWW-Authenticate: Bearer realm="aries" and DPoP
//     realm="aries", algs="..." when there is no token;
//   - 400 invalid_request when the token is in the query string (RFC 6750
//     section 2.3 is not supported: URLs end up in logs) or the request has
//     several Authorization headers;
//   - 401 invalid_token when the token fails Verify or is presented with
//     the wrong scheme, 401 invalid_dpop_proof when its proof fails, 401
//     use_dpop_nonce with a DPoP-Nonce header when the proof lacks the
//     nonce the verifier asks for;
//   - 403 insufficient_scope, naming scope, when the token lacks it;
//   - 503 temporarily_unavailable when the JWKS cannot be fetched, the
//     revocation check or the DPoP replay cache fails, so clients do not
//     discard a good token.
//
// Each answer has a JSON body {"error","error_description"}, and the
// challenge carrying the error is the one of the scheme the request used.
// With server nonces, every answer to a DPoP request carries the current
// nonce in DPoP-Nonce (RFC 9449 section 9).
func (v *Verifier) Require(scope string) func(http.Handler) http.Handler {
	if scope == "" {
		return v.RequireAny()
	}
	return v.RequireAny(scope)
}

// RequireAny is Require for a route that any one of several scopes opens
// (any valid token when none is given). The 403 challenge lists them all,
// space-separated, in its scope attribute (RFC 6750 section 3).
func (v *Verifier) RequireAny(scopes ...string) func(http.Handler) http.Handler {
	want := strings.Join(scopes, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if nonce := v.proofs.Nonce(); nonce != "" && len(r.Header.Values(dpop.Header)) > 0 {
				w.Header().Set(dpop.NonceHeader, nonce)
			}
			c, err := v.VerifyRequest(r.Context(), r)
			if err != nil {
				if bad, ok := errors.AsType[*RequestError](err); ok {
					v.Refuse(w, bad, "")
					return
				}
				v.cfg.Logger.ErrorContext(r.Context(), "cannot verify access token", "err", err)
				writeError(w, http.StatusServiceUnavailable, protocol.ErrTemporarilyUnavailable, "access tokens cannot be verified right now")
				return
			}
			if len(scopes) > 0 && !slices.ContainsFunc(scopes, c.HasScope) {
				what := "the scope " + want
				if len(scopes) > 1 {
					what = "one of the scopes " + want
				}
				scheme := SchemeBearer
				if c.Bound() {
					scheme = SchemeDPoP
				}
				v.Refuse(w, &RequestError{Status: http.StatusForbidden, Code: protocol.ErrInsufficientScope,
					Description: "the access token lacks " + what, Scheme: scheme}, want)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
	}
}

// TokenFromRequest returns the bearer token of r's Authorization header
// (RFC 6750 section 2.1), or "" when r carries none (no header, or another
// scheme such as Basic or DPoP). It fails as CredentialsFromRequest does,
// with a description fit for an invalid_request answer (RFC 6750 section
// 3.1), when the request is malformed.
//
// It is for handlers that accept bearer tokens only and check them their
// own way; CredentialsFromRequest also reads the DPoP scheme.
func TokenFromRequest(r *http.Request) (string, error) {
	cred, err := CredentialsFromRequest(r)
	if err != nil || cred.Scheme != SchemeBearer {
		return "", err
	}
	return cred.Token, nil
}

// The malformed requests of TokenFromRequest. Their text is the
// error_description of the 400 answer.
var (
	errTokenInQuery   = errors.New("access tokens are accepted only in the Authorization header")
	errSeveralHeaders = errors.New("more than one Authorization header")
	errEmptyToken     = errors.New("empty access token")
)

// WriteChallenge answers with status, the WWW-Authenticate challenge of RFC
// 6750 section 3 and the same error as the JSON body
// {"error","error_description"}. Without a code the challenge is the bare
// realm, as section 3.1 asks when the request carried no token, and the
// body says invalid_token; scope, when given, names the scopes the
// resource needs. Characters section 3 excludes from the quoted values are
// dropped.
//
// Require answers with it; so does a handler that checks tokens its own way
// (the Aries admin API), so that every refusal of a bearer token reads the
// same.
func WriteChallenge(w http.ResponseWriter, realm string, status int, code, description, scope string) {
	w.Header().Set("WWW-Authenticate", challenge(SchemeBearer, realm, "", code, description, scope))
	if code == "" {
		code = protocol.ErrInvalidToken
	}
	writeError(w, status, code, description)
}

// quotable drops the characters RFC 6750 section 3 excludes from
// error_description and scope values (outside %x20-7E, '"' and '\').
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, description})
}
