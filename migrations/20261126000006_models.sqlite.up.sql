-- See the PostgreSQL file for what this is for. Times are TEXT in bun's UTC
-- layout, as in the initial migration, so text order is time order.
CREATE TABLE models (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    version         TEXT NOT NULL CHECK (version <> ''),
    loaded_datetime TEXT NOT NULL,
    metadata        TEXT NOT NULL CHECK (json_valid(metadata) AND json_type(metadata) = 'object')
);

--bun:split

CREATE INDEX models_version_id_idx ON models (version, id DESC);
