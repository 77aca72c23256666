-- tradeplat schema, version 4: an account's trades not yet in the ledger.
--
-- A fill leaves the open orders in the matching transaction, but reaches the
-- balances only when portfolio's relay applies its outbox event. Risk counts
-- the account's undelivered trade events (as buyer and as seller) into cash
-- and positions, so the relay's delay cannot be spent twice. These partial
-- indexes hold only pending trade events (a handful, or the backlog of a
-- portfolio outage): each check reads the account's own, never the backlog.
CREATE INDEX outbox_pending_buyer ON outbox ((payload->>'buyer_account_id'))
    WHERE delivered_at IS NULL AND topic = 'trade';
CREATE INDEX outbox_pending_seller ON outbox ((payload->>'seller_account_id'))
    WHERE delivered_at IS NULL AND topic = 'trade';
