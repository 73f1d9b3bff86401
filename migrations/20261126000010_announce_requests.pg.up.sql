-- Every logged request is announced to the processes listening on
-- mlapi_live (internal/live), by the transaction that logs it: the
-- notification is delivered when, and only if, that transaction commits,
-- whichever process or tool wrote the rows, and costs no statement or
-- commit of its own. The payload is internal/live's Event: kind, user,
-- request; a batch's requests are announced in id order.
CREATE FUNCTION announce_logged_requests() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    logged record;
BEGIN
    FOR logged IN SELECT user_id, id FROM new_requests ORDER BY id LOOP
        PERFORM pg_notify('mlapi_live', json_build_object('k', 'request', 'u', logged.user_id, 'r', logged.id)::text);
    END LOOP;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER requests_announce AFTER INSERT ON requests
    REFERENCING NEW TABLE AS new_requests
    FOR EACH STATEMENT EXECUTE FUNCTION announce_logged_requests();
