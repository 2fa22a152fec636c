package aries

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// Error is an error answer of Aries: from the token endpoint, the first-party
// sign-in endpoints or the API. Retrieve it with errors.As:
//
//	var apiErr *aries.Error
//	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden { ... }
type Error struct {
	StatusCode int         // HTTP status, such as 401, 403 or 429
	Code       string      // the OAuth or API error code, such as invalid_grant or insufficient_scope
	Message    string      // the human-readable description, when the server gave one
	Header     http.Header // the response headers (Retry-After, X-RateLimit-*, WWW-Authenticate)
	Body       []byte      // the raw response body, at most 1 MiB
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "aries: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// RetryAfter is how long the server asked the caller to wait before trying
// again: the Retry-After header (seconds or an HTTP date, RFC 9110 section
// 10.2.3), else the X-RateLimit-Reset header (unix seconds). It is zero when
// the answer names no time.
func (e *Error) RetryAfter() time.Duration {
	d, _ := retryAfter(e.Header, time.Now())
	return d
}

// ErrRefreshTokenRevoked is reported, wrapped together with the server's
// *Error, when the token endpoint refuses the refresh token with
// invalid_grant: it expired, was revoked (sign-out, a disabled client, a
// replay of a rotated token) or was already used. No retry can help; the
// user must sign in again.
var ErrRefreshTokenRevoked = errors.New("aries: the refresh token is no longer valid; the user must sign in again")

// ErrNoToken is reported by calls that need an access token when the client
// has none and cannot get one: it was built without a token or a client
// secret and its store is empty.
var ErrNoToken = errors.New("aries: no access token: sign the user in first")

// ErrTokenExpired is reported when the access token expired and the client
// holds no refresh token or client secret to get another.
var ErrTokenExpired = errors.New("aries: the access token expired and cannot be refreshed")

// retryAfter parses the wait a 429 answer asks for. ok is false when the
// headers name none.
func retryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if unix, err := strconv.ParseInt(v, 10, 64); err == nil && unix > 0 {
			return max(time.Unix(unix, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

// newError reads an error answer: the JSON body of RFC 6749 section 5.2
// when there is one, else the error of an RFC 6750 section 3 (Bearer) or
// RFC 9449 section 7.1 (DPoP) WWW-Authenticate challenge.
func newError(status int, h http.Header, body []byte) *Error {
	e := &Error{StatusCode: status, Header: h, Body: body}
	var b struct {
		protocol.ErrorResponse
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &b) == nil {
		e.Code, e.Message = b.Error, b.ErrorDescription
		if e.Message == "" {
			e.Message = b.Message
		}
	}
	if e.Code == "" {
		e.Code, e.Message = challengeError(h.Values("WWW-Authenticate"), e.Message)
	}
	return e
}

// challengeError extracts error and error_description from the first
// Bearer or DPoP challenge that carries an error, such as `Bearer
// realm="aries", error="invalid_token"`.
func challengeError(challenges []string, message string) (code, description string) {
	for _, c := range challenges {
		code, desc, scheme := parseChallenge(c)
		if code == "" || !(strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, protocol.TokenTypeDPoP)) {
			continue
		}
		if message == "" {
			message = desc
		}
		return code, message
	}
	return "", message
}

// parseChallenge reads one WWW-Authenticate challenge (RFC 9110 section
// 11.6.1): its scheme, and its error and error_description auth-params.
func parseChallenge(challenge string) (code, description, scheme string) {
	scheme, params, _ := strings.Cut(strings.TrimSpace(challenge), " ")
	for params != "" {
		var kv string
		kv, params = cutParam(params)
		k, v, _ := strings.Cut(kv, "=")
		v = strings.Trim(v, `"`)
		switch strings.TrimSpace(k) {
		case "error":
			code = v
		case "error_description":
			description = v
		}
	}
	return code, description, scheme
}

// cutParam returns the first comma-separated auth-param, honouring quotes.
func cutParam(s string) (param, rest string) {
	quoted := false
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		}
	}
	return strings.TrimSpace(s), ""
}

// fromRetrieveError turns an error of golang.org/x/oauth2 into *Error, so a
// caller meets one error type whichever endpoint failed.
func fromRetrieveError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	e := &Error{Code: re.ErrorCode, Message: re.ErrorDescription, Body: re.Body}
	if re.Response != nil {
		e.StatusCode, e.Header = re.Response.StatusCode, re.Response.Header
	}
	if e.Code == "" && e.StatusCode != 0 {
		// x/oauth2 leaves the fields empty when the body is not JSON.
		parsed := newError(e.StatusCode, e.Header, e.Body)
		e.Code, e.Message = parsed.Code, parsed.Message
	}
	return e
}
