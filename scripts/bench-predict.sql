-- pgbench script for scripts/bench.sh: the statement mlapi sent to PostgreSQL to log predictions
-- before the audit chain (logPredictionsPostgres in internal/store/predictions.go now also hashes
-- each prediction into its writer's chain and moves the chain's head), copied with its parameters turned into
-- pgbench variables, which bench.sh sets with -D to a batch of one prediction holding what the
-- server writes ($1 :user_ids, $2 :inputs, $4 :outputs, $5 :probs, $6 :yhats, $7 :versions,
-- $8 :statuses, $9 :error_codes, $10 :generations, $11 :jtis, each an array literal of one
-- element). $3, the server's clock, is ARRAY[now()]. Run with -M prepared: mlapi prepares this
-- statement once per connection and sends the arrays apart as parameters, as pgbench then does.
WITH accepted AS MATERIALIZED (
	SELECT item.*, nextval('requests_id_seq') AS request_id, nextval('responses_id_seq') AS response_id
	FROM unnest(:user_ids::bigint[], :inputs::text[], ARRAY[now()]::timestamptz[], :outputs::text[], :probs::double precision[],
			:yhats::smallint[], :versions::text[], :statuses::text[], :error_codes::text[], :generations::bigint[], :jtis::text[])
		WITH ORDINALITY AS item(user_id, input, created, output, yhat_prob,
			yhat, model_version, status, error_code, generation, jti, ord)
	JOIN users AS u ON u.id = item.user_id AND u.enabled
		AND (item.generation IS NULL OR u.token_generation = item.generation)
	WHERE NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = item.jti)
	ORDER BY item.ord
), rq AS (
	INSERT INTO requests (id, user_id, input, created_datetime, updated_datetime)
	SELECT request_id, user_id, input::json, created, created FROM accepted
	RETURNING id
), rs AS (
	INSERT INTO responses (id, request_id, user_id, output, yhat_prob, yhat, model_version,
		status, error_code, created_datetime, updated_datetime)
	SELECT a.response_id, rq.id, a.user_id, a.output::json, a.yhat_prob, a.yhat, a.model_version,
		a.status, a.error_code, a.created, a.created
	FROM rq JOIN accepted AS a ON a.request_id = rq.id
	RETURNING id, request_id
)
SELECT a.ord, rs.request_id, rs.id FROM rs JOIN accepted AS a ON a.response_id = rs.id;
