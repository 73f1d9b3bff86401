-- See the PostgreSQL file for what these are for. Times are TEXT in bun's
-- UTC layout, as in the initial migration.
CREATE TABLE audit_chains (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id           TEXT NOT NULL,
    started_datetime TEXT NOT NULL,
    head_seq         INTEGER NOT NULL DEFAULT 0,
    head_hash        BLOB NOT NULL DEFAULT X''
);

--bun:split

ALTER TABLE requests ADD COLUMN audit_chain INTEGER;

--bun:split

ALTER TABLE requests ADD COLUMN audit_seq INTEGER;

--bun:split

ALTER TABLE requests ADD COLUMN audit_hash BLOB;

--bun:split

CREATE UNIQUE INDEX requests_audit_chain_seq_idx ON requests (audit_chain, audit_seq) WHERE audit_chain IS NOT NULL;

--bun:split

CREATE TABLE audit_checkpoints (
    chain_id         INTEGER NOT NULL,
    from_seq         INTEGER NOT NULL,
    to_seq           INTEGER NOT NULL CHECK (to_seq > from_seq),
    to_hash          BLOB NOT NULL,
    reason           TEXT NOT NULL,
    seal             BLOB NOT NULL,
    created_datetime TEXT NOT NULL,
    PRIMARY KEY (chain_id, from_seq)
);

--bun:split

CREATE UNIQUE INDEX audit_checkpoints_chain_id_to_seq_idx ON audit_checkpoints (chain_id, to_seq);

--bun:split

CREATE TABLE audit_genesis (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    requests         INTEGER NOT NULL,
    max_request_id   INTEGER NOT NULL,
    created_datetime TEXT NOT NULL
);

--bun:split

-- The migration's transaction holds SQLite's one writer: no request can be
-- written between the count and the chains.
INSERT INTO audit_genesis (id, requests, max_request_id, created_datetime)
SELECT 1, count(*), COALESCE(max(id), 0), strftime('%Y-%m-%d %H:%M:%f', 'now') || '+00:00' FROM requests;
