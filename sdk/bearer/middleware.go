package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Error codes of RFC 6750 section 3.1, and the one used when the token
// cannot be checked.
const (
	codeInvalidRequest    = "invalid_request"
	codeInvalidToken      = "invalid_token"
	codeInsufficientScope = "insufficient_scope"
	codeUnavailable       = "temporarily_unavailable"
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
			raw, problem := bearerToken(r)
			if problem != "" {
				v.challenge(w, http.StatusBadRequest, codeInvalidRequest, problem, "")
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
					v.challenge(w, http.StatusUnauthorized, codeInvalidToken, bad.Reason, "")
					return
				}
				v.cfg.Logger.ErrorContext(r.Context(), "cannot verify access token", "err", err)
				writeError(w, http.StatusServiceUnavailable, codeUnavailable, "access tokens cannot be verified right now")
				return
			}
			if len(scopes) > 0 && !slices.ContainsFunc(scopes, c.HasScope) {
				what := "the scope " + want
				if len(scopes) > 1 {
					what = "one of the scopes " + want
				}
				v.challenge(w, http.StatusForbidden, codeInsufficientScope, "the access token lacks "+what, want)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
	}
}

// bearerToken returns the token of the Authorization header (RFC 6750
// section 2.1; the scheme is case-insensitive, RFC 9110 section 11.1), ""
// when there is none, or a problem that makes the request malformed.
func bearerToken(r *http.Request) (token, problem string) {
	if strings.Contains(r.URL.RawQuery, "access_token") && r.URL.Query().Has("access_token") {
		return "", "access tokens are accepted only in the Authorization header"
	}
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", ""
	case 1:
	default:
		return "", "more than one Authorization header"
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ""
	}
	token = strings.TrimSpace(rest)
	if token == "" {
		return "", "empty bearer token"
	}
	return token, ""
}

// challenge writes an error with the WWW-Authenticate header of RFC 6750
// section 3. Without a code the challenge is the bare realm, as section 3.1
// asks when the request carried no token.
func (v *Verifier) challenge(w http.ResponseWriter, status int, code, description, scope string) {
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(quotable(v.cfg.Realm))
	b.WriteByte('"')
	if code != "" {
		b.WriteString(`, error="` + code + `", error_description="` + quotable(description) + `"`)
	}
	if scope != "" {
		b.WriteString(`, scope="` + quotable(scope) + `"`)
	}
	w.Header().Set("WWW-Authenticate", b.String())
	if code == "" {
		code = codeInvalidToken
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
