-- See the PostgreSQL file for what this is for; on SQLite, where one
-- process owns the database, the server keeps its counters in memory and
-- the table stays empty, but the schema is the same. Times are TEXT in
-- bun's UTC layout, as in the initial migration, so text order is time
-- order.
CREATE TABLE attempt_counters (
    limiter             TEXT NOT NULL CHECK (limiter <> ''),
    key                 TEXT NOT NULL,
    attempts            INTEGER NOT NULL CHECK (attempts > 0),
    window_end_datetime TEXT NOT NULL,
    PRIMARY KEY (limiter, key)
);

--bun:split

CREATE INDEX attempt_counters_window_end_datetime_idx ON attempt_counters (window_end_datetime);
