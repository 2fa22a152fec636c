// Package oauth holds the protocol vocabulary shared by every endpoint: the
// error type of RFC 6749 section 5.2 and its single JSON writer.
package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error codes of RFC 6749, RFC 6750, RFC 7009 and the Aries additions.
const (
	InvalidRequest            = "invalid_request"
	InvalidClient             = "invalid_client"
	InvalidGrant              = "invalid_grant"
	UnauthorizedClient        = "unauthorized_client"
	UnsupportedGrantType      = "unsupported_grant_type"
	UnsupportedResponseType   = "unsupported_response_type"
	UnsupportedTokenType      = "unsupported_token_type"
	InvalidScope              = "invalid_scope"
	AccessDenied              = "access_denied"
	ServerError               = "server_error"
	TemporarilyUnavailable    = "temporarily_unavailable"
	LoginRequired             = "login_required"
	ConsentRequired           = "consent_required"
	RedirectURIMismatch       = "redirect_uri_mismatch"
	InsufficientAuthorization = "insufficient_authorization"
	InvalidMFACode            = "invalid_mfa_code"
	RateLimited               = "rate_limited"
)

// Error is a protocol error as the caller sees it. Handlers return it; Write
// renders it. Anything else a handler fails with becomes server_error.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Status      int    `json:"-"`
	// BasicChallenge adds WWW-Authenticate: Basic to a 401 when the client
	// tried HTTP Basic authentication (RFC 6749 section 5.2).
	BasicChallenge bool `json:"-"`
}

func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Errorf builds a 400 error with a formatted description.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// ClientError is the 401 invalid_client of RFC 6749 section 5.2.
func ClientError(description string, basic bool) *Error {
	return &Error{Code: InvalidClient, Description: description, Status: http.StatusUnauthorized, BasicChallenge: basic}
}

// Write renders e as the JSON error body. Protocol responses are never cached.
func Write(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if e.BasicChallenge {
		h.Set("WWW-Authenticate", `Basic realm="aries", charset="UTF-8"`)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusServiceUnavailable && e.Code == ServerError && h.Get("Retry-After") == "" {
		// A 503 server_error means the store is briefly unreachable: tell
		// the client when to retry (RFC 9110 section 10.2.3).
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

// WriteJSON renders a successful protocol response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
