-- Pushed authorization requests (RFC 9126, docs/fapi.md):
--   * hash: the keyed hash of the random part of the request_uri; the
--     request_uri itself is never stored.
--   * params: the validated authorization parameters, form-encoded.
--   * A request is deleted when it is used, so the primary key and the
--     DELETE ... RETURNING decide single use across instances.
-- Conventions as in 00001_init.sql.

-- +goose Up
CREATE TABLE pushed_requests (
    hash       text        NOT NULL PRIMARY KEY,
    client_id  text        NOT NULL,
    params     text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX pushed_requests_expires ON pushed_requests (expires_at);

-- +goose Down
DROP TABLE pushed_requests;
