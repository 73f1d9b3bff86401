-- The owner of a response and of an outcome, copied from its request, so
-- that the history's filters on either are served by an index of the
-- user's rows alone: joined to requests by request_id only, PostgreSQL
-- reads every user's responses or outcomes to find one user's. The copy
-- cannot drift: a request's user never changes, and the rows go with their
-- request (ON DELETE CASCADE on request_id), so no foreign key is needed.
ALTER TABLE responses ADD COLUMN user_id bigint;

--bun:split

UPDATE responses AS response SET user_id = request.user_id
FROM requests AS request WHERE request.id = response.request_id;

--bun:split

ALTER TABLE responses ALTER COLUMN user_id SET NOT NULL;

--bun:split

ALTER TABLE outcomes ADD COLUMN user_id bigint;

--bun:split

UPDATE outcomes AS outcome SET user_id = request.user_id
FROM requests AS request WHERE request.id = outcome.request_id;

--bun:split

ALTER TABLE outcomes ALTER COLUMN user_id SET NOT NULL;

--bun:split

-- A filtered count of a user's history reads its responses by one of these,
-- an index-only scan of only the matching rows of the user's, which the
-- trailing request_id joins to the user's requests: with one index of the
-- user's rows carrying all four columns instead, PostgreSQL judges reading
-- all of them dearer than a (parallel) scan of everyone's responses. A
-- filter on several columns reads one and checks the others on the row.
CREATE INDEX responses_user_id_status_idx ON responses (user_id, status, request_id);

--bun:split

CREATE INDEX responses_user_id_yhat_idx ON responses (user_id, yhat, request_id);

--bun:split

CREATE INDEX responses_user_id_model_version_idx ON responses (user_id, model_version, request_id);

--bun:split

CREATE INDEX responses_user_id_yhat_prob_idx ON responses (user_id, yhat_prob, request_id);

--bun:split

-- A user's outcomes in request order, for hasOutcome and outcome alike:
-- at 1,000,000 rows, (user_id, outcome, request_id) still lost to a scan
-- for hasOutcome.
CREATE INDEX outcomes_user_id_request_id_idx ON outcomes (user_id, request_id, outcome);
