-- Aries schema for SQLite.
--
-- Conventions (see store.go in this package for the Go side):
--   * times are INTEGER unix milliseconds, UTC; NULL is the zero time.Time;
--   * string lists (scopes, redirect URIs, AMR) are JSON arrays in TEXT, so
--     any character, including a space, survives and order is kept;
--   * booleans are INTEGER 0 or 1;
--   * codes, refresh tokens, session ids and client secrets are hashes only.
-- Tables are STRICT so a value of the wrong type is an error, not a surprise.

-- +goose Up
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    admin         INTEGER NOT NULL CHECK (admin IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    type          TEXT    NOT NULL CHECK (type IN ('confidential', 'public')),
    first_party   INTEGER NOT NULL CHECK (first_party IN (0, 1)),
    secret_hash   TEXT    NOT NULL,
    redirect_uris TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    owner_id      TEXT    NOT NULL, -- '' for clients made with the CLI
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX clients_owner ON clients (owner_id, created_at);

CREATE TABLE signing_keys (
    id                    TEXT    NOT NULL PRIMARY KEY,
    algorithm             TEXT    NOT NULL,
    encrypted_private_key BLOB    NOT NULL,
    public_jwk            BLOB    NOT NULL,
    created_at            INTEGER NOT NULL,
    retired_at            INTEGER
) STRICT;

CREATE TABLE sessions (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time  INTEGER,
    amr        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE consents (
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes       TEXT    NOT NULL,
    granted_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    PRIMARY KEY (user_id, client_id)
) STRICT;
CREATE INDEX consents_client ON consents (client_id);

-- A grant is the family of one authorization: its code and every refresh
-- token rotated from it. revoked_at set means every member is dead.
CREATE TABLE grants (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL,
    auth_time  INTEGER,
    amr        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX grants_client_user ON grants (client_id, user_id);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_expires ON grants (expires_at);

CREATE TABLE auth_codes (
    hash                  TEXT    NOT NULL PRIMARY KEY,
    grant_id              TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id             TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    scopes                TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL,
    code_challenge_method TEXT    NOT NULL,
    auth_time             INTEGER,
    amr                   TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER
) STRICT;
CREATE INDEX auth_codes_grant ON auth_codes (grant_id);
CREATE INDEX auth_codes_client ON auth_codes (client_id);
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- A used refresh token is kept until it expires so that a replay can still
-- be recognised and revoke its grant.
CREATE TABLE refresh_tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,
    grant_id   TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE revoked_access_tokens (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);

-- +goose Down
DROP TABLE revoked_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE auth_codes;
DROP TABLE grants;
DROP TABLE consents;
DROP TABLE sessions;
DROP TABLE signing_keys;
DROP TABLE clients;
DROP TABLE users;
