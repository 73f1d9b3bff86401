-- The trace a request was served in (OpenTelemetry, W3C trace id in 32
-- lower-case hex digits), so that an audit row leads to its trace. NULL when
-- tracing is off or the request's trace was not sampled, and for every row
-- written before. It is not part of the audit hash (internal/audit): it
-- points at telemetry kept elsewhere, not at what was asked and answered.
--
-- A nullable column without a default is only a catalogue change, and the
-- CHECK is added NOT VALID: both are instant on a table of any size (there is
-- nothing to check in rows that all hold NULL), and new rows are checked.
ALTER TABLE requests ADD COLUMN trace_id text;
--bun:split
ALTER TABLE requests ADD CONSTRAINT requests_trace_id_check
	CHECK (trace_id ~ '^[0-9a-f]{32}$') NOT VALID;
