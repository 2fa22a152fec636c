-- What RevocationsSince reads (revocations.go): every kind of revocation
-- with the time it happened, so that resource servers can poll for what
-- changed instead of asking the store about every token.
--
-- Revoked access tokens gain revoked_at. SQLite cannot ALTER TABLE ADD a
-- column whose default is an expression, so the table is rebuilt; rows
-- revoked before this migration count as revoked now.
--
-- Grants already carry revoked_at; an index makes the poll cheap.
--
-- Disabled and deleted clients are recorded in revoked_clients by
-- triggers, so that every path that disables or deletes a client (the
-- CLI, the Client Center) is covered without each having to remember it.
-- A deleted client's grants vanish with it (ON DELETE CASCADE), so this
-- record is the only trace that its tokens must die.

-- +goose Up
CREATE TABLE revoked_access_tokens_new (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
) STRICT;
INSERT INTO revoked_access_tokens_new (jti, expires_at) SELECT jti, expires_at FROM revoked_access_tokens;
DROP TABLE revoked_access_tokens;
ALTER TABLE revoked_access_tokens_new RENAME TO revoked_access_tokens;
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);
CREATE INDEX revoked_access_tokens_revoked ON revoked_access_tokens (revoked_at);

CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE revoked_clients (
    client_id  TEXT    NOT NULL PRIMARY KEY,
    revoked_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_clients_revoked ON revoked_clients (revoked_at);

-- +goose StatementBegin
CREATE TRIGGER clients_disabled AFTER UPDATE OF disabled ON clients
WHEN NEW.disabled = 1 AND OLD.disabled = 0
BEGIN
    INSERT INTO revoked_clients (client_id, revoked_at) VALUES (NEW.id, NEW.updated_at)
    ON CONFLICT (client_id) DO UPDATE SET revoked_at = MAX(revoked_at, excluded.revoked_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER clients_deleted AFTER DELETE ON clients
BEGIN
    INSERT INTO revoked_clients (client_id, revoked_at)
    VALUES (OLD.id, CAST(unixepoch('subsec') * 1000 AS INTEGER))
    ON CONFLICT (client_id) DO UPDATE SET revoked_at = MAX(revoked_at, excluded.revoked_at);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER clients_deleted;
DROP TRIGGER clients_disabled;
DROP TABLE revoked_clients;
DROP INDEX grants_revoked;
CREATE TABLE revoked_access_tokens_old (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
INSERT INTO revoked_access_tokens_old (jti, expires_at) SELECT jti, expires_at FROM revoked_access_tokens;
DROP TABLE revoked_access_tokens;
ALTER TABLE revoked_access_tokens_old RENAME TO revoked_access_tokens;
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);
