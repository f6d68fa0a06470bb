-- Idempotency keys are written in the effect's transaction, keyed by principal (not by the token's spelling);
-- a row exists only for a finished request.
DROP TABLE idempotency;
CREATE TABLE idempotency (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Every node LISTENs on crewcall_log: a commit that appends to the log wakes them (delivered at commit).
CREATE FUNCTION crewcall_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crewcall_log', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION crewcall_log_notify();
