-- DPoP, sender-constrained tokens (RFC 9449, docs/dpop.md):
--   * clients.dpop_bound_access_tokens: the client gets DPoP-bound tokens
--     only (RFC 9449 section 5.2); every existing client may still get
--     bearer tokens.
--   * auth_codes.dpop_jkt: the dpop_jkt of the authorization request
--     (section 10), '' for none; the token request must prove that key.
--   * refresh_tokens.dpop_jkt: the key a public client's refresh token is
--     bound to (section 5), '' for none.
--   * dpop_proofs: the proofs already accepted (section 11.1), each kept
--     until its iat is out of the acceptance window; the primary key
--     decides single use across instances.
-- Conventions as in 00001_init.sql.

-- +goose Up
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0 CHECK (dpop_bound_access_tokens IN (0, 1));
ALTER TABLE auth_codes ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';

CREATE TABLE dpop_proofs (
    id         TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX dpop_proofs_expires ON dpop_proofs (expires_at);

-- +goose Down
DROP TABLE dpop_proofs;
ALTER TABLE refresh_tokens DROP COLUMN dpop_jkt;
ALTER TABLE auth_codes DROP COLUMN dpop_jkt;
ALTER TABLE clients DROP COLUMN dpop_bound_access_tokens;
