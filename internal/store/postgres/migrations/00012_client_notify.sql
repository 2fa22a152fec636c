-- Client cache invalidation (internal/store/postgres/clientsignal.go): every
-- statement that changes the clients table, whoever runs it (an instance,
-- the CLI, an operator in psql), notifies channel aries_clients when its
-- transaction commits, so each instance drops the client rows it cached.
-- Conventions as in 00001_init.sql.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notify_client_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('aries_clients', 'change');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION notify_client_change();

-- +goose Down
DROP TRIGGER clients_changed ON clients;
DROP FUNCTION notify_client_change();
