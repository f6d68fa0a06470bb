-- An agency holds several API keys, each revocable; the key an agency was created with is its first.
CREATE TABLE agency_keys (
    id         INTEGER PRIMARY KEY,
    agency_id  BIGINT NOT NULL REFERENCES agencies(id),
    key_hash   TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX agency_keys_by_agency ON agency_keys (agency_id, id);
INSERT INTO agency_keys (agency_id, key_hash, label, created_at)
    SELECT id, api_key_hash, 'first key', created_at FROM agencies ORDER BY id;
