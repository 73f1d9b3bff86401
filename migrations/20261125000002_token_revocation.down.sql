DROP TABLE revoked_tokens;

--bun:split

ALTER TABLE users DROP COLUMN token_generation;
