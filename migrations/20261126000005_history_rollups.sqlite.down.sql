DROP TRIGGER IF EXISTS requests_history_rollup_moved;

--bun:split

DROP TRIGGER IF EXISTS responses_history_rollup;

--bun:split

DROP TABLE history_rollups;

--bun:split

DROP TABLE user_history_totals;
