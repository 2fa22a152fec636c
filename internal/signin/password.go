package signin

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/store"
)

// MaxEmailLen is the longest address RFC 5321 allows (64 + 1 + 255).
const MaxEmailLen = 320

// PasswordResult is the outcome of a password check.
type PasswordResult struct {
	User store.User // the account, when OK
	OK   bool
	// Locked is how long the account stays locked for this source; when
	// above zero the password was not checked.
	Locked time.Duration
}

// CheckPassword checks the password of a sign-in to email from the address
// source, for every place a person signs in with a password (the hosted
// page and the first-party endpoint), under the password lock of package
// lockout. An unknown, malformed or overlong email costs the same KDF work
// as a wrong password and is locked the same way, so neither timing nor the
// lock tells them apart; a user whose stored hash is unusable cannot sign
// in with a password at all. password.ErrBusy means the KDF queue is full.
func CheckPassword(ctx context.Context, lock *lockout.Passwords, st store.UserFinder, pw *password.Hasher, logger *slog.Logger, email, plain, source string) (PasswordResult, error) {
	var u store.User
	subject := lockout.EmailSubject(email)
	if len(email) <= MaxEmailLen && oauth.ValidIdentifier(email) {
		found, err := st.UserByEmail(ctx, email)
		switch {
		case err == nil:
			u, subject = found, found.ID
		case !errors.Is(err, store.ErrNotFound):
			return PasswordResult{}, err
		}
	}
	release, err := lock.Acquire(ctx, subject, source)
	if err != nil {
		return PasswordResult{}, err
	}
	defer release()
	// While locked, the password is not even checked: guessing gains
	// nothing and costs the server no KDF work.
	wait, err := lock.Locked(ctx, subject, source)
	if err != nil {
		return PasswordResult{}, err
	}
	if wait > 0 {
		logger.WarnContext(ctx, "sign-in refused: password locked", "user", u.ID, "source", source)
		return PasswordResult{Locked: wait}, nil
	}
	ok, err := verify(ctx, pw, logger, u, plain)
	if err != nil {
		return PasswordResult{}, err
	}
	if ok {
		return PasswordResult{User: u, OK: true}, lock.Passed(ctx, subject, source)
	}
	logger.WarnContext(ctx, "failed password", "user", u.ID, "source", source)
	if err := lock.Failed(ctx, subject, source); err != nil {
		return PasswordResult{}, err
	}
	if wait, err := lock.Locked(ctx, subject, source); err == nil && wait > 0 {
		logger.WarnContext(ctx, "password locked", "user", u.ID, "source", source, "for", wait.String())
	}
	return PasswordResult{}, nil
}

// verify checks plain against u's hash, or does the same work against no
// hash when u is the zero User.
func verify(ctx context.Context, pw *password.Hasher, logger *slog.Logger, u store.User, plain string) (bool, error) {
	if u.ID == "" {
		return false, pw.VerifyNone(ctx, plain)
	}
	ok, err := pw.Verify(ctx, plain, u.PasswordHash)
	if errors.Is(err, password.ErrMalformedHash) {
		logger.WarnContext(ctx, "unusable password hash", "user", u.ID)
		return false, pw.VerifyNone(ctx, plain)
	}
	return ok, err
}
