-- What really happened for a request (ground truth), recorded by the
-- request's owner: at most one per request, replaced when recorded again.
CREATE TABLE outcomes (
    request_id        bigint PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    outcome           boolean NOT NULL,
    observed_datetime timestamptz NOT NULL,
    created_datetime  timestamptz NOT NULL,
    updated_datetime  timestamptz NOT NULL
);

--bun:split

-- A user's history by time: the from/until filters and the stats buckets.
CREATE INDEX requests_user_id_created_datetime_idx ON requests (user_id, created_datetime);
