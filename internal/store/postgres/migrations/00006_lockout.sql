-- Failed sign-ins and second-factor locks (docs/security.md#throttles-an-attacker-cannot-steer), shared by
-- every instance. Conventions as in 00001_init.sql.

-- +goose Up
-- One row per failed attempt. subject is a user id or the hash of an email
-- no account has; source an IP address, or '' when the kind counts across
-- sources. No foreign key: failures for unknown emails have no user.
CREATE TABLE auth_failures (
    kind    text        NOT NULL CHECK (kind IN ('password', 'second_factor')),
    subject text        NOT NULL,
    source  text        NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX auth_failures_subject ON auth_failures (kind, subject, at);
CREATE INDEX auth_failures_at ON auth_failures (at);

-- A locked second factor stays locked until a recovery code or an operator
-- lifts it.
CREATE TABLE second_factor_locks (
    user_id   text        NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    locked_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE second_factor_locks;
DROP TABLE auth_failures;
