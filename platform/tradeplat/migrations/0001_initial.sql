-- tradeplat schema, version 1.
-- Money (prices, cash) is NUMERIC with 4 decimals (Python Decimal); quantities
-- are whole shares (BIGINT). Every table has one owning service; other services
-- may read it (never write), as noted per table.

-- gateway owns accounts. API keys are stored as SHA-256 hashes only.
CREATE TABLE accounts (
    account_id      text        PRIMARY KEY,
    name            text        NOT NULL,
    api_key_sha256  bytea       NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- marketdata owns symbols; risk reads trading_halted, orders reads tick size.
CREATE TABLE symbols (
    symbol           text          PRIMARY KEY,
    reference_price  numeric(18,4) NOT NULL CHECK (reference_price > 0),
    tick_size        numeric(18,4) NOT NULL DEFAULT 0.01 CHECK (tick_size > 0),
    trading_halted   boolean       NOT NULL DEFAULT false
);

-- risk owns the platform-wide halt switch and per-account limits.
CREATE TABLE risk_settings (
    id              smallint      PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    trading_halted  boolean       NOT NULL DEFAULT false,
    updated_at      timestamptz   NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO risk_settings (id) VALUES (1);

CREATE TABLE risk_limits (
    account_id            text          PRIMARY KEY REFERENCES accounts,
    max_order_notional    numeric(24,4) NOT NULL,
    max_position          bigint        NOT NULL,
    max_orders_per_second integer       NOT NULL
);

-- orders owns orders, trades and fills, and writes the outbox in the same
-- transaction as the fills it reports.
CREATE TABLE orders (
    order_id         uuid          PRIMARY KEY,
    seq              bigserial     NOT NULL UNIQUE,          -- time priority
    account_id       text          NOT NULL REFERENCES accounts,
    client_order_id  text          NOT NULL,
    request_sha256   bytea         NOT NULL,                 -- detects a reused id with another body (409)
    symbol           text          NOT NULL REFERENCES symbols,
    side             text          NOT NULL CHECK (side IN ('BUY', 'SELL')),
    order_type       text          NOT NULL CHECK (order_type IN ('LIMIT', 'MARKET')),
    quantity         bigint        NOT NULL CHECK (quantity > 0),
    limit_price      numeric(18,4) CHECK (limit_price > 0),
    filled_quantity  bigint        NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
    status           text          NOT NULL CHECK (status IN
                        ('NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED')),
    reject_reason    text,
    created_at       timestamptz   NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz   NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (account_id, client_order_id),
    CHECK (filled_quantity <= quantity),
    CHECK ((order_type = 'LIMIT') = (limit_price IS NOT NULL))
);
CREATE INDEX orders_book ON orders (symbol, side, limit_price, seq)
    WHERE status IN ('NEW', 'PARTIALLY_FILLED');
CREATE INDEX orders_account ON orders (account_id, seq DESC);

-- One row per match; exactly two fills (one BUY, one SELL) per trade.
CREATE TABLE trades (
    trade_id        uuid          PRIMARY KEY,
    seq             bigserial     NOT NULL UNIQUE,
    symbol          text          NOT NULL REFERENCES symbols,
    price           numeric(18,4) NOT NULL CHECK (price > 0),
    quantity        bigint        NOT NULL CHECK (quantity > 0),
    buy_order_id    uuid          NOT NULL REFERENCES orders,
    sell_order_id   uuid          NOT NULL REFERENCES orders,
    aggressor_side  text          NOT NULL CHECK (aggressor_side IN ('BUY', 'SELL')),
    executed_at     timestamptz   NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX trades_symbol_time ON trades (symbol, executed_at);

CREATE TABLE fills (
    fill_id      uuid          PRIMARY KEY,
    trade_id     uuid          NOT NULL REFERENCES trades,
    order_id     uuid          NOT NULL REFERENCES orders,
    account_id   text          NOT NULL REFERENCES accounts,
    symbol       text          NOT NULL,
    side         text          NOT NULL CHECK (side IN ('BUY', 'SELL')),
    price        numeric(18,4) NOT NULL,
    quantity     bigint        NOT NULL CHECK (quantity > 0),
    executed_at  timestamptz   NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX fills_order ON fills (order_id);
CREATE INDEX fills_trade ON fills (trade_id);

-- Transactional outbox: one 'trade' event per trade, written in the matching
-- transaction; portfolio's relay applies it to the ledger and sets delivered_at
-- in the same transaction as the ledger postings.
CREATE TABLE outbox (
    event_id      bigserial    PRIMARY KEY,
    topic         text         NOT NULL,
    aggregate_id  uuid         NOT NULL,                 -- trade_id for topic 'trade'
    payload       jsonb        NOT NULL,
    created_at    timestamptz  NOT NULL DEFAULT clock_timestamp(),
    delivered_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (event_id) WHERE delivered_at IS NULL;

-- portfolio owns the double-entry ledger and the balances derived from it.
-- Every journal (one posting) nets to zero per asset. Asset 'USD' is cash; any
-- other asset is a symbol's shares. Account 'EXTERNAL' is the counter-account
-- of deposits, so the sum over all accounts of every asset is always zero.
CREATE TABLE ledger_entries (
    entry_id    bigserial      PRIMARY KEY,
    journal_id  uuid           NOT NULL,
    kind        text           NOT NULL CHECK (kind IN ('TRADE', 'DEPOSIT')),
    trade_id    uuid,                                    -- set for kind TRADE
    account_id  text           NOT NULL,
    asset       text           NOT NULL,
    amount      numeric(24,4)  NOT NULL,                 -- signed
    created_at  timestamptz    NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ledger_journal ON ledger_entries (journal_id);
CREATE UNIQUE INDEX ledger_trade_once ON ledger_entries (trade_id, account_id, asset)
    WHERE trade_id IS NOT NULL;
CREATE INDEX ledger_account ON ledger_entries (account_id, asset);

CREATE TABLE balances (
    account_id  text           NOT NULL,
    asset       text           NOT NULL,
    amount      numeric(24,4)  NOT NULL DEFAULT 0,
    updated_at  timestamptz    NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (account_id, asset)
);

-- marketdata's simulated quotes (the last simulated mid price per symbol).
CREATE TABLE quotes (
    symbol      text           PRIMARY KEY REFERENCES symbols,
    bid         numeric(18,4)  NOT NULL,
    ask         numeric(18,4)  NOT NULL,
    last        numeric(18,4)  NOT NULL,
    updated_at  timestamptz    NOT NULL DEFAULT clock_timestamp()
);
