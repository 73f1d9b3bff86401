-- See the PostgreSQL file for what these are for. Times are TEXT in bun's
-- UTC layout, as in the initial migration, so text order is time order.
CREATE TABLE outcomes (
    request_id        INTEGER PRIMARY KEY NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    outcome           INTEGER NOT NULL CHECK (outcome IN (0, 1)),
    observed_datetime TEXT NOT NULL,
    created_datetime  TEXT NOT NULL,
    updated_datetime  TEXT NOT NULL
);

--bun:split

CREATE INDEX requests_user_id_created_datetime_idx ON requests (user_id, created_datetime);
