package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// DefaultStartingCash is the cash of a new paper account: $100,000.00.
const DefaultStartingCash = 100_000_00

// maxBody bounds every request body.
const maxBody = 64 << 10

// API serves the sandbox routes. Its handlers are mounted by package api,
// behind token verification: each expects bearer claims in the request
// context.
type API struct {
	Users        store.UserFinder
	Ledger       ledger.Store
	StartingCash int64 // cents; 0 means DefaultStartingCash
	Now          func() time.Time
	Logger       *slog.Logger
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// user returns the calling user's id. A token that acts for no user (a
// client_credentials token) is refused with 403: every sandbox route is
// about a user's own data.
func (a *API) user(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, ok := bearer.FromContext(r.Context())
	if !ok {
		// Only a mounting mistake gets here; fail closed.
		a.fail(w, r, errors.New("sandbox: handler reached without verified claims"))
		return "", false
	}
	id := c.UserID()
	if id == "" {
		writeError(w, http.StatusForbidden, protocol.ErrUserRequired,
			"this endpoint acts for a user; a token a client obtained for itself (client_credentials) has none")
		return "", false
	}
	return id, true
}

// account opens (on first use) and returns the user's paper account. The
// common case, an account that exists, is a read and takes no write lock.
func (a *API) account(r *http.Request, userID string) (ledger.Account, error) {
	accounts, err := a.Ledger.Accounts(r.Context(), userID)
	if err != nil {
		return ledger.Account{}, err
	}
	if len(accounts) > 0 {
		return accounts[0], nil
	}
	cash := a.StartingCash
	if cash == 0 {
		cash = DefaultStartingCash
	}
	return a.Ledger.OpenAccount(r.Context(), ledger.Account{
		ID: secret.ID("acc_"), UserID: userID, Currency: "USD", Cash: cash, CreatedAt: a.now(),
	})
}

// ownAccount returns the user's account named by the {id} path value, or
// writes 404.
func (a *API) ownAccount(w http.ResponseWriter, r *http.Request, userID string) (ledger.Account, bool) {
	if !knownID(w, r, a, r.PathValue("id")) {
		return ledger.Account{}, false
	}
	acc, err := a.Ledger.Account(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		a.storeError(w, r, err)
		return ledger.Account{}, false
	}
	return acc, true
}

// storeError answers the store's sentinel errors with their meaning to the
// caller, and everything else with 500.
func (a *API) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, protocol.ErrNotFound, "no such account or order")
	case errors.Is(err, ledger.ErrInsufficientFunds):
		writeError(w, http.StatusUnprocessableEntity, protocol.ErrInsufficientFunds, "the account's cash does not cover this")
	case errors.Is(err, ledger.ErrInsufficientShares):
		writeError(w, http.StatusUnprocessableEntity, protocol.ErrInsufficientShares, "the account does not hold the shares this sells")
	case errors.Is(err, ledger.ErrOrderNotOpen):
		writeError(w, http.StatusConflict, protocol.ErrOrderNotOpen, "the order is filled or cancelled and can no longer change")
	default:
		a.fail(w, r, err)
	}
}

// fail logs an unexpected error (the store is unreachable) and answers 503,
// with Retry-After, without its details.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.logger().ErrorContext(r.Context(), "sandbox request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusServiceUnavailable, oauth.ServerError, "the request could not be completed; try again")
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	oauth.Write(w, &oauth.Error{Code: code, Description: description, Status: status})
}

// writeJSON writes a success. Everything here is private to one user, so
// nothing may be cached by a shared cache.
func writeJSON(w http.ResponseWriter, status int, v any) {
	oauth.WriteJSON(w, status, v)
}

// decode reads a JSON request body of at most maxBody bytes into v,
// refusing unknown fields and trailing data. It writes the 400 or 413 and
// returns false when the body is unacceptable.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, oauth.InvalidRequest, "the request body must be application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, oauth.InvalidRequest, "the request body is larger than 64 KiB")
			return false
		}
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "the request body could not be read")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "malformed JSON body: "+describeJSONError(err))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "the request body must hold one JSON object")
		return false
	}
	return true
}

// describeJSONError names the field at fault.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Sprintf("field %q has the wrong type", typeErr.Field)
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return "invalid JSON"
	}
	// Unknown fields: encoding/json says `json: unknown field "x"`.
	return err.Error()
}

// timeOrNil renders a zero time as JSON null.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// knownID answers 404 for an id no row can have (a NUL byte, invalid UTF-8,
// over-long) before the store sees it: PostgreSQL would fail on it with an
// error that reads as an outage. It reports whether the id may be looked up.
func knownID(w http.ResponseWriter, r *http.Request, a *API, id string) bool {
	if oauth.ValidIdentifier(id) {
		return true
	}
	a.storeError(w, r, store.ErrNotFound)
	return false
}
