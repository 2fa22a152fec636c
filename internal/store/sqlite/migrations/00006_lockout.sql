-- Failed sign-ins and second-factor locks (docs/security.md#throttles-an-attacker-cannot-steer), shared by
-- every process that opens the database. Conventions as in 00001_init.sql.

-- +goose Up
-- One row per failed attempt. subject is a user id or the hash of an email
-- no account has; source an IP address, or '' when the kind counts across
-- sources. No foreign key: failures for unknown emails have no user.
CREATE TABLE auth_failures (
    kind    TEXT    NOT NULL CHECK (kind IN ('password', 'second_factor')),
    subject TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_failures_subject ON auth_failures (kind, subject, at);
CREATE INDEX auth_failures_at ON auth_failures (at);

-- A locked second factor stays locked until a recovery code or an operator
-- lifts it.
CREATE TABLE second_factor_locks (
    user_id   TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    locked_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE second_factor_locks;
DROP TABLE auth_failures;
