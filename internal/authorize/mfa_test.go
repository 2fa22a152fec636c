package authorize

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/sqlite"
)

// stepUpScopes is the step-up rule of the tests: trading needs a second
// factor no older than stepUpAge.
const stepUpAge = 15 * time.Minute

var stepUp = mfa.StepUp{Scopes: []string{"order:execution", "funds:withdrawal"}, MaxAge: stepUpAge}

// mfaEnv is an env whose handler checks second factors, and whose user
// has TOTP on when enrolled is true.
type mfaEnv struct {
	*env
	svc      *mfa.Service
	secret   string   // the user's TOTP secret
	recovery []string // the user's recovery codes
}

func newMFAEnv(t *testing.T, enrolled bool, opts ...func(*Handler)) *mfaEnv {
	t.Helper()
	m := &mfaEnv{}
	withMFA := func(h *Handler) {
		svc, err := mfa.New(h.Store.(*sqlite.Store), h.Hasher, bytes.Repeat([]byte{9}, mfa.KeySize), h.Now)
		if err != nil {
			t.Fatal(err)
		}
		h.MFA, h.StepUp, m.svc = svc, stepUp, svc
	}
	m.env = newEnv(t, append([]func(*Handler){withMFA}, opts...)...)
	// Mid-step, so codes of neighbouring steps are a whole step away.
	m.clock.Add(15 * time.Second)
	if enrolled {
		enr, codes, err := m.svc.Enroll(context.Background(), m.user)
		if err != nil {
			t.Fatal(err)
		}
		m.secret, m.recovery = enr.Secret, codes
	}
	return m
}

// code is what the user's authenticator app shows now, or offset steps on.
func (m *mfaEnv) code(offset int) string {
	m.t.Helper()
	c, err := totp.GenerateCode(m.secret, m.clock.Now().Add(time.Duration(offset)*mfa.Period))
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

// wrongCode is a well-formed code that matches no step near now.
func (m *mfaEnv) wrongCode() string {
	near := map[string]bool{}
	for d := -3; d <= 3; d++ {
		near[m.code(d)] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", i); !near[c] {
			return c
		}
	}
}

// answerMFA sends the TOTP step's form with field set to value.
func (m *mfaEnv) answerMFA(field, value string) page {
	m.t.Helper()
	p := m.get(mfaPath)
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `action="/login/mfa"`) {
		m.t.Fatalf("GET %s: status %d, want the code form:\n%s", mfaPath, p.StatusCode, p.body)
	}
	return m.post(mfaPath, url.Values{"csrf_token": {hiddenFields(p.body).Get("csrf_token")}, field: {value}})
}

// sessionOf returns the browser's current session from the store.
func (m *mfaEnv) sessionOf() store.Session {
	m.t.Helper()
	for _, c := range m.client.Jar.Cookies(mustURL(m.srv.URL)) {
		if c.Name == sessionCookie {
			s, err := m.store.Session(context.Background(), m.h.Hasher.Hash(c.Value), m.clock.Now())
			if err != nil {
				m.t.Fatalf("session of the cookie: %v", err)
			}
			return s
		}
	}
	m.t.Fatal("the browser has no session cookie")
	return store.Session{}
}

func (m *mfaEnv) hasSession() bool {
	for _, c := range m.client.Jar.Cookies(mustURL(m.srv.URL)) {
		if c.Name == sessionCookie {
			_, err := m.store.Session(context.Background(), m.h.Hasher.Hash(c.Value), m.clock.Now())
			return err == nil
		}
	}
	return false
}

// redeemAMR redeems a code and returns the AMR it carries.
func (m *mfaEnv) redeemAMR(code string) []string {
	m.t.Helper()
	ac, err := m.store.RedeemAuthCode(context.Background(), m.h.Hasher.Hash(code), store.RefreshToken{Hash: "rt_" + code}, m.clock.Now())
	if err != nil {
		m.t.Fatalf("RedeemAuthCode: %v", err)
	}
	return ac.AMR
}

func TestMFASignIn(t *testing.T) {
	m := newMFAEnv(t, true)
	p := m.submitSignIn(m.authorize(confParams()), userEmail, userPassword)
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != mfaPath {
		t.Fatalf("sign-in of an MFA user: status %d, Location %q; want 303 to %s", p.StatusCode, p.Header.Get("Location"), mfaPath)
	}
	if m.hasSession() {
		t.Fatal("a session exists after the password alone")
	}
	page := m.get(mfaPath)
	if !strings.Contains(page.body, `name="code"`) || !strings.Contains(page.body, confName) || !strings.Contains(page.body, "method=recovery") {
		t.Errorf("TOTP page: want the code field, the client's name and the recovery link:\n%s", page.body)
	}
	checkSecurityHeaders(t, "TOTP page", page)

	p = m.answerMFA("code", m.wrongCode())
	if p.StatusCode != http.StatusUnauthorized || !strings.Contains(p.body, msgCodeWrong) || !strings.Contains(p.body, "4 tries left") {
		t.Errorf("wrong code: status %d, want 401 with %q and 4 tries left:\n%s", p.StatusCode, msgCodeWrong, p.body)
	}
	if m.hasSession() {
		t.Fatal("a session exists after a wrong code")
	}

	p = m.answerMFA("code", m.code(0))
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: status %d, want 303:\n%s", p.StatusCode, p.body)
	}
	if loc := p.location(); loc == nil || loc.Path != authorizePath {
		t.Fatalf("right code: Location %q, want back to the authorization", p.Header.Get("Location"))
	}
	sess := m.sessionOf()
	if !slices.Equal(sess.AMR, []string{"pwd", "otp"}) || !sess.OTPTime.Equal(m.clock.Now()) {
		t.Errorf("session AMR %v, OTPTime %v; want [pwd otp] and now", sess.AMR, sess.OTPTime)
	}
	p = m.decide(m.follow(p), "approve")
	code := p.location().Query().Get("code")
	if amr := m.redeemAMR(code); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Errorf("code AMR %v, want [pwd otp]", amr)
	}
	// The challenge is spent.
	if p := m.get(mfaPath); p.StatusCode != http.StatusFound || p.Header.Get("Location") != "/login" {
		t.Errorf("TOTP page after success: status %d, Location %q; want 302 to /login", p.StatusCode, p.Header.Get("Location"))
	}
}

func TestMFARecoveryCode(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	p := m.get(mfaPath + "?method=recovery")
	if !strings.Contains(p.body, `name="recovery_code"`) {
		t.Fatalf("recovery page: no recovery_code field:\n%s", p.body)
	}
	p = m.post(mfaPath, url.Values{"csrf_token": {hiddenFields(p.body).Get("csrf_token")}, "recovery_code": {m.recovery[0]}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: status %d, want 303:\n%s", p.StatusCode, p.body)
	}
	if sess := m.sessionOf(); !slices.Equal(sess.AMR, []string{"pwd", "otp"}) {
		t.Errorf("session AMR after a recovery code: %v, want [pwd otp]", sess.AMR)
	}

	// The same code a second time, in a fresh sign-in, is refused.
	m.post("/logout", url.Values{"csrf_token": {hiddenFields(m.get("/login").body).Get("csrf_token")}})
	m.signIn(userEmail, userPassword)
	p = m.answerMFA("recovery_code", m.recovery[0])
	if p.StatusCode != http.StatusUnauthorized || !strings.Contains(p.body, msgCodeWrong) {
		t.Errorf("recovery code reused: status %d, want 401 with %q", p.StatusCode, msgCodeWrong)
	}
	if p := m.answerMFA("recovery_code", m.recovery[1]); p.StatusCode != http.StatusSeeOther {
		t.Errorf("another recovery code: status %d, want 303", p.StatusCode)
	}
}

func TestMFATooManyWrongCodes(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	var p page
	for range mfa.MaxAttempts {
		p = m.answerMFA("code", m.wrongCode())
	}
	if p.StatusCode != http.StatusUnauthorized || !strings.Contains(p.body, msgMFATooMany) || !strings.Contains(p.body, `action="/login"`) {
		t.Errorf("fifth wrong code: status %d, want the sign-in page with %q:\n%s", p.StatusCode, msgMFATooMany, p.body)
	}
	if m.hasSession() {
		t.Error("a session exists after five wrong codes")
	}
	// The right code now comes too late.
	p = m.post(mfaPath, url.Values{"csrf_token": {hiddenFields(p.body).Get("csrf_token")}, "code": {m.code(0)}})
	if p.StatusCode != http.StatusUnauthorized || !strings.Contains(p.body, msgMFAExpired) || m.hasSession() {
		t.Errorf("right code after five wrong ones: status %d, want the sign-in page with %q and no session", p.StatusCode, msgMFAExpired)
	}
}

func TestMFAStepExpires(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	form := url.Values{"csrf_token": {hiddenFields(m.get(mfaPath).body).Get("csrf_token")}}
	m.clock.Add(mfa.ChallengeTTL)
	form.Set("code", m.code(0))
	p := m.post(mfaPath, form)
	if p.StatusCode != http.StatusUnauthorized || !strings.Contains(p.body, msgMFAExpired) || m.hasSession() {
		t.Errorf("code after 5 minutes: status %d, want the sign-in page with %q and no session", p.StatusCode, msgMFAExpired)
	}
}

func TestMFAStepCSRF(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	m.get(mfaPath)
	p := m.post(mfaPath, url.Values{"code": {m.code(0)}})
	if p.StatusCode != http.StatusForbidden || m.hasSession() {
		t.Errorf("code without the CSRF token: status %d, want 403 and no session", p.StatusCode)
	}
	// The refused post did not spend the code.
	if p := m.answerMFA("code", m.code(0)); p.StatusCode != http.StatusSeeOther {
		t.Errorf("the same code with the token: status %d, want 303", p.StatusCode)
	}
}

func TestUserWithoutMFASignsInDirectly(t *testing.T) {
	m := newMFAEnv(t, false)
	p := m.signIn(userEmail, userPassword)
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") == mfaPath {
		t.Fatalf("sign-in without MFA: status %d, Location %q; want 303 past the TOTP step", p.StatusCode, p.Header.Get("Location"))
	}
	if sess := m.sessionOf(); !slices.Equal(sess.AMR, []string{"pwd"}) || !sess.OTPTime.IsZero() {
		t.Errorf("session AMR %v, OTPTime %v; want [pwd] and none", sess.AMR, sess.OTPTime)
	}
}

func TestStepUpRefusedWithoutMFA(t *testing.T) {
	m := newMFAEnv(t, false)
	m.signIn(userEmail, userPassword)
	p := m.authorize(confParams()) // asks for trade
	loc := p.location()
	if p.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("step-up scope without MFA: status %d, Location %q; want a redirect with error=access_denied", p.StatusCode, p.Header.Get("Location"))
	}
	desc := loc.Query().Get("error_description")
	if !strings.Contains(desc, "order:execution") || !strings.Contains(desc, m.srv.URL+"/account/security") {
		t.Errorf("error_description %q: want the scope and the page that turns MFA on", desc)
	}
	if loc.Query().Get("state") != "st-123" {
		t.Errorf("state %q, want st-123", loc.Query().Get("state"))
	}
	// Other scopes are unaffected.
	if p := m.authorize(with(confParams(), "scope", "account:information")); p.StatusCode != http.StatusOK {
		t.Errorf("other scopes: status %d, want the consent page", p.StatusCode)
	}
}

func TestStepUpInsideAnOldSession(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	m.answerMFA("code", m.code(0))
	// Fresh second factor: trading is approved without another code.
	res := m.completeFlowSignedIn(confParams())
	if res.code == "" {
		t.Fatal("no code with a fresh second factor")
	}

	m.clock.Add(stepUpAge + time.Minute)
	if p := m.authorize(with(confParams(), "scope", "account:information")); p.StatusCode != http.StatusFound || p.location().Query().Get("code") == "" {
		t.Errorf("remembered non-trading scope in an old session: status %d, want a code without a TOTP step", p.StatusCode)
	}
	old := m.sessionOf()
	p := m.authorize(confParams())
	if p.StatusCode != http.StatusFound || p.Header.Get("Location") != mfaPath {
		t.Fatalf("trading in an old session: status %d, Location %q; want the TOTP step", p.StatusCode, p.Header.Get("Location"))
	}
	if step := m.get(mfaPath); !strings.Contains(step.body, "needs a fresh code") {
		t.Errorf("step-up page does not say why it asks:\n%s", step.body)
	}
	p = m.answerMFA("code", m.code(0))
	if p.StatusCode != http.StatusSeeOther || p.location().Path != authorizePath {
		t.Fatalf("step-up code: status %d, Location %q; want back to the authorization", p.StatusCode, p.Header.Get("Location"))
	}
	sess := m.sessionOf()
	if sess.IDHash == old.IDHash || !sess.OTPTime.Equal(m.clock.Now()) || !sess.ExpiresAt.Equal(old.ExpiresAt) {
		t.Errorf("session after step-up: %+v; want a new id, OTPTime now and the old expiry %v", sess, old.ExpiresAt)
	}
	if _, err := m.store.Session(context.Background(), old.IDHash, m.clock.Now()); err == nil {
		t.Error("the session before the step-up still works")
	}
	p = m.follow(p) // consent is remembered: straight to the client
	code := p.location().Query().Get("code")
	if code == "" {
		t.Fatalf("after the step-up: status %d, Location %q; want a code", p.StatusCode, p.Header.Get("Location"))
	}
	if amr := m.redeemAMR(code); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Errorf("code AMR %v, want [pwd otp]", amr)
	}
}

func TestStepUpOnTheConsentForm(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	m.answerMFA("code", m.code(0))
	consent := m.authorize(confParams())
	m.clock.Add(stepUpAge + time.Minute)
	// The consent page was fetched while fresh, but is sent when stale.
	p := m.decide(consent, "approve")
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != mfaPath {
		t.Errorf("approve with a stale second factor: status %d, Location %q; want the TOTP step", p.StatusCode, p.Header.Get("Location"))
	}
}

func TestStepUpPromptNone(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	m.answerMFA("code", m.code(0))
	m.completeFlowSignedIn(confParams())
	m.clock.Add(stepUpAge + time.Minute)
	p := m.authorize(with(confParams(), "prompt", "none"))
	if loc := p.location(); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none with a stale second factor: Location %q, want error=login_required", p.Header.Get("Location"))
	}
}

func TestStepUpWrongCodesSignOut(t *testing.T) {
	m := newMFAEnv(t, true)
	m.signIn(userEmail, userPassword)
	m.answerMFA("code", m.code(0))
	m.clock.Add(stepUpAge + time.Minute)
	m.authorize(confParams())
	var p page
	for range mfa.MaxAttempts {
		p = m.answerMFA("code", m.wrongCode())
	}
	if !strings.Contains(p.body, msgMFASignedOut) || m.hasSession() {
		t.Errorf("five wrong step-up codes: want %q and the session ended:\n%s", msgMFASignedOut, p.body)
	}
}

var secretRE = regexp.MustCompile(`id="totp_secret" type="text" readonly value="([A-Z2-7 ]+)"`)

// securityForm posts action (and code) to the account page.
func (m *mfaEnv) securityForm(action, code string) page {
	m.t.Helper()
	p := m.get(securityPath)
	form := url.Values{"csrf_token": {hiddenFields(p.body).Get("csrf_token")}, "action": {action}}
	if code != "" {
		form.Set("code", code)
	}
	return m.post(securityPath, form)
}

func TestAccountSecurityRequiresSignIn(t *testing.T) {
	m := newMFAEnv(t, false)
	p := m.get(securityPath)
	if p.StatusCode != http.StatusFound || p.Header.Get("Location") != "/login?return_to=%2Faccount%2Fsecurity" {
		t.Errorf("signed out: status %d, Location %q; want 302 to /login?return_to=/account/security", p.StatusCode, p.Header.Get("Location"))
	}
	p = m.post(securityPath, url.Values{"csrf_token": {hiddenFields(m.get("/login").body).Get("csrf_token")}, "action": {"start"}})
	if p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login?") {
		t.Errorf("signed-out POST: status %d, Location %q; want 303 to /login", p.StatusCode, p.Header.Get("Location"))
	}
}

func TestAccountSecurityEnrollAndRemove(t *testing.T) {
	m := newMFAEnv(t, false)
	m.signIn(userEmail, userPassword)
	p := m.get(securityPath)
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="start"`) || !strings.Contains(p.body, `aria-current="page"`) {
		t.Fatalf("security page without MFA: status %d, want the set-up button:\n%s", p.StatusCode, p.body)
	}
	checkSecurityHeaders(t, "security page", p)

	p = m.securityForm("start", "")
	match := secretRE.FindStringSubmatch(p.body)
	if p.StatusCode != http.StatusOK || match == nil || !strings.Contains(p.body, `src="data:image/png;base64,`) {
		t.Fatalf("start: status %d, want the QR code as a data: PNG and the secret:\n%s", p.StatusCode, p.body)
	}
	m.secret = strings.ReplaceAll(match[1], " ", "")
	if on, _ := m.svc.Enabled(context.Background(), m.user.ID); on {
		t.Fatal("MFA is on before the first code")
	}

	p = m.securityForm("confirm", m.wrongCode())
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.body, msgCodeWrong) || !strings.Contains(p.body, match[1]) {
		t.Errorf("wrong first code: status %d, want 400, the message and the same secret again:\n%s", p.StatusCode, p.body)
	}
	p = m.securityForm("confirm", m.code(0))
	codes := regexp.MustCompile(`<li>([a-z2-7]{5}-[a-z2-7]{5})</li>`).FindAllStringSubmatch(p.body, -1)
	if p.StatusCode != http.StatusOK || len(codes) != mfa.RecoveryCodes {
		t.Fatalf("right first code: status %d, %d recovery codes; want 200 and %d:\n%s", p.StatusCode, len(codes), mfa.RecoveryCodes, p.body)
	}
	if on, _ := m.svc.Enabled(context.Background(), m.user.ID); !on {
		t.Fatal("MFA is off after the first code")
	}
	// The session passed a second factor just now: trading needs no
	// other code.
	if sess := m.sessionOf(); !sess.OTPTime.Equal(m.clock.Now()) {
		t.Errorf("session OTPTime %v after enrollment, want now", sess.OTPTime)
	}
	if p := m.authorize(confParams()); p.StatusCode != http.StatusOK || !strings.Contains(p.body, `value="approve"`) {
		t.Errorf("trading right after enrollment: status %d, want the consent page", p.StatusCode)
	}
	// Shown once: the page now shows the status, not the codes.
	p = m.get(securityPath)
	if strings.Contains(p.body, codes[0][1]) || !strings.Contains(p.body, "10 of 10 recovery codes left") {
		t.Errorf("security page after enrollment: want no codes and 10 of 10 left:\n%s", p.body)
	}
	if p := m.securityForm("start", ""); p.StatusCode != http.StatusSeeOther {
		t.Errorf("start while enabled: status %d, want 303 back to the page", p.StatusCode)
	}

	p = m.securityForm("remove", m.wrongCode())
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.body, msgCodeWrong) {
		t.Errorf("remove with a wrong code: status %d, want 400 with the message", p.StatusCode)
	}
	p = m.securityForm("remove", m.code(1))
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != securityPath+"?notice=off" {
		t.Fatalf("remove: status %d, Location %q; want 303 to the page with notice=off", p.StatusCode, p.Header.Get("Location"))
	}
	if on, _ := m.svc.Enabled(context.Background(), m.user.ID); on {
		t.Error("MFA is on after removal")
	}
	if p := m.follow(p); !strings.Contains(p.body, securityNotices["off"]) || !strings.Contains(p.body, `value="start"`) {
		t.Errorf("page after removal: want the notice and the set-up button:\n%s", p.body)
	}
}

func TestAccountSecurityCSRF(t *testing.T) {
	m := newMFAEnv(t, false)
	m.signIn(userEmail, userPassword)
	p := m.post(securityPath, url.Values{"action": {"start"}})
	if p.StatusCode != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: status %d, want 403", p.StatusCode)
	}
	if _, err := m.store.TOTP(context.Background(), m.user.ID); err == nil {
		t.Error("an enrollment was started by a forged POST")
	}
}

func TestSignInRateLimited(t *testing.T) {
	m := newMFAEnv(t, true, func(h *Handler) {
		h.RateLimit = &ratelimit.Policy{
			Limiter: ratelimit.NewMemory(),
			Limits:  ratelimit.Limits{ratelimit.Authentication: ratelimit.PerMinute(2)},
			Now:     h.Now,
			Logger:  slog.New(slog.DiscardHandler),
		}
	})
	m.source = "203.0.113.9"
	m.signIn("nobody@example.com", "wrong password!")
	m.signIn("somebody@example.com", "wrong password!")
	p := m.signIn(userEmail, userPassword)
	if p.StatusCode != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" ||
		!strings.Contains(p.body, "Too many attempts") || !strings.Contains(p.Header.Get("Content-Type"), "text/html") {
		t.Errorf("third sign-in from one address: status %d, Retry-After %q, Content-Type %q; want a 429 page",
			p.StatusCode, p.Header.Get("Retry-After"), p.Header.Get("Content-Type"))
	}
	// Another address is not throttled by it. The TOTP step is charged to
	// the user the password proved, whatever the address.
	m.source = "198.51.100.7"
	if p := m.signIn(userEmail, userPassword); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in from another address: status %d, want 303", p.StatusCode)
	}
	if p := m.answerMFA("code", m.wrongCode()); p.StatusCode != http.StatusUnauthorized {
		t.Errorf("first code for the user (wrong): status %d, want 401", p.StatusCode)
	}
	m.source = "192.0.2.1"
	if p := m.answerMFA("code", m.wrongCode()); p.StatusCode != http.StatusUnauthorized {
		t.Errorf("second code for the user, from a third address (wrong): status %d, want 401", p.StatusCode)
	}
	if p := m.answerMFA("code", m.code(0)); p.StatusCode != http.StatusTooManyRequests || m.hasSession() {
		t.Errorf("third code for the user (the right one): status %d, want 429 and no session", p.StatusCode)
	}
}
