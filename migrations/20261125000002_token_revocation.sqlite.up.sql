-- See the PostgreSQL file for what these are for. Times are TEXT in bun's
-- UTC layout, as in the initial migration, so text order is time order.
ALTER TABLE users ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0 CHECK (token_generation >= 0);

--bun:split

CREATE TABLE revoked_tokens (
    jti              TEXT PRIMARY KEY NOT NULL CHECK (jti <> ''),
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_datetime TEXT NOT NULL
);

--bun:split

CREATE INDEX revoked_tokens_expires_datetime_idx ON revoked_tokens (expires_datetime);

--bun:split

CREATE INDEX revoked_tokens_user_id_idx ON revoked_tokens (user_id);
