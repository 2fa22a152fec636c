-- Multi-factor authentication: TOTP enrollment, recovery codes, challenges,
-- and when a browser session last passed a second factor.
-- Conventions as in 00001_init.sql.

-- +goose Up
-- One authenticator per user. enabled_at NULL is an enrollment waiting for
-- its first code. last_step is the newest TOTP time step accepted: a code is
-- accepted only for a later step, so none is used twice.
CREATE TABLE mfa_totp (
    user_id          TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    encrypted_secret BLOB    NOT NULL,
    last_step        INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    enabled_at       INTEGER
) STRICT;

CREATE TABLE mfa_recovery_codes (
    user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    TEXT    NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, hash)
) STRICT;

-- A challenge is dead once used, expired, or out of attempts. client_id has
-- no foreign key: it is '' for browser challenges, and a deleted client
-- cannot authenticate to redeem one anyway.
CREATE TABLE mfa_challenges (
    hash                  TEXT    NOT NULL PRIMARY KEY,
    purpose               TEXT    NOT NULL CHECK (purpose IN ('sign_in', 'step_up', 'first_party')),
    user_id               TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id             TEXT    NOT NULL,
    session_hash          TEXT    NOT NULL,
    return_to             TEXT    NOT NULL,
    redirect_uri          TEXT    NOT NULL,
    scopes                TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL,
    code_challenge_method TEXT    NOT NULL,
    max_attempts          INTEGER NOT NULL CHECK (max_attempts > 0),
    failed_attempts       INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER
) STRICT;
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);

ALTER TABLE sessions ADD COLUMN otp_time INTEGER;

-- +goose Down
ALTER TABLE sessions DROP COLUMN otp_time;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
