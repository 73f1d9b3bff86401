-- The trace a request was served in: see the .pg.up.sql file. SQLite adds a
-- column with a CHECK without rewriting the table.
ALTER TABLE requests ADD COLUMN trace_id text
	CHECK (length(trace_id) = 32 AND trace_id NOT GLOB '*[^0-9a-f]*');
