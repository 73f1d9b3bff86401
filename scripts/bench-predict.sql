-- pgbench script for scripts/bench.sh: the statement the server sends to PostgreSQL to log
-- predictions (logPredictionsPostgres in internal/store/predictions.go), with its parameters
-- turned into pgbench variables, which bench.sh sets with -D to a batch of one prediction holding
-- what the server writes ($1 :user_ids, $2 :inputs, $4 :outputs, $5 :probs, $6 :yhats,
-- $7 :versions, $8 :statuses, $9 :error_codes, $10 :generations, $11 :jtis, $12 :hashes, each an
-- array literal of one element; $13 :chain, an audit chain of pgbench's own; $16 :head). $3, the
-- server's clock, is ARRAY[now()]; $17, the trace ids, is NULL (the server's untraced batches).
--
-- The one difference is the audit chain's head. The server knows its chain's head (it computes
-- each entry's HMAC from the one before, in Go) and moves it from there, sending its sequence
-- ($14) and the batch's size ($15); pgbench cannot compute the hashes, so it sends a fixed one
-- and moves the head from wherever it is. The database does the same work: the same head row
-- updated, the same rows and index entries written. Run with -M prepared: the server prepares
-- this statement once per connection and sends the arrays apart as parameters, as pgbench then
-- does.
WITH accepted AS MATERIALIZED (
	SELECT item.*, nextval('requests_id_seq') AS request_id, nextval('responses_id_seq') AS response_id
	FROM unnest(:user_ids::bigint[], :inputs::text[], ARRAY[now()]::timestamptz[], :outputs::text[], :probs::double precision[],
			:yhats::smallint[], :versions::text[], :statuses::text[], :error_codes::text[], :generations::bigint[], :jtis::text[],
			:hashes::bytea[], NULL::text[])
		WITH ORDINALITY AS item(user_id, input, created, output, yhat_prob,
			yhat, model_version, status, error_code, generation, jti, audit_hash, trace_id, ord)
	JOIN users AS u ON u.id = item.user_id AND u.enabled
		AND (item.generation IS NULL OR u.token_generation = item.generation)
	WHERE NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = item.jti)
	ORDER BY item.ord
), head AS (
	UPDATE audit_chains SET head_seq = head_seq + (SELECT count(*) FROM accepted), head_hash = :head::bytea
	WHERE id = :chain::bigint
	RETURNING id, head_seq - (SELECT count(*) FROM accepted) AS base
), rq AS (
	INSERT INTO requests (id, user_id, input, created_datetime, updated_datetime, audit_chain, audit_seq, audit_hash, trace_id)
	SELECT request_id, user_id, input::json, created, created, head.id, head.base + ord, audit_hash, trace_id
	FROM accepted CROSS JOIN head
	RETURNING id
), rs AS (
	INSERT INTO responses (id, request_id, user_id, output, yhat_prob, yhat, model_version,
		status, error_code, created_datetime, updated_datetime)
	SELECT a.response_id, rq.id, a.user_id, a.output::json, a.yhat_prob, a.yhat, a.model_version,
		a.status, a.error_code, a.created, a.created
	FROM rq JOIN accepted AS a ON a.request_id = rq.id
	RETURNING id, request_id
)
SELECT a.ord, rs.request_id, rs.id FROM accepted AS a LEFT JOIN rs ON rs.id = a.response_id;
