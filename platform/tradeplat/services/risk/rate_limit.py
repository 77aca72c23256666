"""A per-account token bucket in PostgreSQL, shared by every risk replica.

One statement per check (``TAKE_TOKEN``, run with the exposure query as
``routes.CHECK_WITH_TOKEN``): it refills the account's bucket for
the time since its last check (database clock), takes a token when one is
there and says whether it did. The bucket holds up to one second's worth of
tokens (burst = rate, at least 1). A denied check takes nothing, so a client
that keeps retrying is let through at the rate, not starved. The rate is the
account's ``risk_limits.max_orders_per_second`` (read in the same statement,
so a changed limit applies at the next check), else the configured default.
"""

from __future__ import annotations

import asyncpg

#: The bucket's level now: what it held, plus the refill since, capped at the burst.
_LEVEL = (
    "least(greatest(1, EXCLUDED.rate_per_s), b.tokens + EXCLUDED.rate_per_s * "
    "greatest(0, extract(epoch FROM EXCLUDED.refilled_at - b.refilled_at)::float8))"
)

TAKE_TOKEN = f"""
INSERT INTO rate_limit_buckets AS b (account_id, tokens, rate_per_s, refilled_at, granted)
SELECT $1, greatest(1, r.rate) - 1, r.rate, statement_timestamp(), true
FROM (SELECT COALESCE((SELECT NULLIF(max_orders_per_second, 0) FROM risk_limits
                       WHERE account_id = $1), $2)::float8 AS rate) AS r
ON CONFLICT (account_id) DO UPDATE SET
    tokens = CASE WHEN {_LEVEL} >= 1 THEN {_LEVEL} - 1 ELSE {_LEVEL} END,
    rate_per_s = EXCLUDED.rate_per_s,
    refilled_at = EXCLUDED.refilled_at,
    granted = {_LEVEL} >= 1
RETURNING granted, tokens, rate_per_s
"""


def wait_s(row: asyncpg.Record) -> float:
    """0 when a ``TAKE_TOKEN`` row says granted, else the seconds until a token is due."""
    if row["granted"]:
        return 0.0
    return max(0.001, (1.0 - row["tokens"]) / row["rate_per_s"])
