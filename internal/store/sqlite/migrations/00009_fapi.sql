-- Financial-grade client settings (docs/fapi.md):
--   * token_endpoint_auth_method: how the client authenticates (RFC 7591
--     section 2); '' for clients registered before it could be chosen,
--     which keep sending their secret either way.
--   * jwks: the client's public keys as an inline JWK Set (RFC 7523
--     private_key_jwt), '' for none.
--   * profile: '' or 'fapi2' (FAPI 2.0 Security Profile).
--   * require_par: authorization requests must be pushed (RFC 9126).
--   * refresh_token_rotation, refresh_token_grace_seconds: the refresh
--     policy; '' and 0 keep today's behaviour (rotate, no grace).
-- Conventions as in 00001_init.sql.

-- +goose Up
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN jwks TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN profile TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0 CHECK (require_par IN (0, 1));
ALTER TABLE clients ADD COLUMN refresh_token_rotation TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN refresh_token_grace_seconds INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE clients DROP COLUMN refresh_token_grace_seconds;
ALTER TABLE clients DROP COLUMN refresh_token_rotation;
ALTER TABLE clients DROP COLUMN require_par;
ALTER TABLE clients DROP COLUMN profile;
ALTER TABLE clients DROP COLUMN jwks;
ALTER TABLE clients DROP COLUMN token_endpoint_auth_method;
