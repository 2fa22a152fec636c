package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateUser stores u with its email lower-cased; ErrConflict if the email
// or id is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.exec(ctx,
		`INSERT INTO users (id, email, password_hash, admin, created_at, email_verified) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, strings.ToLower(u.Email), u.PasswordHash, boolInt(u.Admin), ms(u.CreatedAt), boolInt(u.EmailVerified))
	return dbErr("create user", err)
}

const userColumns = `id, email, password_hash, admin, created_at, email_verified`

func scanUser(row scanner) (store.User, error) {
	var u store.User
	var created sql.NullInt64
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Admin, &created, &u.EmailVerified); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

const userByID = `SELECT ` + userColumns + ` FROM users WHERE id = ?`

// UserByID returns the user with id, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.hot.userByID.QueryRowContext(ctx, id))
	return u, dbErr("user by id", err)
}

// UserByEmail returns the user whose email equals email ignoring case, or
// ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = ?`, strings.ToLower(email)))
	return u, dbErr("user by email", err)
}
