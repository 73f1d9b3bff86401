DROP TABLE audit_genesis;

--bun:split

DROP TABLE audit_checkpoints;

--bun:split

-- The index goes first: SQLite does not drop an indexed column.
DROP INDEX requests_audit_chain_seq_idx;

--bun:split

ALTER TABLE requests DROP COLUMN audit_hash;

--bun:split

ALTER TABLE requests DROP COLUMN audit_seq;

--bun:split

ALTER TABLE requests DROP COLUMN audit_chain;

--bun:split

DROP TABLE audit_chains;
