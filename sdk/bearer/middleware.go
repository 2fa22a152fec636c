package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

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
// token carrying scope (any valid token when scope is ""), and puts the
// token's claims in the request context. Otherwise it answers, per RFC 6750
// section 3.1:
//
//   - 401 with WWW-Authenticate: Bearer realm="aries" when there is no
//     bearer token;
//   - 400 invalid_request when the token is in the query string (RFC 6750
//     section 2.3 is not supported: URLs end up in logs) or the request has
//     several Authorization headers;
//   - 401 invalid_token when the token fails Verify;
//   - 403 insufficient_scope, naming scope, when the token lacks it;
//   - 503 temporarily_unavailable when the JWKS cannot be fetched or the
//     revocation check fails, so clients do not discard a good token.
//
// Each answer has a JSON body {"error","error_description"}.
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
			raw, err := TokenFromRequest(r)
			if err != nil {
				v.challenge(w, http.StatusBadRequest, protocol.ErrInvalidRequest, err.Error(), "")
				return
			}
			if raw == "" {
				v.challenge(w, http.StatusUnauthorized, "", "no bearer access token in the Authorization header", "")
				return
			}
			c, err := v.Verify(r.Context(), raw)
			if err != nil {
				var bad *InvalidTokenError
				if errors.As(err, &bad) {
					v.challenge(w, http.StatusUnauthorized, protocol.ErrInvalidToken, bad.Reason, "")
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
				v.challenge(w, http.StatusForbidden, protocol.ErrInsufficientScope, "the access token lacks "+what, want)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
	}
}

// TokenFromRequest returns the access token of r's Authorization header
// (RFC 6750 section 2.1; the scheme is case-insensitive, RFC 9110 section
// 11.1), or "" when r carries none (no header, or another scheme such as
// Basic). It fails, with a description fit for an invalid_request answer
// (RFC 6750 section 3.1), when the request is malformed: the token is in
// the query string (section 2.3 is not supported: URLs end up in logs), or
// there are several Authorization headers, or the bearer token is empty.
//
// It is the one place Aries reads a bearer token: Require uses it, and so
// does any handler that checks tokens its own way.
func TokenFromRequest(r *http.Request) (string, error) {
	if strings.Contains(r.URL.RawQuery, "access_token") && r.URL.Query().Has("access_token") {
		return "", errTokenInQuery
	}
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errSeveralHeaders
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	token := strings.TrimSpace(rest)
	if token == "" {
		return "", errEmptyToken
	}
	return token, nil
}

// The malformed requests of TokenFromRequest. Their text is the
// error_description of the 400 answer.
var (
	errTokenInQuery   = errors.New("access tokens are accepted only in the Authorization header")
	errSeveralHeaders = errors.New("more than one Authorization header")
	errEmptyToken     = errors.New("empty bearer token")
)

// challenge writes an RFC 6750 section 3 error under the verifier's realm.
func (v *Verifier) challenge(w http.ResponseWriter, status int, code, description, scope string) {
	WriteChallenge(w, v.cfg.Realm, status, code, description, scope)
}

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
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(quotable(realm))
	b.WriteByte('"')
	if code != "" {
		b.WriteString(`, error="` + code + `", error_description="` + quotable(description) + `"`)
	}
	if scope != "" {
		b.WriteString(`, scope="` + quotable(scope) + `"`)
	}
	w.Header().Set("WWW-Authenticate", b.String())
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
