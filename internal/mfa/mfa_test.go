package mfa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp/totp"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testclock"
	"github.com/ariesexchange/aries/internal/testenv"
)

type env struct {
	svc   *Service
	store testenv.Backend
	clock *testclock.Clock
	alice store.User
	bob   store.User
}

var testKey = bytes.Repeat([]byte{9}, KeySize)

func newEnv(t *testing.T) *env {
	t.Helper()
	// Mid-step, so a code's neighbours are a whole step away.
	te := testenv.New(t, testenv.NoUser(), testenv.At(time.Date(2026, 11, 20, 9, 0, 15, 0, time.UTC)))
	e := &env{store: te.Store, clock: te.Clock}
	e.alice = te.NewUser(store.User{ID: "usr_alice", Email: "alice@example.com", PasswordHash: "h"}, "")
	e.bob = te.NewUser(store.User{ID: "usr_bob", Email: "bob@example.com", PasswordHash: "h"}, "")
	var err error
	e.svc, err = New(te.Store, te.Hasher, testKey, te.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// code is what an authenticator app shows for secret at t.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode returns a well-formed code that matches none of the steps near
// at, so a test cannot pass by luck.
func wrongCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	near := map[string]bool{}
	for d := -3; d <= 3; d++ {
		near[code(t, secret, at.Add(time.Duration(d)*Period))] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", i)
		if !near[c] {
			return c
		}
	}
}

func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// TestRFC6238Vectors checks codes against RFC 6238 appendix B (SHA-1),
// truncated to six digits.
func TestRFC6238Vectors(t *testing.T) {
	sec := b32.EncodeToString([]byte("12345678901234567890"))
	tests := []struct {
		unix int64
		code string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
	}
	for _, tt := range tests {
		at := time.Unix(tt.unix, 0)
		step, ok, err := matchStep(sec, tt.code, at)
		if err != nil || !ok || step != tt.unix/30 {
			t.Errorf("matchStep(%s at %d): got step %d, %t, %v; want step %d", tt.code, tt.unix, step, ok, err, tt.unix/30)
		}
	}
}

func TestMatchStepWindow(t *testing.T) {
	sec := b32.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111111, 0) // step 37037037
	c := code(t, sec, now)
	tests := []struct {
		name string
		code string
		at   time.Time
		want bool
		step int64
	}{
		{"now", c, now, true, 37037037},
		{"typed with a space", c[:3] + " " + c[3:], now, true, 37037037},
		{"clock a step behind", c, now.Add(Period), true, 37037037},
		{"clock a step ahead", c, now.Add(-Period), true, 37037037},
		{"two steps late", c, now.Add(2 * Period), false, 0},
		{"two steps early", c, now.Add(-2 * Period), false, 0},
		{"five digits", c[:5], now, false, 0},
		{"seven digits", c + "1", now, false, 0},
		{"letters", "12a456", now, false, 0},
		{"empty", "", now, false, 0},
	}
	for _, tt := range tests {
		step, ok, err := matchStep(sec, tt.code, tt.at)
		if err != nil || ok != tt.want || step != tt.step {
			t.Errorf("%s: got step %d, %t, %v; want step %d, %t", tt.name, step, ok, err, tt.step, tt.want)
		}
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		unix, want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2}, {-1, -1}, {-30, -1}, {-31, -2}}
	for _, tt := range tests {
		if got := Step(time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("Step(%d): got %d, want %d", tt.unix, got, tt.want)
		}
	}
}

func TestEnrollAndReplay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, codes, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	u, err := url.Parse(enr.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != enr.Secret ||
		u.Query().Get("issuer") != Label || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" ||
		u.Query().Get("algorithm") != "SHA1" || !strings.Contains(u.Path, e.alice.Email) {
		t.Errorf("URI %q: want otpauth://totp/Aries:%s with the secret, SHA1, 6 digits, 30 s", enr.URI, e.alice.Email)
	}
	if len(codes) != RecoveryCodes {
		t.Errorf("got %d recovery codes, want %d", len(codes), RecoveryCodes)
	}
	on, err := e.svc.Enabled(ctx, e.alice.ID)
	if err != nil || !on {
		t.Fatalf("Enabled after Enroll: got %t, %v; want true", on, err)
	}
	_, _, err = e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll again", err, ErrEnabled)

	// Stored encrypted: the secret is nowhere in the row.
	row, err := e.store.TOTP(ctx, e.alice.ID)
	is(t, "TOTP", err, nil)
	if bytes.Contains(row.EncryptedSecret, []byte(enr.Secret)) {
		t.Error("the stored TOTP secret contains the secret in clear")
	}

	now := e.clock.Now()
	c := code(t, enr.Secret, now)
	is(t, "CheckTOTP", e.svc.CheckTOTP(ctx, e.alice.ID, c), nil)
	is(t, "the same code again", e.svc.CheckTOTP(ctx, e.alice.ID, c), ErrInvalidCode)
	e.clock.Add(Period / 2) // still within the code's window
	is(t, "the same code in its skew window", e.svc.CheckTOTP(ctx, e.alice.ID, c), ErrInvalidCode)
	is(t, "the previous step's code", e.svc.CheckTOTP(ctx, e.alice.ID, code(t, enr.Secret, now.Add(-Period))), ErrInvalidCode)
	is(t, "the next step's code", e.svc.CheckTOTP(ctx, e.alice.ID, code(t, enr.Secret, now.Add(Period))), nil)
	is(t, "a wrong code", e.svc.CheckTOTP(ctx, e.alice.ID, wrongCode(t, enr.Secret, e.clock.Now())), ErrInvalidCode)
	is(t, "bob without MFA", e.svc.CheckTOTP(ctx, e.bob.ID, c), ErrNotEnabled)
}

func TestConcurrentUseOfOneCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, _, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	c := code(t, enr.Secret, e.clock.Now())
	const n = 8 // below the lock's limit (TestSecondFactorLock)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = e.svc.CheckTOTP(ctx, e.alice.ID, c) })
	}
	wg.Wait()
	var ok int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrInvalidCode):
			t.Errorf("CheckTOTP %d: got error %v", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent uses of one code: got %d accepted, want 1", n, ok)
	}
}

func TestBeginConfirm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.svc.Confirm(ctx, e.alice, "123456")
	is(t, "Confirm without Begin", err, ErrNotEnabled)

	first, err := e.svc.Begin(ctx, e.alice)
	is(t, "Begin", err, nil)
	enr, err := e.svc.Begin(ctx, e.alice) // a reload: a new secret replaces the first
	is(t, "Begin again", err, nil)
	if enr.Secret == first.Secret {
		t.Error("a second Begin kept the first secret")
	}
	pending, err := e.svc.Pending(ctx, e.alice)
	is(t, "Pending", err, nil)
	if pending.Secret != enr.Secret || pending.URI != enr.URI {
		t.Errorf("Pending: got %q, want the latest enrollment %q", pending.Secret, enr.Secret)
	}
	on, _ := e.svc.Enabled(ctx, e.alice.ID)
	if on {
		t.Fatal("Enabled before Confirm: got true, want false")
	}

	now := e.clock.Now()
	_, err = e.svc.Confirm(ctx, e.alice, code(t, first.Secret, now))
	is(t, "Confirm with the replaced secret's code", err, ErrInvalidCode)
	_, err = e.svc.Confirm(ctx, e.alice, wrongCode(t, enr.Secret, now))
	is(t, "Confirm with a wrong code", err, ErrInvalidCode)
	if on, _ := e.svc.Enabled(ctx, e.alice.ID); on {
		t.Fatal("Enabled after wrong codes: got true, want false")
	}

	c := code(t, enr.Secret, now)
	codes, err := e.svc.Confirm(ctx, e.alice, c)
	is(t, "Confirm", err, nil)
	format := regexp.MustCompile(`^[a-z2-7]{5}-[a-z2-7]{5}$`)
	seen := map[string]bool{}
	for _, rc := range codes {
		if !format.MatchString(rc) || seen[rc] {
			t.Errorf("recovery code %q: want 10 distinct codes like abcde-fgh23", rc)
		}
		seen[rc] = true
	}
	if len(codes) != RecoveryCodes {
		t.Errorf("got %d recovery codes, want %d", len(codes), RecoveryCodes)
	}
	if on, _ := e.svc.Enabled(ctx, e.alice.ID); !on {
		t.Fatal("Enabled after Confirm: got false, want true")
	}
	is(t, "the confirming code afterwards", e.svc.CheckTOTP(ctx, e.alice.ID, c), ErrInvalidCode)
	_, err = e.svc.Begin(ctx, e.alice)
	is(t, "Begin when enabled", err, ErrEnabled)
	_, err = e.svc.Pending(ctx, e.alice)
	is(t, "Pending when enabled", err, ErrEnabled)
	_, err = e.svc.Confirm(ctx, e.alice, code(t, enr.Secret, now.Add(Period)))
	is(t, "Confirm when enabled", err, ErrEnabled)
}

func TestRemove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, codes, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	now := e.clock.Now()
	is(t, "Remove with a wrong code", e.svc.Remove(ctx, e.alice.ID, wrongCode(t, enr.Secret, now)), ErrInvalidCode)
	is(t, "Remove with a recovery code", e.svc.Remove(ctx, e.alice.ID, codes[0]), ErrInvalidCode)
	if on, _ := e.svc.Enabled(ctx, e.alice.ID); !on {
		t.Fatal("Enabled after refused removals: got false, want true")
	}
	is(t, "Remove", e.svc.Remove(ctx, e.alice.ID, code(t, enr.Secret, now)), nil)
	if on, _ := e.svc.Enabled(ctx, e.alice.ID); on {
		t.Fatal("Enabled after Remove: got true, want false")
	}
	is(t, "a recovery code after Remove", e.svc.UseRecoveryCode(ctx, e.alice.ID, codes[1]), ErrInvalidCode)
	is(t, "Remove again", e.svc.Remove(ctx, e.alice.ID, code(t, enr.Secret, now.Add(Period))), ErrNotEnabled)
}

func TestRecoveryCodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, codes, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	_, bobCodes, err := e.svc.Enroll(ctx, e.bob)
	is(t, "Enroll bob", err, nil)

	tests := []struct {
		name, code string
		want       error
	}{
		{"as shown", codes[0], nil},
		{"used again", codes[0], ErrInvalidCode},
		{"upper case without hyphen", strings.ToUpper(strings.ReplaceAll(codes[1], "-", "")), nil},
		{"with spaces", " " + strings.ReplaceAll(codes[2], "-", " ") + " ", nil},
		{"bob's code", bobCodes[0], ErrInvalidCode},
		{"malformed", "not-a-code", ErrInvalidCode},
		{"a TOTP code", "123456", ErrInvalidCode},
	}
	for _, tt := range tests {
		is(t, tt.name, e.svc.UseRecoveryCode(ctx, e.alice.ID, tt.code), tt.want)
	}
	left, err := e.svc.RecoveryCodesLeft(ctx, e.alice.ID)
	if err != nil || left != RecoveryCodes-3 {
		t.Errorf("RecoveryCodesLeft: got %d, %v; want %d", left, err, RecoveryCodes-3)
	}
}

func TestSecretBoundToUserAndKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, _, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	row, err := e.store.TOTP(ctx, e.alice.ID)
	is(t, "TOTP", err, nil)

	// Alice's sealed secret copied into Bob's row does not open.
	row.UserID = e.bob.ID
	is(t, "EnableTOTP bob with alice's secret", e.store.EnableTOTP(ctx, row, nil), nil)
	if err := e.svc.CheckTOTP(ctx, e.bob.ID, "123456"); err == nil || errors.Is(err, ErrInvalidCode) {
		t.Errorf("CheckTOTP with a secret sealed for another user: got %v, want a decryption error", err)
	}

	// Another root secret cannot read it either.
	other, err := New(e.store, secret.NewHasher(bytes.Repeat([]byte{7}, 32)), bytes.Repeat([]byte{8}, KeySize), e.clock.Now)
	is(t, "New", err, nil)
	if err := other.CheckTOTP(ctx, e.alice.ID, "123456"); err == nil || errors.Is(err, ErrInvalidCode) {
		t.Errorf("CheckTOTP under another key: got %v, want a decryption error", err)
	}

	if _, err := New(e.store, nil, []byte("short"), nil); err == nil {
		t.Error("New with a 5-byte key: got success, want an error")
	}
}

func TestQRCode(t *testing.T) {
	e := newEnv(t)
	enr, err := e.svc.Begin(context.Background(), e.alice)
	is(t, "Begin", err, nil)
	b, err := enr.QRCode(200)
	is(t, "QRCode", err, nil)
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("QRCode is not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got.X != 200 || got.Y != 200 {
		t.Errorf("QR code size: got %v, want 200x200", got)
	}
}

func TestChallengeAttempts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, _, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	token, c, err := e.svc.NewChallenge(ctx, store.MFAChallenge{Purpose: store.MFAFirstParty, UserID: e.alice.ID, ClientID: "aries_ci_x"})
	is(t, "NewChallenge", err, nil)
	if !strings.HasPrefix(token, TokenPrefix) || c.Hash == token || c.MaxAttempts != MaxAttempts ||
		!c.ExpiresAt.Equal(e.clock.Now().Add(ChallengeTTL)) {
		t.Fatalf("NewChallenge: token %q, challenge %+v; want a prefixed token stored as a hash, 5 attempts, 5 minutes", token, c)
	}
	got, err := e.svc.Challenge(ctx, token)
	is(t, "Challenge", err, nil)
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Challenge (-created +read):\n%s", diff)
	}

	wrong := wrongCode(t, enr.Secret, e.clock.Now())
	for i := 1; i <= MaxAttempts; i++ {
		got, err := e.svc.Answer(ctx, got, TOTPCode, wrong)
		is(t, fmt.Sprintf("wrong code %d", i), err, ErrInvalidCode)
		if got.FailedAttempts != i {
			t.Errorf("wrong code %d: got FailedAttempts %d, want %d", i, got.FailedAttempts, i)
		}
	}
	_, err = e.svc.Answer(ctx, got, TOTPCode, code(t, enr.Secret, e.clock.Now()))
	is(t, "the right code after 5 wrong ones", err, ErrChallengeDead)
	_, err = e.svc.Challenge(ctx, token)
	is(t, "Challenge after 5 wrong codes", err, ErrChallengeDead)
	// The refused right code was not spent.
	is(t, "CheckTOTP of the code refused with the challenge", e.svc.CheckTOTP(ctx, e.alice.ID, code(t, enr.Secret, e.clock.Now())), nil)
}

func TestChallengeSucceedsOnce(t *testing.T) {
	for _, m := range []Method{TOTPCode, RecoveryCode} {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			enr, codes, err := e.svc.Enroll(ctx, e.alice)
			is(t, "Enroll", err, nil)
			answer := codes[0]
			if m == TOTPCode {
				answer = code(t, enr.Secret, e.clock.Now())
			}
			token, c, err := e.svc.NewChallenge(ctx, store.MFAChallenge{Purpose: store.MFASignIn, UserID: e.alice.ID, ReturnTo: "/"})
			is(t, "NewChallenge", err, nil)
			done, err := e.svc.Answer(ctx, c, m, answer)
			is(t, "Answer", err, nil)
			if done.UsedAt.IsZero() || done.ReturnTo != "/" {
				t.Errorf("Answer: got %+v, want the consumed challenge", done)
			}
			_, err = e.svc.Challenge(ctx, token)
			is(t, "Challenge after success", err, ErrChallengeDead)
			_, err = e.svc.Answer(ctx, c, m, answer)
			is(t, "Answer again", err, ErrChallengeDead)
		})
	}
}

func TestChallengeExpires(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, _, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	token, c, err := e.svc.NewChallenge(ctx, store.MFAChallenge{Purpose: store.MFAFirstParty, UserID: e.alice.ID, ClientID: "aries_ci_x"})
	is(t, "NewChallenge", err, nil)
	e.clock.Add(ChallengeTTL)
	_, err = e.svc.Challenge(ctx, token)
	is(t, "Challenge after 5 minutes", err, ErrChallengeDead)
	_, err = e.svc.Answer(ctx, c, TOTPCode, code(t, enr.Secret, e.clock.Now()))
	is(t, "Answer after 5 minutes", err, ErrChallengeDead)
	_, err = e.svc.Challenge(ctx, "aries_ac_not-a-challenge")
	is(t, "Challenge of another kind of token", err, ErrChallengeDead)
}

func TestChallengeAfterMFARemoved(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	enr, _, err := e.svc.Enroll(ctx, e.alice)
	is(t, "Enroll", err, nil)
	_, c, err := e.svc.NewChallenge(ctx, store.MFAChallenge{Purpose: store.MFASignIn, UserID: e.alice.ID})
	is(t, "NewChallenge", err, nil)
	now := e.clock.Now()
	is(t, "Remove", e.svc.Remove(ctx, e.alice.ID, code(t, enr.Secret, now)), nil)
	_, err = e.svc.Answer(ctx, c, TOTPCode, code(t, enr.Secret, now.Add(Period)))
	is(t, "Answer after MFA was removed", err, ErrChallengeDead)
}

func TestStepUp(t *testing.T) {
	p := StepUp{Scopes: []string{"order:execution", "funds:withdrawal"}, MaxAge: 15 * time.Minute}
	if got := p.Required([]string{"user:information", "order:execution"}); !cmp.Equal(got, []string{"order:execution"}) {
		t.Errorf("Required: got %v, want [order:execution]", got)
	}
	if got := p.Required([]string{"user:information"}); got != nil {
		t.Errorf("Required without sensitive scopes: got %v, want nil", got)
	}
	if got := (StepUp{}).Required([]string{"order:execution"}); got != nil {
		t.Errorf("zero StepUp Required: got %v, want nil", got)
	}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	fresh := []struct {
		name string
		otp  time.Time
		want bool
	}{
		{"never", time.Time{}, false},
		{"just now", now, true},
		{"at the limit", now.Add(-15 * time.Minute), true},
		{"past the limit", now.Add(-15*time.Minute - time.Second), false},
	}
	for _, tt := range fresh {
		if got := p.Fresh(tt.otp, now); got != tt.want {
			t.Errorf("Fresh %s: got %t, want %t", tt.name, got, tt.want)
		}
	}
}
