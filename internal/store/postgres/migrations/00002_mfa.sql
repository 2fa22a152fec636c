-- Multi-factor authentication: TOTP enrollment, recovery codes, challenges,
-- and when a browser session last passed a second factor.
-- Conventions as in 00001_init.sql.

-- +goose Up
-- One authenticator per user. enabled_at NULL is an enrollment waiting for
-- its first code. last_step is the newest TOTP time step accepted: a code is
-- accepted only for a later step, so none is used twice.
CREATE TABLE mfa_totp (
    user_id          text        NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    encrypted_secret bytea       NOT NULL,
    last_step        bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    enabled_at       timestamptz
);

CREATE TABLE mfa_recovery_codes (
    user_id text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    text        NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, hash)
);

-- A challenge is dead once used, expired, or out of attempts. client_id has
-- no foreign key: it is '' for browser challenges, and a deleted client
-- cannot authenticate to redeem one anyway.
CREATE TABLE mfa_challenges (
    hash                  text        NOT NULL PRIMARY KEY,
    purpose               text        NOT NULL CHECK (purpose IN ('sign_in', 'step_up', 'first_party')),
    user_id               text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id             text        NOT NULL,
    session_hash          text        NOT NULL,
    return_to             text        NOT NULL,
    redirect_uri          text        NOT NULL,
    scopes                text[]      NOT NULL,
    code_challenge        text        NOT NULL,
    code_challenge_method text        NOT NULL,
    max_attempts          integer     NOT NULL CHECK (max_attempts > 0),
    failed_attempts       integer     NOT NULL,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    used_at               timestamptz
);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);

ALTER TABLE sessions ADD COLUMN otp_time timestamptz;

-- +goose Down
ALTER TABLE sessions DROP COLUMN otp_time;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
