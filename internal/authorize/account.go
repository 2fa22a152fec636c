package authorize

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
)

const securityPath = "/account/security"

// qrSize is the side of the enrollment QR code in pixels.
const qrSize = 200

// securityNotices are the messages a redirect to the page may ask for
// with ?notice=; anything else shows nothing.
var securityNotices = map[string]string{
	"off":      "Two-step verification is off.",
	"unlocked": "Two-step verification is unlocked. That recovery code is now used up.",
}

// securityPage serves GET /account/security: whether MFA is on, and the
// form that turns it on or off.
func (h *Handler) securityPage(w http.ResponseWriter, r *http.Request) {
	_, u, ok, err := h.currentSession(r)
	if err != nil {
		h.serverError(w, r, "session", err)
		return
	}
	if !ok {
		h.redirect(w, r, "/login?"+url.Values{"return_to": {securityPath}}.Encode())
		return
	}
	h.showSecurity(w, r, http.StatusOK, u, web.SecurityPage{Notice: securityNotices[r.URL.Query().Get("notice")]})
}

// security serves POST /account/security. action is "start" (a new
// pending secret and its QR code), "confirm" (its first code turns MFA on
// and shows the recovery codes once), "remove" (a current code turns MFA
// off) or "unlock" (a recovery code lifts a second-factor lock).
func (h *Handler) security(w http.ResponseWriter, r *http.Request) {
	if !h.csrf.Valid(r) {
		web.RenderForbidden(w)
		return
	}
	ctx := r.Context()
	sess, u, ok, err := h.currentSession(r)
	if err != nil {
		h.serverError(w, r, "session", err)
		return
	}
	if !ok {
		h.redirect(w, r, "/login?"+url.Values{"return_to": {securityPath}}.Encode())
		return
	}
	if h.MFA == nil {
		web.RenderError(w, http.StatusNotFound, web.ErrorPage{Title: "Not available", Description: "Two-step verification is not available on this server."})
		return
	}

	action := r.PostFormValue("action")
	code := r.PostFormValue("code")
	if action == "confirm" || action == "remove" || action == "unlock" {
		if ok, msg := h.allow(w, r, "user:"+u.ID); !ok {
			h.showAfterCode(w, r, http.StatusTooManyRequests, u, action, msg)
			return
		}
		if strings.TrimSpace(code) == "" {
			h.showAfterCode(w, r, http.StatusBadRequest, u, action, msgCodeMissing)
			return
		}
	}

	switch action {
	case "start":
		enr, err := h.MFA.Begin(ctx, u)
		if errors.Is(err, mfa.ErrEnabled) {
			h.redirect(w, r, securityPath)
			return
		}
		if err != nil {
			h.serverError(w, r, "begin mfa", err)
			return
		}
		h.showSetup(w, r, http.StatusOK, u, enr, "")
	case "confirm":
		codes, err := h.MFA.Confirm(ctx, u, code)
		switch {
		case errors.Is(err, mfa.ErrInvalidCode):
			h.showAfterCode(w, r, http.StatusBadRequest, u, action, msgCodeWrong)
			return
		case errors.Is(err, mfa.ErrEnabled), errors.Is(err, mfa.ErrNotEnabled):
			h.redirect(w, r, securityPath)
			return
		case err != nil:
			h.serverError(w, r, "confirm mfa", err)
			return
		}
		h.Logger.InfoContext(ctx, "mfa enabled", "user", u.ID)
		// The code just entered is a second factor: without this, the next
		// step-up would ask for another one within the same half minute,
		// and the replay guard would refuse it.
		if err := h.elevateSession(w, r, sess); err != nil {
			h.serverError(w, r, "elevate session", err)
			return
		}
		h.showSecurity(w, r, http.StatusOK, u, web.SecurityPage{Enabled: true, RecoveryCodes: codes})
	case "remove":
		err := h.MFA.Remove(ctx, u.ID, code)
		switch {
		case errors.Is(err, mfa.ErrLocked):
			h.secondFactorFailed(r, u.ID, err)
			h.showAfterCode(w, r, http.StatusForbidden, u, action, msgLocked)
			return
		case errors.Is(err, mfa.ErrInvalidCode):
			h.secondFactorFailed(r, u.ID, err)
			h.showAfterCode(w, r, http.StatusBadRequest, u, action, msgCodeWrong)
			return
		case errors.Is(err, mfa.ErrNotEnabled):
			h.redirect(w, r, securityPath)
			return
		case err != nil:
			h.serverError(w, r, "remove mfa", err)
			return
		}
		h.Logger.InfoContext(ctx, "mfa removed", "user", u.ID)
		h.redirect(w, r, securityPath+"?notice=off")
	case "unlock":
		err := h.MFA.UseRecoveryCode(ctx, u.ID, code)
		switch {
		case errors.Is(err, mfa.ErrInvalidCode):
			h.secondFactorFailed(r, u.ID, err)
			h.showAfterCode(w, r, http.StatusBadRequest, u, action, msgCodeWrong)
			return
		case err != nil:
			h.serverError(w, r, "unlock mfa", err)
			return
		}
		h.Logger.WarnContext(ctx, "second factor unlocked with a recovery code", "user", u.ID, "source", ratelimit.RemoteIP(r))
		h.redirect(w, r, securityPath+"?notice=unlocked")
	default:
		web.RenderError(w, http.StatusBadRequest, web.ErrorPage{Title: "Unknown action", Description: "Go back to the security page and try again."})
	}
}

// showAfterCode shows the form a code was entered in again, with msg: the
// setup (same secret) after "confirm", the status after "remove".
func (h *Handler) showAfterCode(w http.ResponseWriter, r *http.Request, status int, u store.User, action, msg string) {
	if action == "confirm" {
		enr, err := h.MFA.Pending(r.Context(), u)
		if err == nil {
			h.showSetup(w, r, status, u, enr, msg)
			return
		}
		if !errors.Is(err, mfa.ErrEnabled) && !errors.Is(err, mfa.ErrNotEnabled) {
			h.serverError(w, r, "pending mfa", err)
			return
		}
	}
	h.showSecurity(w, r, status, u, web.SecurityPage{Error: msg})
}

func (h *Handler) showSetup(w http.ResponseWriter, r *http.Request, status int, u store.User, enr mfa.Enrollment, msg string) {
	png, err := enr.QRCode(qrSize)
	if err != nil {
		h.serverError(w, r, "qr code", err)
		return
	}
	h.showSecurity(w, r, status, u, web.SecurityPage{
		Setup: &web.MFASetup{
			// Built here from PNG bytes, so it is safe to mark as a URL.
			QRCode: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
			Secret: groups(enr.Secret, 4),
		},
		Error: msg,
	})
}

// showSecurity renders the page for u; p's frame and status fields are
// filled in here.
func (h *Handler) showSecurity(w http.ResponseWriter, r *http.Request, status int, u store.User, p web.SecurityPage) {
	p.CSRFToken, p.Email, p.Admin, p.Section = h.csrf.Token(w, r), u.Email, u.Admin, "security"
	if h.MFA != nil && p.Setup == nil && p.RecoveryCodes == nil {
		on, err := h.MFA.Enabled(r.Context(), u.ID)
		if err != nil {
			h.serverError(w, r, "mfa enabled", err)
			return
		}
		p.Enabled = on
		if on {
			if p.RecoveryLeft, err = h.MFA.RecoveryCodesLeft(r.Context(), u.ID); err != nil {
				h.serverError(w, r, "recovery codes left", err)
				return
			}
			if p.Locked, err = h.MFA.Locked(r.Context(), u.ID); err != nil {
				h.serverError(w, r, "mfa locked", err)
				return
			}
		}
	}
	web.Render(w, status, web.PageAccountSecurity, p)
}

// groups splits s into space-separated groups of n, for reading aloud and
// typing; authenticator apps ignore the spaces.
func groups(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+n, len(s))])
	}
	return b.String()
}
