package store

import (
	"context"
	"errors"
	"time"
)

// ErrReplayed: a one-time code was already accepted (a TOTP time step not
// later than the last one used).
var ErrReplayed = errors.New("store: one-time code already used")

// TOTP is a user's TOTP authenticator (RFC 6238). Codes are checked against
// the secret, so it must be readable: it arrives encrypted (package mfa), and
// the store never sees it in clear.
type TOTP struct {
	UserID          string
	EncryptedSecret []byte
	// LastStep is the newest time step (unix time / 30 s) a code was
	// accepted for; a code counts only for a later step, so none is
	// accepted twice.
	LastStep  int64
	CreatedAt time.Time
	EnabledAt time.Time // zero while enrollment waits for its first code
}

// MFAPurpose says what completing an MFA challenge leads to.
type MFAPurpose string

const (
	// MFASignIn is the browser's TOTP step after a correct password.
	MFASignIn MFAPurpose = "sign_in"
	// MFAStepUp is a fresh TOTP step inside an existing browser session,
	// for scopes that require one.
	MFAStepUp MFAPurpose = "step_up"
	// MFAFirstParty is the session_token of POST /v1/oauth2/authorize,
	// redeemed at POST /v1/oauth2/mfa/verify.
	MFAFirstParty MFAPurpose = "first_party"
)

// MFAChallenge is a second-factor check in progress: a correct password was
// given and a TOTP or recovery code is awaited. Its token is a secret held by
// the browser (a cookie) or the first-party app (session_token); only its hash
// is stored. It lives in the store, not in process memory, so any instance can
// serve any step.
type MFAChallenge struct {
	Hash        string
	Purpose     MFAPurpose
	UserID      string
	ClientID    string // MFAFirstParty: the client the token is bound to; else ""
	SessionHash string // MFAStepUp: the session the check upgrades; else ""
	ReturnTo    string // browser purposes: the local path to continue to

	// The authorization an MFAFirstParty challenge completes.
	RedirectURI         string
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string

	// The challenge is dead once FailedAttempts reaches MaxAttempts.
	MaxAttempts    int
	FailedAttempts int
	CreatedAt      time.Time
	ExpiresAt      time.Time
	UsedAt         time.Time // zero until completed
}

// MFAStore is the part of the Store that multi-factor authentication needs:
// TOTP enrollment with its replay guard, recovery codes, and challenges. As
// with codes and refresh tokens, single use is a conditional write in the
// database, so it holds across goroutines and instances.
type MFAStore interface {
	// StartTOTP stores t as the user's pending enrollment, replacing an
	// earlier pending one; t.EnabledAt and t.LastStep are ignored.
	// ErrConflict when the user's TOTP is already enabled.
	StartTOTP(ctx context.Context, t TOTP) error
	// EnableTOTP stores t (t.EnabledAt set) as the user's enabled TOTP,
	// replacing a pending enrollment, and replaces the user's recovery codes
	// with recoveryHashes, in one transaction. ErrConflict when the user's
	// TOTP is already enabled.
	EnableTOTP(ctx context.Context, t TOTP, recoveryHashes []string) error
	// TOTP returns the user's enrollment, pending or enabled; ErrNotFound
	// when there is none.
	TOTP(ctx context.Context, userID string) (TOTP, error)
	// DeleteTOTP removes the user's TOTP and recovery codes. Removing none
	// is not an error.
	DeleteTOTP(ctx context.Context, userID string) error
	// UseTOTPStep records step as the newest step accepted for the user's
	// enabled TOTP, if it is later than LastStep. ErrReplayed when it is
	// not; ErrNotFound when the user has no enabled TOTP. Of concurrent
	// calls with one step, exactly one succeeds.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// UseRecoveryCode marks the user's unused recovery code with hash used.
	// ErrNotFound when there is no such unused code or the user's TOTP is
	// not enabled. Of concurrent calls with one code, exactly one succeeds.
	UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) error
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// CreateMFAChallenge stores c; ErrConflict if its hash is taken.
	CreateMFAChallenge(ctx context.Context, c MFAChallenge) error
	// MFAChallenge returns the challenge with hash if it is live at now:
	// unused, unexpired, with attempts left. ErrNotFound otherwise.
	MFAChallenge(ctx context.Context, hash string, now time.Time) (MFAChallenge, error)
	// FailMFAChallenge counts one failed attempt against a live challenge
	// and returns it as updated; ErrNotFound when it is not live. Concurrent
	// failures are all counted.
	FailMFAChallenge(ctx context.Context, hash string, now time.Time) (MFAChallenge, error)
	// ConsumeMFAChallenge marks a live challenge used at now and returns
	// it; ErrNotFound when it is not live. Of concurrent calls with one
	// challenge, exactly one succeeds.
	ConsumeMFAChallenge(ctx context.Context, hash string, now time.Time) (MFAChallenge, error)
}
