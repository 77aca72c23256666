-- tradeplat schema, version 2: indexes for the hot paths of risk and portfolio.

-- risk: an account's open orders (buying power, position including open orders)
-- without scanning its whole order history.
CREATE INDEX orders_open_by_account ON orders (account_id, symbol, side)
    WHERE status IN ('NEW', 'PARTIALLY_FILLED');

-- portfolio: the ledger of one account, newest first.
CREATE INDEX ledger_account_recent ON ledger_entries (account_id, entry_id DESC);
