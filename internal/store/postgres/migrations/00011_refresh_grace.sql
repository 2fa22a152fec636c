-- Refresh-token grace window (docs/fapi.md#refresh-token-policy). When a
-- client with a grace window rotates a refresh token, the token's row
-- keeps, for the window only, what a retry of that rotation answers with:
--   * child_hash: the hash of the token it was rotated into ('' for
--     tokens rotated before this migration);
--   * child_sealed: that token's value, AES-256-GCM encrypted under a key
--     derived from the server's root secret (the one exception to "hashes
--     only" in 00001_init.sql, because a retry must return the same value),
--     NULL when no copy is kept;
--   * grace_until: when the copy must be gone; DeleteExpired wipes it then,
--     and so does any use of the row after it.
-- Conventions as in 00001_init.sql.

-- +goose Up
ALTER TABLE refresh_tokens ADD COLUMN child_hash text NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN child_sealed bytea;
ALTER TABLE refresh_tokens ADD COLUMN grace_until timestamptz;
CREATE INDEX refresh_tokens_grace ON refresh_tokens (grace_until) WHERE grace_until IS NOT NULL;

-- +goose Down
DROP INDEX refresh_tokens_grace;
ALTER TABLE refresh_tokens DROP COLUMN grace_until;
ALTER TABLE refresh_tokens DROP COLUMN child_sealed;
ALTER TABLE refresh_tokens DROP COLUMN child_hash;
