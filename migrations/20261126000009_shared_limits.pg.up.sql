-- Attempt counters that every mlapi process on this database shares: the
-- login limit per username and the login and registration limits per
-- client address (store.CountAttempt). One row per limiter and key, counting
-- the attempts of the window that began with the key's first attempt; a row
-- whose window has ended counts nothing: the key's next attempt starts a
-- new window in it, or pruning deletes it. Counting is one upsert, so
-- processes counting the same key at once each get their own count.
CREATE TABLE attempt_counters (
    limiter             text NOT NULL CHECK (limiter <> ''),
    key                 text NOT NULL,
    attempts            integer NOT NULL CHECK (attempts > 0),
    window_end_datetime timestamptz NOT NULL,
    PRIMARY KEY (limiter, key)
);

--bun:split

-- Pruning deletes by the end of the window.
CREATE INDEX attempt_counters_window_end_datetime_idx ON attempt_counters (window_end_datetime);
