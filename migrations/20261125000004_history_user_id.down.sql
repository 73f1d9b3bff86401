-- The indexes go first: SQLite does not drop an indexed column.
DROP INDEX outcomes_user_id_request_id_idx;

--bun:split

DROP INDEX responses_user_id_yhat_prob_idx;

--bun:split

DROP INDEX responses_user_id_model_version_idx;

--bun:split

DROP INDEX responses_user_id_yhat_idx;

--bun:split

DROP INDEX responses_user_id_status_idx;

--bun:split

ALTER TABLE outcomes DROP COLUMN user_id;

--bun:split

ALTER TABLE responses DROP COLUMN user_id;
