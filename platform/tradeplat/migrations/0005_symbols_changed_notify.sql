-- tradeplat schema, version 5: every change to `symbols` is announced.
--
-- Replicas serve the symbol list (and tick sizes, halts) from memory; a change
-- to the table, by the API or by hand, notifies channel `tradeplat_symbols`
-- with its commit, and every replica listening forgets its copy at once
-- (`tradeplat.symbols.watch_symbol_changes`).
CREATE FUNCTION tradeplat_symbols_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tradeplat_symbols', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER symbols_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON symbols
    FOR EACH STATEMENT EXECUTE FUNCTION tradeplat_symbols_changed();
