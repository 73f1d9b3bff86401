-- AUTOINCREMENT (not just INTEGER PRIMARY KEY) so an id is never reused after
-- the newest row is deleted: id order stays insertion order, as on PostgreSQL.
--
-- Times are TEXT in bun's UTC layout, '2006-01-02 15:04:05.999999+00:00':
-- with one fixed offset, text order is time order, so range filters compare
-- correctly without any date function.
CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    username         TEXT NOT NULL CHECK (username <> ''),
    email            TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    enabled          BOOLEAN NOT NULL DEFAULT TRUE CHECK (enabled IN (0, 1)),
    created_datetime TEXT NOT NULL,
    updated_datetime TEXT NOT NULL
);

--bun:split

-- SQLite's lower() folds ASCII letters only; PostgreSQL's follows the locale.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

--bun:split

-- SQLite has no JSON type: the CHECK keeps the column as strict as
-- PostgreSQL's json while storing the text unchanged.
CREATE TABLE requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    input            TEXT NOT NULL CHECK (json_valid(input)),
    created_datetime TEXT NOT NULL,
    updated_datetime TEXT NOT NULL
);

--bun:split

CREATE INDEX requests_user_id_id_idx ON requests (user_id, id DESC);

--bun:split

CREATE TABLE responses (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id       INTEGER NOT NULL UNIQUE REFERENCES requests (id) ON DELETE CASCADE,
    output           TEXT NOT NULL CHECK (json_valid(output)),
    yhat_prob        DOUBLE PRECISION CHECK (yhat_prob BETWEEN 0 AND 1),
    yhat             SMALLINT CHECK (yhat IN (0, 1)),
    model_version    TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('ok', 'invalid_input')),
    error_code       TEXT,
    created_datetime TEXT NOT NULL,
    updated_datetime TEXT NOT NULL,
    CONSTRAINT responses_outcome_check CHECK (
        (status = 'ok' AND yhat_prob IS NOT NULL AND yhat IS NOT NULL AND error_code IS NULL)
        OR (status = 'invalid_input' AND yhat_prob IS NULL AND yhat IS NULL AND error_code IS NOT NULL)
    )
);
