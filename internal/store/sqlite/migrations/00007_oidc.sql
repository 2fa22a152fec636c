-- OpenID Connect (docs/oidc.md): what ID tokens and RP-initiated logout need.
--   * users.email_verified: the operator checked the user controls the
--     email (`aries users create --email-verified`); every existing user
--     starts unverified, since Aries itself verifies no email.
--   * clients.post_logout_redirect_uris: where RP-initiated logout may send
--     the browser, a JSON array like redirect_uris, matched exactly.
--   * clients.id_token_signed_response_alg: RS256 (OpenID Connect's
--     mandatory algorithm, the default) or ES256.
--   * auth_codes.nonce and auth_codes.session_id: the request's nonce and
--     the sid of the browser session, for the ID token of the exchange.
--   * grants.session_id: the same sid, for the ID tokens of refreshes.
-- Conventions as in 00001_init.sql.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';
ALTER TABLE auth_codes ADD COLUMN nonce TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN session_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE grants DROP COLUMN session_id;
ALTER TABLE auth_codes DROP COLUMN session_id;
ALTER TABLE auth_codes DROP COLUMN nonce;
ALTER TABLE clients DROP COLUMN id_token_signed_response_alg;
ALTER TABLE clients DROP COLUMN post_logout_redirect_uris;
ALTER TABLE users DROP COLUMN email_verified;
