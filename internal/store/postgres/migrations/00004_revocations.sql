-- What RevocationsSince reads (revocations.go): every kind of revocation
-- with the time it happened, so that resource servers can poll for what
-- changed instead of asking the store about every token.
--
-- Revoked access tokens gain revoked_at, the database's clock at the
-- revocation (to the millisecond, like every stored time); rows revoked
-- before this migration count as revoked now.
--
-- Grants already carry revoked_at; an index makes the poll cheap.
--
-- Disabled and deleted clients are recorded in revoked_clients by
-- triggers, so that every path that disables or deletes a client (the
-- CLI, the Client Center) is covered without each having to remember it.
-- A deleted client's grants vanish with it (ON DELETE CASCADE), so this
-- record is the only trace that its tokens must die.

-- +goose Up
ALTER TABLE revoked_access_tokens
    ADD COLUMN revoked_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp());
CREATE INDEX revoked_access_tokens_revoked ON revoked_access_tokens (revoked_at);

CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE revoked_clients (
    client_id  text        NOT NULL PRIMARY KEY,
    revoked_at timestamptz NOT NULL
);
CREATE INDEX revoked_clients_revoked ON revoked_clients (revoked_at);

-- +goose StatementBegin
CREATE FUNCTION record_revoked_client() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO revoked_clients (client_id, revoked_at)
        VALUES (OLD.id, date_trunc('milliseconds', statement_timestamp()))
        ON CONFLICT (client_id) DO UPDATE
            SET revoked_at = GREATEST(revoked_clients.revoked_at, excluded.revoked_at);
        RETURN OLD;
    END IF;
    INSERT INTO revoked_clients (client_id, revoked_at) VALUES (NEW.id, NEW.updated_at)
    ON CONFLICT (client_id) DO UPDATE
        SET revoked_at = GREATEST(revoked_clients.revoked_at, excluded.revoked_at);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER clients_disabled AFTER UPDATE OF disabled ON clients
    FOR EACH ROW WHEN (NEW.disabled AND NOT OLD.disabled)
    EXECUTE FUNCTION record_revoked_client();

CREATE TRIGGER clients_deleted AFTER DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION record_revoked_client();

-- +goose Down
DROP TRIGGER clients_deleted ON clients;
DROP TRIGGER clients_disabled ON clients;
DROP FUNCTION record_revoked_client();
DROP TABLE revoked_clients;
DROP INDEX grants_revoked;
DROP INDEX revoked_access_tokens_revoked;
ALTER TABLE revoked_access_tokens DROP COLUMN revoked_at;
