-- Figures of each user's history kept as it is written, so that the first
-- page's totalCount and the stats over a whole history read a few rows
-- instead of every one of a user's requests (1,000,000 of them took seconds).
-- user_history_totals holds one row a user; history_rollups one row a user
-- and quarter-hour of creation, one a user and hour, and one a user and UTC
-- day (every time zone's offset is a whole number of quarter-hours, so any
-- zone's hours, days and weeks are sums of them; the hours and days make
-- those sums short: two years of a busy user's daily stats read 700 rows
-- in UTC, not 70,000).
-- Both are maintained by a trigger on responses, in the transaction that
-- writes the rows, so they are exact whenever the rows are visible; rows go
-- with their user (ON DELETE CASCADE). A response is never updated, and
-- deleted only with its request and user.
CREATE TABLE user_history_totals (
    user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    requests      bigint NOT NULL,
    ok            bigint NOT NULL,
    refused       bigint NOT NULL,
    positives     bigint NOT NULL,
    sum_prob      double precision,
    min_prob      double precision,
    max_prob      double precision,
    first_created timestamptz NOT NULL,
    last_created  timestamptz NOT NULL,
    -- binN counts the predictions with yhat_prob in [N/10, (N+1)/10), the
    -- last bin 1 as well, as StatsHistogram bins them.
    bin0 bigint NOT NULL, bin1 bigint NOT NULL, bin2 bigint NOT NULL, bin3 bigint NOT NULL, bin4 bigint NOT NULL,
    bin5 bigint NOT NULL, bin6 bigint NOT NULL, bin7 bigint NOT NULL, bin8 bigint NOT NULL, bin9 bigint NOT NULL
);

--bun:split

CREATE TABLE history_rollups (
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The row's length in seconds: 900, 3600, 21600 or 86400.
    grain         integer NOT NULL CHECK (grain IN (900, 3600, 21600, 86400)),
    -- Unix seconds of its start (a multiple of grain).
    bucket_start  bigint NOT NULL,
    requests      bigint NOT NULL,
    ok            bigint NOT NULL,
    refused       bigint NOT NULL,
    positives     bigint NOT NULL,
    sum_prob      double precision,
    min_prob      double precision,
    max_prob      double precision,
    first_created timestamptz NOT NULL,
    last_created  timestamptz NOT NULL,
    PRIMARY KEY (user_id, grain, bucket_start)
);

--bun:split

-- One statement's new responses, added per user and per user and
-- quarter-hour. Rows are upserted in key order, so that two writers lock
-- them in the same order and cannot deadlock.
CREATE FUNCTION history_rollup_responses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO history_rollups AS r (user_id, grain, bucket_start, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created)
    SELECT user_id, g.grain, (floor(extract(epoch FROM created_datetime) / g.grain) * g.grain)::bigint,
        count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'invalid_input'),
        COALESCE(sum(yhat), 0), sum(yhat_prob), min(yhat_prob), max(yhat_prob),
        min(created_datetime), max(created_datetime)
    FROM new_responses CROSS JOIN (VALUES (900), (3600), (21600), (86400)) AS g (grain)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (user_id, grain, bucket_start) DO UPDATE SET
        requests = r.requests + EXCLUDED.requests,
        ok = r.ok + EXCLUDED.ok,
        refused = r.refused + EXCLUDED.refused,
        positives = r.positives + EXCLUDED.positives,
        sum_prob = CASE WHEN r.sum_prob IS NULL THEN EXCLUDED.sum_prob
            WHEN EXCLUDED.sum_prob IS NULL THEN r.sum_prob ELSE r.sum_prob + EXCLUDED.sum_prob END,
        min_prob = LEAST(r.min_prob, EXCLUDED.min_prob),
        max_prob = GREATEST(r.max_prob, EXCLUDED.max_prob),
        first_created = LEAST(r.first_created, EXCLUDED.first_created),
        last_created = GREATEST(r.last_created, EXCLUDED.last_created);

    INSERT INTO user_history_totals AS t (user_id, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created,
        bin0, bin1, bin2, bin3, bin4, bin5, bin6, bin7, bin8, bin9)
    SELECT user_id, count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'invalid_input'),
        COALESCE(sum(yhat), 0), sum(yhat_prob), min(yhat_prob), max(yhat_prob),
        min(created_datetime), max(created_datetime),
        count(*) FILTER (WHERE bin = 0), count(*) FILTER (WHERE bin = 1), count(*) FILTER (WHERE bin = 2),
        count(*) FILTER (WHERE bin = 3), count(*) FILTER (WHERE bin = 4), count(*) FILTER (WHERE bin = 5),
        count(*) FILTER (WHERE bin = 6), count(*) FILTER (WHERE bin = 7), count(*) FILTER (WHERE bin = 8),
        count(*) FILTER (WHERE bin = 9)
    FROM (SELECT *, CASE WHEN yhat_prob * 10 >= 9 THEN 9 ELSE floor(yhat_prob * 10) END AS bin FROM new_responses) AS n
    GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
        requests = t.requests + EXCLUDED.requests,
        ok = t.ok + EXCLUDED.ok,
        refused = t.refused + EXCLUDED.refused,
        positives = t.positives + EXCLUDED.positives,
        sum_prob = CASE WHEN t.sum_prob IS NULL THEN EXCLUDED.sum_prob
            WHEN EXCLUDED.sum_prob IS NULL THEN t.sum_prob ELSE t.sum_prob + EXCLUDED.sum_prob END,
        min_prob = LEAST(t.min_prob, EXCLUDED.min_prob),
        max_prob = GREATEST(t.max_prob, EXCLUDED.max_prob),
        first_created = LEAST(t.first_created, EXCLUDED.first_created),
        last_created = GREATEST(t.last_created, EXCLUDED.last_created),
        bin0 = t.bin0 + EXCLUDED.bin0, bin1 = t.bin1 + EXCLUDED.bin1, bin2 = t.bin2 + EXCLUDED.bin2,
        bin3 = t.bin3 + EXCLUDED.bin3, bin4 = t.bin4 + EXCLUDED.bin4, bin5 = t.bin5 + EXCLUDED.bin5,
        bin6 = t.bin6 + EXCLUDED.bin6, bin7 = t.bin7 + EXCLUDED.bin7, bin8 = t.bin8 + EXCLUDED.bin8,
        bin9 = t.bin9 + EXCLUDED.bin9;
    RETURN NULL;
END
$$;

--bun:split

-- Recomputes one user's quarter-hour from the rows, when a request's
-- creation time moves: minimum and maximum cannot be taken back by
-- subtraction.
CREATE FUNCTION history_rollup_recompute(uid bigint, at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    g integer;
    bucket bigint;
BEGIN
    FOREACH g IN ARRAY ARRAY[900, 3600, 21600, 86400] LOOP
    bucket := (floor(extract(epoch FROM at) / g) * g)::bigint;
    DELETE FROM history_rollups WHERE user_id = uid AND grain = g AND bucket_start = bucket;
    INSERT INTO history_rollups (user_id, grain, bucket_start, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created)
    SELECT uid, g, bucket, count(*), count(*) FILTER (WHERE r.status = 'ok'),
        count(*) FILTER (WHERE r.status = 'invalid_input'), COALESCE(sum(r.yhat), 0),
        sum(r.yhat_prob), min(r.yhat_prob), max(r.yhat_prob), min(q.created_datetime), max(q.created_datetime)
    FROM requests q JOIN responses r ON r.request_id = q.id
    WHERE q.user_id = uid AND q.created_datetime >= to_timestamp(bucket)
        AND q.created_datetime < to_timestamp(bucket + g)
    HAVING count(*) > 0;
    END LOOP;
END
$$;

--bun:split

CREATE FUNCTION history_rollup_request_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM history_rollup_recompute(NEW.user_id, OLD.created_datetime);
    PERFORM history_rollup_recompute(NEW.user_id, NEW.created_datetime);
    UPDATE user_history_totals SET
        first_created = (SELECT min(created_datetime) FROM requests WHERE user_id = NEW.user_id),
        last_created = (SELECT max(created_datetime) FROM requests WHERE user_id = NEW.user_id)
    WHERE user_id = NEW.user_id;
    RETURN NULL;
END
$$;

--bun:split

CREATE TRIGGER requests_history_rollup_moved AFTER UPDATE OF created_datetime ON requests
    FOR EACH ROW WHEN (OLD.created_datetime IS DISTINCT FROM NEW.created_datetime)
    EXECUTE FUNCTION history_rollup_request_moved();

--bun:split

-- The rows written so far are added up, and the trigger takes over, in one
-- statement: no other writer can slip a row between the two.
DO $$
BEGIN
    LOCK TABLE responses IN SHARE ROW EXCLUSIVE MODE;
    CREATE TRIGGER responses_history_rollup AFTER INSERT ON responses
        REFERENCING NEW TABLE AS new_responses
        FOR EACH STATEMENT EXECUTE FUNCTION history_rollup_responses();
    INSERT INTO history_rollups (user_id, grain, bucket_start, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created)
    SELECT user_id, g.grain, (floor(extract(epoch FROM created_datetime) / g.grain) * g.grain)::bigint,
        count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'invalid_input'),
        COALESCE(sum(yhat), 0), sum(yhat_prob), min(yhat_prob), max(yhat_prob),
        min(created_datetime), max(created_datetime)
    FROM responses CROSS JOIN (VALUES (900), (3600), (21600), (86400)) AS g (grain) GROUP BY 1, 2, 3;
    INSERT INTO user_history_totals (user_id, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created,
        bin0, bin1, bin2, bin3, bin4, bin5, bin6, bin7, bin8, bin9)
    SELECT user_id, count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'invalid_input'),
        COALESCE(sum(yhat), 0), sum(yhat_prob), min(yhat_prob), max(yhat_prob),
        min(created_datetime), max(created_datetime),
        count(*) FILTER (WHERE bin = 0), count(*) FILTER (WHERE bin = 1), count(*) FILTER (WHERE bin = 2),
        count(*) FILTER (WHERE bin = 3), count(*) FILTER (WHERE bin = 4), count(*) FILTER (WHERE bin = 5),
        count(*) FILTER (WHERE bin = 6), count(*) FILTER (WHERE bin = 7), count(*) FILTER (WHERE bin = 8),
        count(*) FILTER (WHERE bin = 9)
    FROM (SELECT *, CASE WHEN yhat_prob * 10 >= 9 THEN 9 ELSE floor(yhat_prob * 10) END AS bin FROM responses) AS n
    GROUP BY user_id;
END
$$;
