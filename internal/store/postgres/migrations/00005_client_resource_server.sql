-- Resource servers (docs/security.md#who-may-introspect): clients an administrator allows to
-- introspect tokens issued to other clients. Every existing client starts
-- as an ordinary one, which may introspect only its own tokens.
-- Conventions as in 00001_init.sql.

-- +goose Up
ALTER TABLE clients ADD COLUMN resource_server boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE clients DROP COLUMN resource_server;
