-- tradeplat schema, version 7: an order's insert and the first batch of the
-- book it may trade with, in one round trip (`tradeplat.services.orders`).
--
-- When `p_match`, the symbol's matching lock is taken first, so the order's row
-- (and its time priority, `seq`) is made under it. Then the order is inserted
-- (nothing when (account, client order id) exists: no row returned). When it
-- was, and `p_match`, the resting orders it may trade with follow it in the
-- result: the best opposite price first, then time priority, at most `p_batch`,
-- row-locked, read with a snapshot taken after the lock (each statement of a
-- VOLATILE function takes a new one in READ COMMITTED), so the orders of the
-- lock's previous holder are seen.
CREATE FUNCTION tradeplat_place_order(
    p_order_id uuid, p_account_id text, p_client_order_id text, p_request_sha256 bytea,
    p_symbol text, p_side text, p_order_type text, p_quantity bigint, p_limit_price numeric,
    p_status text, p_reject_reason text, p_match boolean, p_lock_class integer,
    p_match_price numeric, p_batch integer
) RETURNS SETOF orders LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    placed orders%ROWTYPE;
BEGIN
    IF p_match THEN
        PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_symbol));
    END IF;
    INSERT INTO orders (order_id, account_id, client_order_id, request_sha256, symbol, side,
                        order_type, quantity, limit_price, status, reject_reason)
    VALUES (p_order_id, p_account_id, p_client_order_id, p_request_sha256, p_symbol, p_side,
            p_order_type, p_quantity, p_limit_price, p_status, p_reject_reason)
    ON CONFLICT (account_id, client_order_id) DO NOTHING
    RETURNING * INTO placed;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN NEXT placed;
    IF NOT p_match THEN
        RETURN;
    END IF;
    IF p_side = 'BUY' THEN
        RETURN QUERY SELECT * FROM orders
            WHERE symbol = p_symbol AND side = 'SELL' AND status IN ('NEW', 'PARTIALLY_FILLED')
              AND (p_match_price IS NULL OR limit_price <= p_match_price)
            ORDER BY limit_price ASC, seq ASC LIMIT p_batch FOR UPDATE;
    ELSE
        RETURN QUERY SELECT * FROM orders
            WHERE symbol = p_symbol AND side = 'BUY' AND status IN ('NEW', 'PARTIALLY_FILLED')
              AND (p_match_price IS NULL OR limit_price >= p_match_price)
            ORDER BY limit_price DESC, seq ASC LIMIT p_batch FOR UPDATE;
    END IF;
END
$$;
