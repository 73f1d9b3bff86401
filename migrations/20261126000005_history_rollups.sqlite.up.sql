-- See the PostgreSQL file for what these are for. SQLite has no statement
-- triggers: the trigger adds each response as it is written, in the
-- writer's transaction (SQLite has one writer, so there is no contention on
-- the rows). Times are TEXT in bun's UTC layout, as in the initial
-- migration, so text order is time order; unixepoch reads them.
CREATE TABLE user_history_totals (
    user_id       INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    requests      INTEGER NOT NULL,
    ok            INTEGER NOT NULL,
    refused       INTEGER NOT NULL,
    positives     INTEGER NOT NULL,
    sum_prob      REAL,
    min_prob      REAL,
    max_prob      REAL,
    first_created TEXT NOT NULL,
    last_created  TEXT NOT NULL,
    bin0 INTEGER NOT NULL, bin1 INTEGER NOT NULL, bin2 INTEGER NOT NULL, bin3 INTEGER NOT NULL, bin4 INTEGER NOT NULL,
    bin5 INTEGER NOT NULL, bin6 INTEGER NOT NULL, bin7 INTEGER NOT NULL, bin8 INTEGER NOT NULL, bin9 INTEGER NOT NULL
);

--bun:split

CREATE TABLE history_rollups (
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grain         INTEGER NOT NULL CHECK (grain IN (900, 3600, 21600, 86400)),
    bucket_start  INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    ok            INTEGER NOT NULL,
    refused       INTEGER NOT NULL,
    positives     INTEGER NOT NULL,
    sum_prob      REAL,
    min_prob      REAL,
    max_prob      REAL,
    first_created TEXT NOT NULL,
    last_created  TEXT NOT NULL,
    PRIMARY KEY (user_id, grain, bucket_start)
);

--bun:split

-- SQLite's min() and max() of two arguments return NULL when either is,
-- hence the COALESCEs; sum_prob likewise.
CREATE TRIGGER responses_history_rollup AFTER INSERT ON responses
BEGIN
    -- WHERE true: SQLite's grammar needs it between a SELECT and ON CONFLICT.
    INSERT INTO history_rollups (user_id, grain, bucket_start, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created)
    SELECT NEW.user_id, g.column1, unixepoch(NEW.created_datetime) / g.column1 * g.column1, 1,
        NEW.status = 'ok', NEW.status = 'invalid_input', COALESCE(NEW.yhat, 0),
        NEW.yhat_prob, NEW.yhat_prob, NEW.yhat_prob, NEW.created_datetime, NEW.created_datetime
    FROM (VALUES (900), (3600), (21600), (86400)) AS g WHERE true
    ON CONFLICT (user_id, grain, bucket_start) DO UPDATE SET
        requests = requests + excluded.requests,
        ok = ok + excluded.ok,
        refused = refused + excluded.refused,
        positives = positives + excluded.positives,
        sum_prob = CASE WHEN sum_prob IS NULL THEN excluded.sum_prob
            WHEN excluded.sum_prob IS NULL THEN sum_prob ELSE sum_prob + excluded.sum_prob END,
        min_prob = COALESCE(min(min_prob, excluded.min_prob), min_prob, excluded.min_prob),
        max_prob = COALESCE(max(max_prob, excluded.max_prob), max_prob, excluded.max_prob),
        first_created = min(first_created, excluded.first_created),
        last_created = max(last_created, excluded.last_created);
    INSERT INTO user_history_totals (user_id, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created,
        bin0, bin1, bin2, bin3, bin4, bin5, bin6, bin7, bin8, bin9)
    VALUES (NEW.user_id, 1, NEW.status = 'ok', NEW.status = 'invalid_input', COALESCE(NEW.yhat, 0),
        NEW.yhat_prob, NEW.yhat_prob, NEW.yhat_prob, NEW.created_datetime, NEW.created_datetime,
        IFNULL(NEW.yhat_prob * 10 < 1, 0),
        IFNULL(NEW.yhat_prob * 10 >= 1 AND NEW.yhat_prob * 10 < 2, 0),
        IFNULL(NEW.yhat_prob * 10 >= 2 AND NEW.yhat_prob * 10 < 3, 0),
        IFNULL(NEW.yhat_prob * 10 >= 3 AND NEW.yhat_prob * 10 < 4, 0),
        IFNULL(NEW.yhat_prob * 10 >= 4 AND NEW.yhat_prob * 10 < 5, 0),
        IFNULL(NEW.yhat_prob * 10 >= 5 AND NEW.yhat_prob * 10 < 6, 0),
        IFNULL(NEW.yhat_prob * 10 >= 6 AND NEW.yhat_prob * 10 < 7, 0),
        IFNULL(NEW.yhat_prob * 10 >= 7 AND NEW.yhat_prob * 10 < 8, 0),
        IFNULL(NEW.yhat_prob * 10 >= 8 AND NEW.yhat_prob * 10 < 9, 0),
        IFNULL(NEW.yhat_prob * 10 >= 9, 0))
    ON CONFLICT (user_id) DO UPDATE SET
        requests = requests + excluded.requests,
        ok = ok + excluded.ok,
        refused = refused + excluded.refused,
        positives = positives + excluded.positives,
        sum_prob = CASE WHEN sum_prob IS NULL THEN excluded.sum_prob
            WHEN excluded.sum_prob IS NULL THEN sum_prob ELSE sum_prob + excluded.sum_prob END,
        min_prob = COALESCE(min(min_prob, excluded.min_prob), min_prob, excluded.min_prob),
        max_prob = COALESCE(max(max_prob, excluded.max_prob), max_prob, excluded.max_prob),
        first_created = min(first_created, excluded.first_created),
        last_created = max(last_created, excluded.last_created),
        bin0 = bin0 + excluded.bin0, bin1 = bin1 + excluded.bin1, bin2 = bin2 + excluded.bin2,
        bin3 = bin3 + excluded.bin3, bin4 = bin4 + excluded.bin4, bin5 = bin5 + excluded.bin5,
        bin6 = bin6 + excluded.bin6, bin7 = bin7 + excluded.bin7, bin8 = bin8 + excluded.bin8,
        bin9 = bin9 + excluded.bin9;
END;

--bun:split

-- A request whose creation time is changed (by hand: mlapi never does) has
-- its quarter-hours recomputed from the rows, old and new, and its user's
-- first and last times: a minimum cannot be taken back by subtraction.
CREATE TRIGGER requests_history_rollup_moved AFTER UPDATE OF created_datetime ON requests
    WHEN OLD.created_datetime IS NOT NEW.created_datetime
BEGIN
    DELETE FROM history_rollups WHERE user_id = NEW.user_id
        AND bucket_start = unixepoch(OLD.created_datetime) / grain * grain;
    INSERT INTO history_rollups (user_id, grain, bucket_start, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created)
    SELECT NEW.user_id, g.column1, unixepoch(OLD.created_datetime) / g.column1 * g.column1, count(*),
        SUM(r.status = 'ok'), SUM(r.status = 'invalid_input'), COALESCE(SUM(r.yhat), 0),
        SUM(r.yhat_prob), MIN(r.yhat_prob), MAX(r.yhat_prob), MIN(q.created_datetime), MAX(q.created_datetime)
    FROM (VALUES (900), (3600), (21600), (86400)) AS g
        JOIN requests q ON q.user_id = NEW.user_id
            AND unixepoch(q.created_datetime) / g.column1 = unixepoch(OLD.created_datetime) / g.column1
        JOIN responses r ON r.request_id = q.id
    GROUP BY g.column1;
    DELETE FROM history_rollups WHERE user_id = NEW.user_id
        AND bucket_start = unixepoch(NEW.created_datetime) / grain * grain;
    INSERT INTO history_rollups (user_id, grain, bucket_start, requests, ok, refused, positives,
        sum_prob, min_prob, max_prob, first_created, last_created)
    SELECT NEW.user_id, g.column1, unixepoch(NEW.created_datetime) / g.column1 * g.column1, count(*),
        SUM(r.status = 'ok'), SUM(r.status = 'invalid_input'), COALESCE(SUM(r.yhat), 0),
        SUM(r.yhat_prob), MIN(r.yhat_prob), MAX(r.yhat_prob), MIN(q.created_datetime), MAX(q.created_datetime)
    FROM (VALUES (900), (3600), (21600), (86400)) AS g
        JOIN requests q ON q.user_id = NEW.user_id
            AND unixepoch(q.created_datetime) / g.column1 = unixepoch(NEW.created_datetime) / g.column1
        JOIN responses r ON r.request_id = q.id
    GROUP BY g.column1;
    UPDATE user_history_totals SET
        first_created = (SELECT min(created_datetime) FROM requests WHERE user_id = NEW.user_id),
        last_created = (SELECT max(created_datetime) FROM requests WHERE user_id = NEW.user_id)
    WHERE user_id = NEW.user_id;
END;

--bun:split

-- The rows written before this migration. SQLite has one writer, and this
-- migration holds it.
INSERT INTO history_rollups (user_id, grain, bucket_start, requests, ok, refused, positives,
    sum_prob, min_prob, max_prob, first_created, last_created)
SELECT user_id, g.column1, unixepoch(created_datetime) / g.column1 * g.column1, count(*),
    SUM(status = 'ok'), SUM(status = 'invalid_input'), COALESCE(SUM(yhat), 0),
    SUM(yhat_prob), MIN(yhat_prob), MAX(yhat_prob), MIN(created_datetime), MAX(created_datetime)
FROM responses CROSS JOIN (VALUES (900), (3600), (21600), (86400)) AS g GROUP BY 1, 2, 3;

--bun:split

INSERT INTO user_history_totals (user_id, requests, ok, refused, positives,
    sum_prob, min_prob, max_prob, first_created, last_created,
    bin0, bin1, bin2, bin3, bin4, bin5, bin6, bin7, bin8, bin9)
SELECT user_id, count(*), SUM(status = 'ok'), SUM(status = 'invalid_input'), COALESCE(SUM(yhat), 0),
    SUM(yhat_prob), MIN(yhat_prob), MAX(yhat_prob), MIN(created_datetime), MAX(created_datetime),
    COALESCE(SUM(yhat_prob * 10 < 1), 0), COALESCE(SUM(yhat_prob * 10 >= 1 AND yhat_prob * 10 < 2), 0),
    COALESCE(SUM(yhat_prob * 10 >= 2 AND yhat_prob * 10 < 3), 0), COALESCE(SUM(yhat_prob * 10 >= 3 AND yhat_prob * 10 < 4), 0),
    COALESCE(SUM(yhat_prob * 10 >= 4 AND yhat_prob * 10 < 5), 0), COALESCE(SUM(yhat_prob * 10 >= 5 AND yhat_prob * 10 < 6), 0),
    COALESCE(SUM(yhat_prob * 10 >= 6 AND yhat_prob * 10 < 7), 0), COALESCE(SUM(yhat_prob * 10 >= 7 AND yhat_prob * 10 < 8), 0),
    COALESCE(SUM(yhat_prob * 10 >= 8 AND yhat_prob * 10 < 9), 0), COALESCE(SUM(yhat_prob * 10 >= 9), 0)
FROM responses GROUP BY user_id;
