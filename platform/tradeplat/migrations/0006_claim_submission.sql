-- tradeplat schema, version 6: an order submission's idempotency check and
-- account lock in one round trip (`tradeplat.services.orders.submission`).
--
-- In the submission's transaction: the (account, client order id) row when it
-- exists, read before any lock (a retry never queues behind new orders). Else,
-- when `take_lock`, the transaction's timeouts are set (`lock_timeout` first,
-- so it bounds the wait), the account's advisory lock is taken, and the row is
-- read again: each statement of a VOLATILE function takes a new snapshot in READ
-- COMMITTED, so a twin committed while this one waited for the lock is seen.
CREATE FUNCTION tradeplat_claim_submission(
    p_lock_class integer, p_account_id text, p_client_order_id text,
    p_hold_ms text, p_wait_ms text, p_take_lock boolean
) RETURNS SETOF orders LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY SELECT * FROM orders
        WHERE account_id = p_account_id AND client_order_id = p_client_order_id;
    IF FOUND OR NOT p_take_lock THEN
        RETURN;
    END IF;
    PERFORM set_config('lock_timeout', p_wait_ms, true),
            set_config('statement_timeout', p_wait_ms, true),
            set_config('idle_in_transaction_session_timeout', p_hold_ms, true);
    PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_account_id));
    RETURN QUERY SELECT * FROM orders
        WHERE account_id = p_account_id AND client_order_id = p_client_order_id;
END
$$;
