DROP INDEX requests_user_id_created_datetime_idx;

--bun:split

DROP TABLE outcomes;
