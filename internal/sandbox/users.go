package sandbox

import (
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Me serves GET /v1/users/me (the SDK's users.get_current_user).
func (a *API) Me(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	u, err := a.Users.UserByID(r.Context(), userID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, protocol.User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt.UTC()})
}

// Profile serves GET /v1/users/me/profile.
func (a *API) Profile(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	a.writeProfile(w, r, userID)
}

func (a *API) writeProfile(w http.ResponseWriter, r *http.Request, userID string) {
	u, err := a.Users.UserByID(r.Context(), userID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	p, err := a.Ledger.Profile(r.Context(), userID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, protocol.Profile{
		ID: u.ID, Email: u.Email, DisplayName: p.DisplayName, Phone: p.Phone,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: timeOrNil(p.UpdatedAt),
	})
}

// e164 is an international phone number (ITU-T E.164).
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// UpdateMe serves PATCH /v1/users/me. Its body is protocol.ProfileUpdate:
// a field that is present replaces the stored value, an absent one keeps it
// (RFC 7396 semantics, without null). Email and password are deliberately
// not in it (an unknown field is 400): they are sign-in credentials, and an
// access token must not be able to take over the account that granted it.
func (a *API) UpdateMe(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	var patch protocol.ProfileUpdate
	if !decode(w, r, &patch) {
		return
	}
	p, err := a.Ledger.Profile(r.Context(), userID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if patch.DisplayName != nil {
		name := strings.TrimSpace(*patch.DisplayName)
		if utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, isControl) {
			writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "display_name must be at most 100 printable characters")
			return
		}
		p.DisplayName = name
	}
	if patch.Phone != nil {
		if *patch.Phone != "" && !e164.MatchString(*patch.Phone) {
			writeError(w, http.StatusBadRequest, oauth.InvalidRequest, `phone must be an E.164 number such as "+14155550123", or "" to remove it`)
			return
		}
		p.Phone = *patch.Phone
	}
	p.UpdatedAt = a.now()
	if err := a.Ledger.SaveProfile(r.Context(), ledger.Profile{
		UserID: userID, DisplayName: p.DisplayName, Phone: p.Phone, UpdatedAt: p.UpdatedAt,
	}); err != nil {
		a.storeError(w, r, err)
		return
	}
	a.writeProfile(w, r, userID)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
