package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ariesexchange/aries/internal/store"
)

// Run runs the suite. Each subtest calls open for a fresh, empty store; Run
// does not close it, so open should (with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"Users", testUsers},
		{"UserEmailCase", testUserEmailCase},
		{"UserConflicts", testUserConflicts},
		{"Clients", testClients},
		{"ClientList", testClientList},
		{"UpdateClient", testUpdateClient},
		{"SetClientSecret", testSetClientSecret},
		{"DisableClient", testDisableClient},
		{"DeleteClient", testDeleteClient},
		{"SigningKeys", testSigningKeys},
		{"Sessions", testSessions},
		{"Consents", testConsents},
		{"DeleteConsent", testDeleteConsent},
		{"SaveConsentConcurrently", testSaveConsentConcurrently},
		{"RedeemAuthCode", testRedeemAuthCode},
		{"AuthCodeReuse", testAuthCodeReuse},
		{"AuthCodeReuseAfterRotation", testAuthCodeReuseAfterRotation},
		{"AuthCodeExpiry", testAuthCodeExpiry},
		{"AuthCodeRevokedGrant", testAuthCodeRevokedGrant},
		{"AuthCodeConflicts", testAuthCodeConflicts},
		{"RedeemAuthCodeConcurrently", testRedeemAuthCodeConcurrently},
		{"RedeemAuthCodeRefreshToken", testRedeemAuthCodeRefreshToken},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"RefreshTokenReplay", testRefreshTokenReplay},
		{"RefreshTokenWrongClient", testRefreshTokenWrongClient},
		{"RefreshTokenExpiry", testRefreshTokenExpiry},
		{"RefreshTokenClamp", testRefreshTokenClamp},
		{"RotateRefreshTokenConflict", testRotateRefreshTokenConflict},
		{"RotateRefreshTokenConcurrently", testRotateRefreshTokenConcurrently},
		{"RevokeGrant", testRevokeGrant},
		{"AccessTokens", testAccessTokens},
		{"DeleteExpired", testDeleteExpired},
		{"Times", testTimes},
		{"AuthCodeLookup", testAuthCodeLookup},
		{"RevocationsSince", testRevocationsSince},
		{"TOTPEnrollment", testTOTPEnrollment},
		{"TOTPReplay", testTOTPReplay},
		{"RecoveryCodes", testRecoveryCodes},
		{"MFAChallenges", testMFAChallenges},
		{"MFAChallengeAttempts", testMFAChallengeAttempts},
		{"ConsumeMFAChallengeConcurrently", testConsumeMFAChallengeConcurrently},
		{"SessionOTPTime", testSessionOTPTime},
		{"DeleteExpiredMFAChallenges", testDeleteExpiredMFAChallenges},
		{"AuthFailures", testAuthFailures},
		{"AuthFailuresConcurrently", testAuthFailuresConcurrently},
		{"SecondFactorLock", testSecondFactorLock},
		{"DPoPClientSetting", testDPoPClientSetting},
		{"AuthCodeDPoPJKT", testAuthCodeDPoPJKT},
		{"RefreshTokenDPoPBinding", testRefreshTokenDPoPBinding},
		{"RefreshTokenNone", testRefreshTokenNone},
		{"RefreshTokenNoneDPoP", testRefreshTokenNoneDPoP},
		{"RefreshTokenNoneConcurrently", testRefreshTokenNoneConcurrently},
		{"RefreshTokenGrace", testRefreshTokenGrace},
		{"RefreshTokenGraceOtherClient", testRefreshTokenGraceOtherClient},
		{"RefreshTokenGraceDPoP", testRefreshTokenGraceDPoP},
		{"RefreshTokenGraceChildRotated", testRefreshTokenGraceChildRotated},
		{"RefreshTokenGraceChanged", testRefreshTokenGraceChanged},
		{"RefreshTokenGraceConcurrently", testRefreshTokenGraceConcurrently},
		{"RefreshUseChecks", testRefreshUseChecks},
		{"UseDPoPProofs", testUseDPoPProofs},
		{"OIDCClientSettings", testOIDCClientSettings},
		{"FinancialGradeClientSettings", testFinancialGradeClientSettings},
		{"PushedRequests", testPushedRequests},
		{"TakePushedRequestConcurrently", testTakePushedRequestConcurrently},
		{"UserEmailVerified", testUserEmailVerified},
		{"AuthCodeNonceAndSession", testAuthCodeNonceAndSession},
		{"RetireSigningKeysPerAlgorithm", testRetireSigningKeysPerAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// t0 is the suite's "now". It has milliseconds, and is not UTC, so a
// backend that drops either is caught.
var t0 = time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.FixedZone("UTC+2", 2*60*60))

const (
	day         = 24 * time.Hour
	codeLife    = time.Minute
	refreshLife = 30 * day
	grantLife   = 90 * day
)

// opts compare stored values with what was written. time.Time compares with
// its Equal method, so the location does not matter here (testTimes checks
// it); nil and empty slices are the same list.
var opts = cmp.Options{cmpopts.EquateEmpty()}

// sortStrings compares string lists as sets, for lists whose order the
// interface does not promise (merged consent scopes).
var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func ctx(t *testing.T) context.Context { return t.Context() }

// is fails the test unless err matches want (nil for success).
func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: got error %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func diff(t *testing.T, what string, got, want any, extra ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts, cmp.Options(extra)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// world is the rows most tests need: a user and a confidential client.
type world struct {
	s      store.Store
	user   store.User
	client store.Client
}

func newWorld(t *testing.T, s store.Store) *world {
	t.Helper()
	w := &world{s: s}
	w.user = mustUser(t, s, "usr_alice", "alice@example.com")
	w.client = mustClient(t, s, "aries_ci_app", "", t0)
	return w
}

func mustUser(t *testing.T, s store.Store, id, email string) store.User {
	t.Helper()
	u := store.User{
		ID:           id,
		Email:        email,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		CreatedAt:    t0,
	}
	is(t, "CreateUser "+id, s.CreateUser(ctx(t), u), nil)
	return u
}

func mustClient(t *testing.T, s store.Store, id, owner string, created time.Time) store.Client {
	t.Helper()
	c := store.Client{
		ID:           id,
		Name:         "App " + id,
		Type:         store.Confidential,
		SecretHash:   "v1$hash-of-" + id,
		RedirectURIs: []string{"https://app.example/cb"},
		Scopes:       []string{"user:information", "account:information", "order:execution"},
		OwnerID:      owner,
		CreatedAt:    created,
		UpdatedAt:    created,
	}
	is(t, "CreateClient "+id, s.CreateClient(ctx(t), c), nil)
	return c
}

// newCode returns a code and its grant for the world's user and the given
// client, issued at t0, not yet stored.
func newCode(name string, clientID, userID string) (store.AuthCode, store.Grant) {
	g := store.Grant{
		ID:        "grt_" + name,
		ClientID:  clientID,
		UserID:    userID,
		Scopes:    []string{"user:information", "account:information"},
		AuthTime:  t0.Add(-time.Minute),
		AMR:       []string{"pwd", "otp"},
		CreatedAt: t0,
		ExpiresAt: t0.Add(grantLife),
	}
	c := store.AuthCode{
		Hash:                "code_" + name,
		GrantID:             g.ID,
		ClientID:            clientID,
		UserID:              userID,
		RedirectURI:         "https://app.example/cb",
		Scopes:              g.Scopes,
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		AuthTime:            g.AuthTime,
		AMR:                 g.AMR,
		CreatedAt:           t0,
		ExpiresAt:           t0.Add(codeLife),
	}
	return c, g
}

// issue stores a code for the world's user and client.
func (w *world) issue(t *testing.T, name string) (store.AuthCode, store.Grant) {
	t.Helper()
	return issueFor(t, w.s, name, w.client.ID, w.user.ID)
}

func issueFor(t *testing.T, s store.Store, name, clientID, userID string) (store.AuthCode, store.Grant) {
	t.Helper()
	c, g := newCode(name, clientID, userID)
	is(t, "CreateAuthCode "+name, s.CreateAuthCode(ctx(t), c, g), nil)
	return c, g
}

// login runs the code flow up to the first refresh token, as the token
// endpoint does: issue a code and redeem it at t0+1s with refresh token
// "rt_"+name. It returns the token as stored.
func (w *world) login(t *testing.T, name string) (store.RefreshToken, store.Grant) {
	t.Helper()
	return loginFor(t, w.s, name, w.client.ID, w.user.ID)
}

func loginFor(t *testing.T, s store.Store, name, clientID, userID string) (store.RefreshToken, store.Grant) {
	t.Helper()
	c, g := issueFor(t, s, name, clientID, userID)
	now := t0.Add(time.Second)
	rt := next("rt_"+name, now)
	_, err := s.RedeemAuthCode(ctx(t), c.Hash, rt, now)
	is(t, "RedeemAuthCode "+name, err, nil)
	rt.GrantID, rt.ClientID = g.ID, clientID
	return rt, g
}

// next is the refresh token a redemption or rotation at now stores.
func next(hash string, now time.Time) store.RefreshToken {
	return store.RefreshToken{Hash: hash, CreatedAt: now, ExpiresAt: now.Add(refreshLife)}
}

// rotate rotates hash for the world's client at now and expects want.
func (w *world) rotate(t *testing.T, hash, nextHash string, now time.Time, want error) store.Grant {
	t.Helper()
	g, err := w.s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: w.client.ID, Hash: hash, Next: next(nextHash, now)}, now)
	is(t, fmt.Sprintf("UseRefreshToken(%s)", hash), err, want)
	return g.Grant
}

// race runs fn n times at once and returns the errors, by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testPing(t *testing.T, s store.Store) {
	is(t, "Ping", s.Ping(ctx(t)), nil)
}
