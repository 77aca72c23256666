-- tradeplat schema, version 3: risk's per-account rate limit, shared by every
-- risk replica (it used to live in each replica's memory: N replicas let an
-- account through N times its limit).
--
-- One token bucket per account: `tokens` as of `refilled_at` (the database's
-- clock, so replicas' clocks do not matter), refilled at `rate_per_s` up to a
-- burst of max(1, rate_per_s). risk takes a token with one INSERT … ON
-- CONFLICT DO UPDATE per check; the row lock serializes one account's checks
-- for the length of that statement. `granted` is the answer of the last check.
-- UNLOGGED: throttling state is not worth WAL; after a crash the table is
-- empty, i.e. every bucket full, which is what an idle minute gives anyway.
CREATE UNLOGGED TABLE rate_limit_buckets (
    account_id   text              PRIMARY KEY,
    tokens       double precision  NOT NULL,
    rate_per_s   double precision  NOT NULL CHECK (rate_per_s > 0),
    refilled_at  timestamptz       NOT NULL,
    granted      boolean           NOT NULL
) WITH (fillfactor = 50);
