// Package oauth holds the protocol vocabulary shared by every endpoint: the
// error type of RFC 6749 section 5.2 and its single JSON writer.
package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// Error codes of RFC 6749, RFC 6750, RFC 7009, OpenID Connect Core 1.0
// section 3.1.2.6 and the Aries additions. They are the constants of
// sdk/protocol, the one list the server and the SDK share, under the names
// the server's handlers use.
const (
	InvalidRequest            = protocol.ErrInvalidRequest
	InvalidClient             = protocol.ErrInvalidClient
	InvalidGrant              = protocol.ErrInvalidGrant
	UnauthorizedClient        = protocol.ErrUnauthorizedClient
	UnsupportedGrantType      = protocol.ErrUnsupportedGrantType
	UnsupportedResponseType   = protocol.ErrUnsupportedResponseType
	UnsupportedTokenType      = protocol.ErrUnsupportedTokenType
	InvalidScope              = protocol.ErrInvalidScope
	AccessDenied              = protocol.ErrAccessDenied
	ServerError               = protocol.ErrServerError
	TemporarilyUnavailable    = protocol.ErrTemporarilyUnavailable
	InvalidToken              = protocol.ErrInvalidToken
	InsufficientScope         = protocol.ErrInsufficientScope
	LoginRequired             = protocol.ErrLoginRequired
	ConsentRequired           = protocol.ErrConsentRequired
	InteractionRequired       = protocol.ErrInteractionRequired
	RedirectURIMismatch       = protocol.ErrRedirectURIMismatch
	InsufficientAuthorization = protocol.ErrInsufficientAuthorization
	InvalidMFACode            = protocol.ErrInvalidMFACode
	RateLimited               = protocol.ErrRateLimited
	NotFound                  = protocol.ErrNotFound
	InvalidRequestURI         = protocol.ErrInvalidRequestURI
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
