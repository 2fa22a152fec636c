-- Aries schema for PostgreSQL. It holds what the SQLite schema holds, in
-- PostgreSQL's own types (see postgres.go in this package for the Go side):
--   * times are timestamptz, kept to the millisecond; NULL is the zero time.Time;
--   * string lists (scopes, redirect URIs, AMR) are text[], so any character
--     survives and order is kept;
--   * codes, refresh tokens, session ids and client secrets are hashes only.

-- +goose Up
CREATE TABLE users (
    id            text        NOT NULL PRIMARY KEY,
    email         text        NOT NULL UNIQUE,
    password_hash text        NOT NULL,
    admin         boolean     NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE clients (
    id            text        NOT NULL PRIMARY KEY,
    name          text        NOT NULL,
    type          text        NOT NULL CHECK (type IN ('confidential', 'public')),
    first_party   boolean     NOT NULL,
    secret_hash   text        NOT NULL,
    redirect_uris text[]      NOT NULL,
    scopes        text[]      NOT NULL,
    disabled      boolean     NOT NULL,
    owner_id      text        NOT NULL, -- '' for clients made with the CLI
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX clients_owner ON clients (owner_id, created_at);

CREATE TABLE signing_keys (
    id                    text        NOT NULL PRIMARY KEY,
    algorithm             text        NOT NULL,
    encrypted_private_key bytea       NOT NULL,
    public_jwk            bytea       NOT NULL,
    created_at            timestamptz NOT NULL,
    retired_at            timestamptz
);

CREATE TABLE sessions (
    id_hash    text        NOT NULL PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time  timestamptz,
    amr        text[]      NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE consents (
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes       text[]      NOT NULL,
    granted_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client ON consents (client_id);

-- A grant is the family of one authorization: its code and every refresh
-- token rotated from it. revoked_at set means every member is dead.
CREATE TABLE grants (
    id         text        NOT NULL PRIMARY KEY,
    client_id  text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes     text[]      NOT NULL,
    auth_time  timestamptz,
    amr        text[]      NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX grants_client_user ON grants (client_id, user_id);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_expires ON grants (expires_at);

CREATE TABLE auth_codes (
    hash                  text        NOT NULL PRIMARY KEY,
    grant_id              text        NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id             text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          text        NOT NULL,
    scopes                text[]      NOT NULL,
    code_challenge        text        NOT NULL,
    code_challenge_method text        NOT NULL,
    auth_time             timestamptz,
    amr                   text[]      NOT NULL,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    used_at               timestamptz
);
CREATE INDEX auth_codes_grant ON auth_codes (grant_id);
CREATE INDEX auth_codes_client ON auth_codes (client_id);
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- A used refresh token is kept until it expires so that a replay can still
-- be recognised and revoke its grant.
CREATE TABLE refresh_tokens (
    hash       text        NOT NULL PRIMARY KEY,
    grant_id   text        NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id  text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE revoked_access_tokens (
    jti        text        NOT NULL PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
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
