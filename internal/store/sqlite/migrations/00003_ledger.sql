-- The sandbox API's paper-trading ledger (store/ledger.go). Money is INTEGER
-- cents and quantities are INTEGER shares. The CHECK constraints restate
-- what the conditional UPDATEs in ledger.go already guarantee, so that no
-- code path, present or future, can store a negative balance.

-- +goose Up
-- One paper account per user, created on first use (UNIQUE makes the
-- creation race-free).
CREATE TABLE accounts (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    currency   TEXT    NOT NULL,
    cash       INTEGER NOT NULL CHECK (cash >= 0),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE positions (
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    symbol     TEXT    NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    cost       INTEGER NOT NULL CHECK (cost >= 0),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, symbol)
) STRICT;

CREATE TABLE orders (
    id              TEXT    NOT NULL PRIMARY KEY,
    account_id      TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id         TEXT    NOT NULL,
    symbol          TEXT    NOT NULL,
    side            TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    type            TEXT    NOT NULL CHECK (type IN ('market', 'limit')),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    limit_price     INTEGER NOT NULL CHECK (limit_price >= 0), -- 0 for market orders
    status          TEXT    NOT NULL CHECK (status IN ('open', 'filled', 'cancelled')),
    fill_price      INTEGER NOT NULL CHECK (fill_price >= 0),  -- 0 until filled
    idempotency_key TEXT,                                      -- NULL when none was sent
    request_hash    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    filled_at       INTEGER,
    cancelled_at    INTEGER
) STRICT;
CREATE INDEX orders_account ON orders (account_id, created_at);
-- Each Idempotency-Key executes once per user.
CREATE UNIQUE INDEX orders_idempotency ON orders (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE withdrawals (
    id              TEXT    NOT NULL PRIMARY KEY,
    account_id      TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id         TEXT    NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    idempotency_key TEXT,
    request_hash    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX withdrawals_account ON withdrawals (account_id, created_at);
CREATE UNIQUE INDEX withdrawals_idempotency ON withdrawals (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE profiles (
    user_id      TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name TEXT    NOT NULL,
    phone        TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE profiles;
DROP TABLE withdrawals;
DROP TABLE orders;
DROP TABLE positions;
DROP TABLE accounts;
