-- Cache invalidation across processes: every node keeps clients, resource servers and signing keys
-- in memory (client metadata validation is expensive) and LISTENs on channel `idserver_cache`.
-- A change anywhere (CLI, admin API, another node, psql) notifies "<table>:<primary key>".
-- Notifications are sent at COMMIT only, and not at all on ROLLBACK, so listeners never reload
-- uncommitted state. Prisma does not model triggers, so `db:diff` neither creates nor drops these.

-- The primary key column is the trigger argument (default `id`), so one function serves tables
-- whose key is named differently (signing_keys.kid).
CREATE OR REPLACE FUNCTION idserver_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pk_col text := COALESCE(TG_ARGV[0], 'id');
    new_key text := to_jsonb(NEW) ->> pk_col;  -- NEW is NULL on DELETE
    old_key text := to_jsonb(OLD) ->> pk_col;  -- OLD is NULL on INSERT
BEGIN
    PERFORM pg_notify('idserver_cache', TG_TABLE_NAME || ':' || COALESCE(new_key, old_key));
    -- A primary key changed by UPDATE: the old key must be evicted too.
    IF old_key IS DISTINCT FROM new_key AND new_key IS NOT NULL AND old_key IS NOT NULL THEN
        PERFORM pg_notify('idserver_cache', TG_TABLE_NAME || ':' || old_key);
    END IF;
    RETURN NULL;  -- AFTER trigger: the return value is ignored
END;
$$;

CREATE TRIGGER clients_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON "clients"
    FOR EACH ROW EXECUTE FUNCTION idserver_notify_change('id');

CREATE TRIGGER resource_servers_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON "resource_servers"
    FOR EACH ROW EXECUTE FUNCTION idserver_notify_change('id');

CREATE TRIGGER signing_keys_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON "signing_keys"
    FOR EACH ROW EXECUTE FUNCTION idserver_notify_change('kid');
