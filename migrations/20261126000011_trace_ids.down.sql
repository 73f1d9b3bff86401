-- Drops the column with its CHECK, on both databases.
ALTER TABLE requests DROP COLUMN trace_id;
