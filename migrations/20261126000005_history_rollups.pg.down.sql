DROP TRIGGER IF EXISTS requests_history_rollup_moved ON requests;

--bun:split

DROP FUNCTION IF EXISTS history_rollup_request_moved();

--bun:split

DROP FUNCTION IF EXISTS history_rollup_recompute(bigint, timestamptz);

--bun:split

DROP TRIGGER IF EXISTS responses_history_rollup ON responses;

--bun:split

DROP FUNCTION IF EXISTS history_rollup_responses();

--bun:split

DROP TABLE history_rollups;

--bun:split

DROP TABLE user_history_totals;
