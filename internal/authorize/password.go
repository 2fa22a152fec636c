package authorize

import (
	"context"
	"errors"
	"log/slog"

	"github.com/ariesexchange/aries/internal/password"
	"github.com/ariesexchange/aries/internal/store"
)

// MaxEmailLen is the longest address RFC 5321 allows (64 + 1 + 255).
const MaxEmailLen = 320

// CheckPassword looks the user with email up and checks pw, for every place
// a person signs in with a password (the hosted page and the first-party
// endpoint). An unknown or overlong email costs the same KDF work as a wrong
// password, so timing does not tell them apart; a user whose stored hash is
// unusable cannot sign in with a password at all.
func CheckPassword(ctx context.Context, st store.Store, pw *password.Hasher, logger *slog.Logger, email, plain string) (store.User, bool, error) {
	if len(email) > MaxEmailLen {
		return store.User{}, false, pw.VerifyNone(ctx, plain)
	}
	u, err := st.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, pw.VerifyNone(ctx, plain)
	}
	if err != nil {
		return store.User{}, false, err
	}
	ok, err := pw.Verify(ctx, plain, u.PasswordHash)
	if errors.Is(err, password.ErrMalformedHash) {
		logger.WarnContext(ctx, "unusable password hash", "user", u.ID)
		return store.User{}, false, pw.VerifyNone(ctx, plain)
	}
	if err != nil || !ok {
		return store.User{}, false, err
	}
	return u, true, nil
}
