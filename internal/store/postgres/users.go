package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateUser stores u with its email lower-cased; ErrConflict if the email
// or id is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO users (id, email, password_hash, admin, created_at, email_verified) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, strings.ToLower(u.Email), u.PasswordHash, u.Admin, ts(u.CreatedAt), u.EmailVerified)
	return dbErr("create user", err)
}

const userColumns = `id, email, password_hash, admin, created_at, email_verified`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created pgtype.Timestamptz
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Admin, &created, &u.EmailVerified); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = fromTS(created)
	return u, nil
}

// UserByID returns the user with id, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, dbErr("user by id", err)
}

// UserByEmail returns the user whose email equals email ignoring case, or
// ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = $1`, strings.ToLower(email)))
	return u, dbErr("user by email", err)
}
