package authorize

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/ratelimit"
)

// withLimits gives the handler an in-process authentication limit of n a
// minute.
func withLimits(n int) func(*Handler) {
	return func(h *Handler) {
		h.RateLimit = &ratelimit.Policy{
			Limiter: ratelimit.NewMemory(),
			Limits:  ratelimit.Limits{ratelimit.Authentication: ratelimit.PerMinute(n)},
			Now:     h.Now,
			Logger:  slog.New(slog.DiscardHandler),
		}
	}
}

// signInFor posts the sign-in form with returnTo, as a browser coming back
// to an authorization request would.
func (e *env) signInFor(returnTo, email, pw string) page {
	e.t.Helper()
	p := e.get("/login?" + url.Values{"return_to": {returnTo}}.Encode())
	form := hiddenFields(p.body)
	form.Set("email", email)
	form.Set("password", pw)
	return e.post("/login", form)
}

// Security review finding 1: the TOTP step was limited per client_id of
// return_to, which nothing checks, so a fresh id per cycle bought a fresh
// allowance and the second factor could be brute-forced. Now the wrong
// codes are counted per user across every challenge: 60 cycles of 5 wrong
// codes, each with a new client_id, get at most SecondFactorLimit codes
// checked, and then even the right code is refused.
func TestSecondFactorNotSteeredByReturnTo(t *testing.T) {
	m := newMFAEnv(t, true, withLimits(1000))
	checked := 0
	for cycle := range 60 {
		returnTo := "/oauth2/authorize?" + with(confParams(), "client_id", "aries_ci_random"+strings.Repeat("x", cycle)).Encode()
		p := m.signInFor(returnTo, userEmail, userPassword)
		if p.StatusCode != http.StatusSeeOther {
			t.Fatalf("cycle %d: sign-in status %d, want 303 to the TOTP step", cycle, p.StatusCode)
		}
		for range 5 {
			p := m.answerMFA("code", m.wrongCode())
			switch {
			case strings.Contains(p.body, msgCodeWrong) || strings.Contains(p.body, msgMFATooMany):
				checked++
			case strings.Contains(p.body, "locked after too many wrong codes"):
			default:
				t.Fatalf("cycle %d: status %d, neither a wrong code nor the lock:\n%s", cycle, p.StatusCode, p.body)
			}
			if p.StatusCode == http.StatusUnauthorized && strings.Contains(p.body, msgMFATooMany) {
				break // the challenge is dead: sign in again
			}
		}
		m.clock.Add(30 * time.Second) // an hour over the 60 cycles
	}
	if checked > lockout.SecondFactorLimit {
		t.Errorf("%d wrong codes were checked, want at most %d", checked, lockout.SecondFactorLimit)
	}
	// The right code is refused too, and the page says why.
	m.signIn(userEmail, userPassword)
	p := m.answerMFA("code", m.code(0))
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.body, "locked after too many wrong codes") || m.hasSession() {
		t.Errorf("right code while locked: status %d, session %v; want 403 with the lock message and no session:\n%s", p.StatusCode, m.hasSession(), p.body)
	}
	if p := m.get(mfaPath); !strings.Contains(p.body, "locked after too many wrong codes") || !strings.Contains(p.body, `name="recovery_code"`) {
		t.Errorf("TOTP step while locked: want the lock message and the recovery-code form:\n%s", p.body)
	}
	// A recovery code unlocks and signs in.
	if p := m.answerMFA("recovery_code", m.recovery[0]); p.StatusCode != http.StatusSeeOther || !m.hasSession() {
		t.Fatalf("recovery code while locked: status %d, want 303 and a session", p.StatusCode)
	}
	if p := m.get(securityPath); strings.Contains(p.body, "mfa-locked") {
		t.Errorf("security page after the recovery code still shows the lock")
	}
}

// The account page says the factor is locked and takes a recovery code.
func TestSecurityPageShowsLock(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	m.answerMFA("code", m.code(0))
	for range lockout.SecondFactorLimit {
		m.svc.CheckTOTP(t.Context(), m.user.ID, m.wrongCode())
	}
	p := m.get(securityPath)
	if !strings.Contains(p.body, `id="mfa-locked"`) {
		t.Fatalf("security page: no lock notice:\n%s", p.body)
	}
	p = m.securityForm("unlock", m.recovery[1])
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != securityPath+"?notice=unlocked" {
		t.Fatalf("unlock: status %d, Location %q; want 303 to notice=unlocked", p.StatusCode, p.Header.Get("Location"))
	}
	if locked, _ := m.svc.Locked(t.Context(), m.user.ID); locked {
		t.Error("still locked after the recovery code")
	}
}

// Security review finding 7: failures from a stranger's address locked the
// account everywhere, correct password included. The lock is per account
// and address: the owner, elsewhere, still signs in.
func TestStrangerCannotLockOwnerOut(t *testing.T) {
	e := newEnv(t)
	e.source = "203.0.113.9"
	for range lockout.PasswordThreshold + 3 {
		e.signIn(userEmail, "wrong password!")
	}
	if p := e.signIn(userEmail, userPassword); p.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the stranger's address after %d failures: status %d, want 429", lockout.PasswordThreshold+3, p.StatusCode)
	}
	e.source = "198.51.100.7"
	if p := e.signIn(userEmail, userPassword); p.StatusCode != http.StatusSeeOther {
		t.Errorf("the owner from another address: status %d, want 303:\n%s", p.StatusCode, p.body)
	}
}

// The sign-in form is limited per source address, before the password is
// hashed: no email and no return_to buys a fresh allowance.
func TestSignInLimitedPerSource(t *testing.T) {
	e := newEnv(t, withLimits(3))
	e.source = "203.0.113.9"
	for i := range 3 {
		email := strings.Repeat("z", i+1) + "@example.com"
		if p := e.signInFor("/oauth2/authorize?client_id=random"+email, email, "wrong password!"); p.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, p.StatusCode)
		}
	}
	p := e.signInFor("/oauth2/authorize?client_id=another", "new@example.com", "wrong password!")
	if p.StatusCode != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
		t.Errorf("fourth attempt from the address: status %d, Retry-After %q; want 429 with Retry-After", p.StatusCode, p.Header.Get("Retry-After"))
	}
	e.source = "198.51.100.7"
	if p := e.signIn(userEmail, userPassword); p.StatusCode != http.StatusSeeOther {
		t.Errorf("another address: status %d, want 303", p.StatusCode)
	}
}
