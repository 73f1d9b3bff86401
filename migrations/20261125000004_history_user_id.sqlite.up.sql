-- See the PostgreSQL file for what these are for. SQLite cannot make an
-- added column NOT NULL without rebuilding the table: the column stays
-- nullable, and the store always writes it.
ALTER TABLE responses ADD COLUMN user_id INTEGER;

--bun:split

UPDATE responses SET user_id = (SELECT user_id FROM requests WHERE requests.id = responses.request_id);

--bun:split

ALTER TABLE outcomes ADD COLUMN user_id INTEGER;

--bun:split

UPDATE outcomes SET user_id = (SELECT user_id FROM requests WHERE requests.id = outcomes.request_id);

--bun:split

CREATE INDEX responses_user_id_status_idx ON responses (user_id, status, request_id);

--bun:split

CREATE INDEX responses_user_id_yhat_idx ON responses (user_id, yhat, request_id);

--bun:split

CREATE INDEX responses_user_id_model_version_idx ON responses (user_id, model_version, request_id);

--bun:split

CREATE INDEX responses_user_id_yhat_prob_idx ON responses (user_id, yhat_prob, request_id);

--bun:split

CREATE INDEX outcomes_user_id_request_id_idx ON outcomes (user_id, request_id, outcome);
