-- A user's token generation: every access token carries the generation its
-- user had when it was issued, and is accepted only while the user still has
-- it. Disabling the user, changing the password and an administrator's
-- revokeUserTokens bump it, which revokes every token issued before.
ALTER TABLE users ADD COLUMN token_generation bigint NOT NULL DEFAULT 0 CHECK (token_generation >= 0);

--bun:split

-- Tokens revoked one by one (logout), by their jti, until they expire: a row
-- whose expires_datetime has passed revokes nothing and is pruned.
CREATE TABLE revoked_tokens (
    jti              text PRIMARY KEY CHECK (jti <> ''),
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_datetime timestamptz NOT NULL
);

--bun:split

-- Pruning deletes by expiry.
CREATE INDEX revoked_tokens_expires_datetime_idx ON revoked_tokens (expires_datetime);

--bun:split

-- The index the ON DELETE CASCADE from users walks.
CREATE INDEX revoked_tokens_user_id_idx ON revoked_tokens (user_id);
