-- The sandbox API's paper-trading ledger (store/ledger.go). Money is bigint
-- cents and quantities are bigint shares. The CHECK constraints restate
-- what the conditional UPDATEs in ledger.go already guarantee, so that no
-- code path, present or future, can store a negative balance.

-- +goose Up
-- One paper account per user, created on first use (UNIQUE makes the
-- creation race-free).
CREATE TABLE accounts (
    id         text        NOT NULL PRIMARY KEY,
    user_id    text        NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    currency   text        NOT NULL,
    cash       bigint      NOT NULL CHECK (cash >= 0),
    created_at timestamptz NOT NULL
);

CREATE TABLE positions (
    account_id text        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    symbol     text        NOT NULL,
    quantity   bigint      NOT NULL CHECK (quantity > 0),
    cost       bigint      NOT NULL CHECK (cost >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, symbol)
);

CREATE TABLE orders (
    id              text        NOT NULL PRIMARY KEY,
    account_id      text        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id         text        NOT NULL,
    symbol          text        NOT NULL,
    side            text        NOT NULL CHECK (side IN ('buy', 'sell')),
    type            text        NOT NULL CHECK (type IN ('market', 'limit')),
    quantity        bigint      NOT NULL CHECK (quantity > 0),
    limit_price     bigint      NOT NULL CHECK (limit_price >= 0), -- 0 for market orders
    status          text        NOT NULL CHECK (status IN ('open', 'filled', 'cancelled')),
    fill_price      bigint      NOT NULL CHECK (fill_price >= 0),  -- 0 until filled
    idempotency_key text,                                          -- NULL when none was sent
    request_hash    text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    filled_at       timestamptz,
    cancelled_at    timestamptz
);
CREATE INDEX orders_account ON orders (account_id, created_at);
-- Each Idempotency-Key executes once per user.
CREATE UNIQUE INDEX orders_idempotency ON orders (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE withdrawals (
    id              text        NOT NULL PRIMARY KEY,
    account_id      text        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id         text        NOT NULL,
    amount          bigint      NOT NULL CHECK (amount > 0),
    idempotency_key text,
    request_hash    text        NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX withdrawals_account ON withdrawals (account_id, created_at);
CREATE UNIQUE INDEX withdrawals_idempotency ON withdrawals (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE profiles (
    user_id      text        NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name text        NOT NULL,
    phone        text        NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- +goose Down
DROP TABLE profiles;
DROP TABLE withdrawals;
DROP TABLE orders;
DROP TABLE positions;
DROP TABLE accounts;
