package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/mlapi/mlapi/internal/audit"
)

// logPredictionsPostgres checks each prediction's user and writes the rows
// of those accepted, in one statement: one round trip and one commit for
// the whole batch, and no transaction to hold open. The batch comes as
// parallel arrays, one a column ($10 and $11 are a TokenCheck's generation
// and jti, NULL without one; $12 each prediction's audit hash; $17 its
// trace id, NULL when untraced), so the text
// is the same for any batch size. A prediction is accepted when its user
// exists and is enabled and, with a TokenCheck, when the token's
// generation is the user's and its jti is not revoked.
//
// The audit hashes were computed in Go as entries $14+1 to $14+$15 of
// chain $13, each chained to the one before: they hold only if every
// prediction is accepted and the chain's head is still at $14. So the
// statement writes the rows only then, moving the head to $16 as it does;
// otherwise it writes nothing, and returns the accepted ordinals with no
// ids, for the writer to hash the accepted again (a refusal is rare: a
// user disabled, or a token revoked, while their prediction ran).
//
// The ids are taken from the sequences (those of the identity columns) in
// the batch's order, since PostgreSQL calls a volatile function in the
// select list after the sort: within a batch id order is arrival order, as
// it is from one batch to the next. Each row comes back with its ordinal
// through the ids allocated for it, not by the order RETURNING happens to
// give. A response is written only for a request that was.
const logPredictionsPostgres = `
WITH accepted AS MATERIALIZED (
	SELECT item.*, nextval('requests_id_seq') AS request_id, nextval('responses_id_seq') AS response_id
	FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::double precision[],
			$6::smallint[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::bytea[], $17::text[])
		WITH ORDINALITY AS item(user_id, input, created, output, yhat_prob,
			yhat, model_version, status, error_code, generation, jti, audit_hash, trace_id, ord)
	JOIN users AS u ON u.id = item.user_id AND u.enabled
		AND (item.generation IS NULL OR u.token_generation = item.generation)
	WHERE NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = item.jti)
	ORDER BY item.ord
), head AS (
	UPDATE audit_chains SET head_seq = $14::bigint + $15::bigint, head_hash = $16::bytea
	WHERE id = $13::bigint AND head_seq = $14::bigint AND (SELECT count(*) FROM accepted) = $15::bigint
	RETURNING id
), rq AS (
	INSERT INTO requests (id, user_id, input, created_datetime, updated_datetime, audit_chain, audit_seq, audit_hash, trace_id)
	SELECT request_id, user_id, input::json, created, created, $13::bigint, $14::bigint + ord, audit_hash, trace_id
	FROM accepted WHERE EXISTS (SELECT 1 FROM head)
	RETURNING id
), rs AS (
	INSERT INTO responses (id, request_id, user_id, output, yhat_prob, yhat, model_version,
		status, error_code, created_datetime, updated_datetime)
	SELECT a.response_id, rq.id, a.user_id, a.output::json, a.yhat_prob, a.yhat, a.model_version,
		a.status, a.error_code, a.created, a.created
	FROM rq JOIN accepted AS a ON a.request_id = rq.id
	RETURNING id, request_id
)
SELECT a.ord, rs.request_id, rs.id FROM accepted AS a LEFT JOIN rs ON rs.id = a.response_id`

// SQLite has no data-modifying CTEs: each prediction's check and writes
// take two statements, and a batch one transaction.
const (
	// SQLite's own numbered parameters (from ?1): these are prepared once
	// and bound by the driver, not formatted by bun. A request is written
	// with its trace id (?9) or without one: one more parameter, even
	// NULL, costs every untraced prediction an allocation in the driver.
	logRequestSQLite       = logRequestSQLiteHead + "NULL" + logRequestSQLiteTail
	logTracedRequestSQLite = logRequestSQLiteHead + "?9" + logRequestSQLiteTail
	logRequestSQLiteHead   = `
INSERT INTO requests (user_id, input, created_datetime, updated_datetime, audit_chain, audit_seq, audit_hash, trace_id)
SELECT id, ?2, ?3, ?3, ?6, ?7, ?8, `
	logRequestSQLiteTail = ` FROM users WHERE id = ?1 AND enabled
	AND (?4 IS NULL OR token_generation = ?4)
	AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?5)
RETURNING id`

	logResponseSQLite = `
INSERT INTO responses (request_id, user_id, output, yhat_prob, yhat, model_version,
	status, error_code, created_datetime, updated_datetime)
VALUES (?1, ?9, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
RETURNING id`

	// moveHeadSQLite moves a chain's head, from where its writer left it.
	moveHeadSQLite = `UPDATE audit_chains SET head_seq = ?1, head_hash = ?2 WHERE id = ?3 AND head_seq = ?4`
)

// LogPrediction records a prediction: it checks that the user exists and is
// enabled, and writes the request and its response, all or nothing. A
// missing or disabled user is ErrUserNotFound, with nothing written. When ctx
// carries a TokenCheck (WithTokenCheck), a token revoked by then is refused
// the same way. Both rows get the same created and updated time.
//
// Concurrent calls are written together (see logWriter): a call whose ctx
// ends before its write starts writes nothing and returns ctx's error;
// once its write has started, the call returns that write's result.
func (db *DB) LogPrediction(ctx context.Context, p PredictionLog) (LoggedPrediction, error) {
	if err := p.validate(); err != nil {
		return LoggedPrediction{}, fmt.Errorf("log prediction: %w", err)
	}
	it := &logItem{p: p}
	if c, ok := tokenCheckFrom(ctx); ok {
		it.generation, it.tokenID = &c.Generation, &c.TokenID
	}
	if err := ctx.Err(); err != nil {
		return LoggedPrediction{}, classify(fmt.Errorf("log prediction: %w", err))
	}
	var logged LoggedPrediction
	var err error
	if db.tracer == nil {
		it.traceID = sampledTraceID(ctx)
		logged, err = db.logs.log(ctx, it)
	} else {
		logged, err = db.logTraced(ctx, it)
	}
	if err != nil && db.replica != nil {
		// The write may have committed all the same (a written one was
		// noted by writeLogsPostgres).
		db.replica.note(p.UserID, 0)
	}
	return logged, err
}

// sampledTraceID is the id of ctx's trace, to store with the request, when
// it is sampled: an unsampled trace is recorded nowhere, and its id would
// lead nowhere.
func sampledTraceID(ctx context.Context) *string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return nil
	}
	id := sc.TraceID().String()
	return &id
}

// logTraced is logs.log in a span of the caller's own. A write carries
// several callers' predictions, and each caller's span covers its wait and
// the write that took its prediction (an event marks when that write
// began), so that every trace holds its prediction's write whole, under the
// operation that asked for it. One span for the batch, linked to its
// callers, would sit in a trace of its own, which few trace viewers lead
// to from the request's.
func (db *DB) logTraced(ctx context.Context, it *logItem) (LoggedPrediction, error) {
	ctx, span := db.tracer.Start(ctx, "log prediction", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(db.traceSystem, semconv.DBCollectionName("requests")))
	defer span.End()
	it.span, it.traceID = span, sampledTraceID(ctx)
	logged, err := db.logs.log(ctx, it)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return logged, err
	}
	span.SetAttributes(attribute.Int64("mlapi.request_id", logged.RequestID))
	return logged, nil
}

// writeLogsPostgres is the writeLogsFunc of PostgreSQL.
func (db *DB) writeLogsPostgres(ctx context.Context, items []*logItem) ([]logResult, error) {
	chain := db.audit
	results := refusedAll(items)
	// pending are the items still to write, by index in items: all of
	// them, less those refused by an attempt that wrote nothing.
	pending := make([]int, len(items))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > len(items)+1 {
			return nil, errors.New("write predictions: their refusals keep changing")
		}
		if err := chain.ready(ctx, db); err != nil {
			return nil, err
		}
		accepted, written, err := db.writeLogsPostgresOnce(ctx, items, pending, results)
		switch {
		case err != nil:
			return nil, err
		case written:
			if db.replica != nil {
				userIDs := make([]int64, len(items))
				for i, it := range items {
					userIDs[i] = it.p.UserID
				}
				db.replica.noteWrites(ctx, db, userIDs...)
			}
			return results, nil
		case len(accepted) == len(pending):
			// Every prediction was accepted, and still nothing was
			// written: the head moved.
			chain.stale = true
		}
		pending = accepted
	}
	return results, nil
}

// writeLogsPostgresOnce runs logPredictionsPostgres on items[pending],
// chained after the chain's head. It returns the pending items the
// statement accepted and whether it wrote them, setting their results.
func (db *DB) writeLogsPostgresOnce(ctx context.Context, items []*logItem, pending []int, results []logResult) (accepted []int, written bool, err error) {
	chain := db.audit
	n := len(pending)
	var (
		userIDs, generations = make([]int64, n), make([]*int64, n)
		inputs, outputs      = make([]string, n), make([]string, n)
		created              = make([]time.Time, n)
		probs                = make([]*float64, n)
		yhats                = make([]*int, n)
		versions, statuses   = make([]string, n), make([]string, n)
		errorCodes, tokenIDs = make([]*string, n), make([]*string, n)
		// traceIDs stays nil, a NULL array, while no item is traced:
		// unnest pads it with NULLs.
		traceIDs      []*string
		hashes, links = make([][]byte, n), make([]byte, n*audit.HashSize)
	)
	head := chain.head
	for i, k := range pending {
		it := items[k]
		p := &it.p
		userIDs[i], inputs[i], created[i], outputs[i] = p.UserID, string(p.Input), it.createdAt, string(p.Output)
		probs[i], yhats[i], versions[i], statuses[i], errorCodes[i] = p.YhatProb, p.Yhat, p.ModelVersion, string(p.Status), p.ErrorCode
		generations[i], tokenIDs[i] = it.generation, it.tokenID
		if it.traceID != nil {
			if traceIDs == nil {
				traceIDs = make([]*string, n)
			}
			traceIDs[i] = it.traceID
		}
		head = chain.link(head, chain.seq+int64(i)+1, p, it.createdAt)
		hashes[i] = links[i*audit.HashSize : (i+1)*audit.HashSize]
		copy(hashes[i], head[:])
	}
	// Unlike the other statements, this one goes to pgx itself, with its
	// parameters apart, prepared once per connection: its text never
	// changes, and planning it afresh for every batch cost more than
	// running it; and past database/sql, no goroutine watches each query
	// and no argument is converted twice, which took a tenth of the
	// latency of a lone prediction.
	var logged []LoggedPrediction
	err = db.withPgx(ctx, func(conn *pgx.Conn) error {
		accepted, logged = accepted[:0], make([]LoggedPrediction, 0, n)
		rows, err := conn.Query(ctx, logPredictionsPostgres, pgx.QueryExecModeCacheStatement,
			userIDs, inputs, created, outputs, probs, yhats, versions, statuses, errorCodes, generations, tokenIDs,
			hashes, chain.id, chain.seq, int64(n), head[:], traceIDs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ord int
			var requestID, responseID *int64
			if err := rows.Scan(&ord, &requestID, &responseID); err != nil {
				return err
			}
			if ord < 1 || ord > n {
				return fmt.Errorf("ordinal %d out of a batch of %d", ord, n)
			}
			accepted = append(accepted, pending[ord-1])
			if requestID != nil && responseID != nil {
				it := items[pending[ord-1]]
				logged = append(logged, LoggedPrediction{RequestID: *requestID, ResponseID: *responseID, CreatedAt: it.createdAt, TraceID: it.traceID})
			}
		}
		// The statement's end, its commit included, shows here: until
		// then nothing is known to be written.
		return rows.Err()
	})
	if err != nil {
		return nil, false, err
	}
	if len(logged) == 0 {
		slices.Sort(accepted)
		return accepted, false, nil
	}
	if len(logged) != n {
		return nil, false, fmt.Errorf("wrote %d of a batch of %d", len(logged), n)
	}
	for i, k := range accepted {
		results[k] = logResult{logged: logged[i]}
	}
	chain.seq, chain.head = chain.seq+int64(n), head
	return accepted, true, nil
}

// writeLogsSQLite is the writeLogsFunc of SQLite. A write that finds the
// chain's head moved, having written nothing, is hashed again from where
// the head is, as on PostgreSQL.
func (db *DB) writeLogsSQLite(ctx context.Context, items []*logItem) ([]logResult, error) {
	results, err := db.writeLogsSQLiteOnce(ctx, items)
	if errors.Is(err, errHeadMoved) {
		db.audit.stale = true
		results, err = db.writeLogsSQLiteOnce(ctx, items)
	}
	return results, err
}

// writeLogsSQLiteOnce writes items in one transaction. Each request is
// hashed as the chain's next entry before its INSERT, which tells whether
// it was accepted; a refused one takes no place in the chain.
func (db *DB) writeLogsSQLiteOnce(ctx context.Context, items []*logItem) ([]logResult, error) {
	chain := db.audit
	results := refusedAll(items)
	stmts, err := db.sqliteLogStatements(ctx)
	if err != nil {
		return nil, err
	}
	if err := chain.ready(ctx, db); err != nil {
		return nil, err
	}
	seq, head := chain.seq, chain.head
	err = db.rw.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		request, response := tx.StmtContext(ctx, stmts.request), tx.StmtContext(ctx, stmts.response)
		// Only when a traced prediction needs it.
		var tracedRequest *sql.Stmt
		for i, it := range items {
			p := &it.p
			logged := LoggedPrediction{CreatedAt: it.createdAt, TraceID: it.traceID}
			created := db.sqliteTime(it.createdAt)
			link := chain.link(head, seq+1, p, it.createdAt)
			var row *sql.Row
			if it.traceID == nil {
				row = request.QueryRowContext(ctx,
					p.UserID, string(p.Input), created, it.generation, it.tokenID, chain.id, seq+1, link[:])
			} else {
				if tracedRequest == nil {
					tracedRequest = tx.StmtContext(ctx, stmts.tracedRequest)
				}
				row = tracedRequest.QueryRowContext(ctx,
					p.UserID, string(p.Input), created, it.generation, it.tokenID, chain.id, seq+1, link[:], *it.traceID)
			}
			err := row.Scan(&logged.RequestID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			err = response.QueryRowContext(ctx,
				logged.RequestID, string(p.Output), p.YhatProb, p.Yhat, p.ModelVersion,
				string(p.Status), p.ErrorCode, created, p.UserID,
			).Scan(&logged.ResponseID)
			if err != nil {
				return err
			}
			seq, head = seq+1, link
			results[i] = logResult{logged: logged}
		}
		if seq == chain.seq {
			return nil
		}
		res, err := tx.StmtContext(ctx, stmts.head).ExecContext(ctx, seq, head[:], chain.id, chain.seq)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errHeadMoved, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	chain.seq, chain.head = seq, head
	return results, nil
}

// sqliteStatements are the SQLite log's INSERTs and head update, prepared
// once on the write pool: SQLite compiles a statement, with the triggers it
// fires (the history's rollups), at every prepare, which cost more than the
// writes.
type sqliteStatements struct {
	mu                                     sync.Mutex
	request, tracedRequest, response, head *sql.Stmt
}

func (db *DB) sqliteLogStatements(ctx context.Context) (*sqliteStatements, error) {
	s := &db.sqliteLog
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.request != nil {
		return s, nil
	}
	prepared := sqliteStatements{}
	for _, st := range []struct {
		stmt       **sql.Stmt
		text, what string
	}{
		{&prepared.request, logRequestSQLite, "the log's request insert"},
		{&prepared.tracedRequest, logTracedRequestSQLite, "the log's traced request insert"},
		{&prepared.response, logResponseSQLite, "the log's response insert"},
		{&prepared.head, moveHeadSQLite, "the audit chain's head update"},
	} {
		stmt, err := db.rw.DB.PrepareContext(ctx, st.text)
		if err != nil {
			prepared.close()
			return nil, fmt.Errorf("prepare %s: %w", st.what, err)
		}
		*st.stmt = stmt
	}
	s.request, s.tracedRequest, s.response, s.head = prepared.request, prepared.tracedRequest, prepared.response, prepared.head
	return s, nil
}

// close closes the statements prepared.
func (s *sqliteStatements) close() error {
	var err error
	for _, stmt := range []*sql.Stmt{s.request, s.tracedRequest, s.response, s.head} {
		if stmt != nil {
			err = errors.Join(err, stmt.Close())
		}
	}
	return err
}

// sqliteTime is t as bun writes times to SQLite (its dialect's literal,
// unquoted), which the queries compare as text: the driver's own layout
// would not sort with bun's.
func (db *DB) sqliteTime(t time.Time) string {
	return strings.Trim(string(db.rw.Dialect().AppendTime(nil, t)), "'")
}

// refusedAll returns results for items that say ErrUserNotFound, for a
// write to replace with what it wrote.
func refusedAll(items []*logItem) []logResult {
	results := make([]logResult, len(items))
	for i := range results {
		results[i].err = ErrUserNotFound
	}
	return results
}

// validate rejects a log the schema's CHECKs would refuse, with a clearer
// message. These are the caller's bugs, not the client's, so they stay
// internal errors.
func (p PredictionLog) validate() error {
	// json.Valid lets invalid UTF-8 through inside strings, which PostgreSQL
	// refuses and SQLite's quoting would replace: neither keeps it as sent.
	if !json.Valid(p.Input) || !utf8.Valid(p.Input) {
		return errors.New("input is not valid JSON")
	}
	if !json.Valid(p.Output) || !utf8.Valid(p.Output) {
		return errors.New("output is not valid JSON")
	}
	if p.ModelVersion == "" {
		return errors.New("model version is empty")
	}
	switch p.Status {
	case StatusOK:
		if p.YhatProb == nil || p.Yhat == nil || p.ErrorCode != nil {
			return errors.New("an ok response needs yhat_prob and yhat and no error code")
		}
		if prob := *p.YhatProb; math.IsNaN(prob) || prob < 0 || prob > 1 {
			return fmt.Errorf("yhat_prob %v is not a probability", prob)
		}
		if *p.Yhat != 0 && *p.Yhat != 1 {
			return fmt.Errorf("yhat %d is neither 0 nor 1", *p.Yhat)
		}
	case StatusInvalidInput:
		if p.YhatProb != nil || p.Yhat != nil || p.ErrorCode == nil || *p.ErrorCode == "" {
			return errors.New("an invalid_input response needs an error code and no yhat_prob or yhat")
		}
	default:
		return fmt.Errorf("unknown status %q", p.Status)
	}
	return nil
}

// ListRequests returns a page of the user's requests that match q.Filter,
// each with its response and its outcome (an Outcome that is not Recorded
// when there is none), in q.Order, paged by keyset on the request id (id
// order is creation order). A forward page is the q.Size requests that come
// first after q.AfterID; a backward page the q.Size that come last before
// q.BeforeID; both cursors bound either kind of page. TotalCount is counted
// by a separate statement, so a request logged between the two may show in
// one and not the other.
//
// The page's other end is known from the one row more it reads. Its near
// end is known for the price of one more query of one row, which usually
// finds the cursor's own request at once: a page after a cursor has a
// previous page when a matching request lies at or before the cursor (the
// request the cursor names counts), and a page before a cursor likewise
// has a next page.
//
// It reads from the replica when route allows (replica.go).
func (db *DB) ListRequests(ctx context.Context, userID int64, q PageQuery) (RequestPage, error) {
	return routed(ctx, db, userID, nil, func(on *DB) (RequestPage, error) { return on.listRequests(ctx, userID, q) })
}

func (db *DB) listRequests(ctx context.Context, userID int64, q PageQuery) (RequestPage, error) {
	size := min(max(q.Size, 1), MaxPageSize)
	// In the listing's order, "after id" means a smaller id newest first
	// and a larger one oldest first.
	afterOp, beforeOp, order, reverse := "<", ">", "request.id DESC", "request.id ASC"
	if q.Order == OldestFirst {
		afterOp, beforeOp, order, reverse = ">", "<", "request.id ASC", "request.id DESC"
	}
	// matching selects the user's requests that match the filter. The page
	// query joins responses and outcomes itself (its Relations, LEFT JOINs
	// under the aliases the filter reads), so joins is false for it.
	matching := func(joins bool) func(*bun.SelectQuery) *bun.SelectQuery {
		return func(sq *bun.SelectQuery) *bun.SelectQuery { return q.Filter.ofUser(sq, userID, joins) }
	}
	cursors := func(sq *bun.SelectQuery) *bun.SelectQuery {
		if q.AfterID > 0 {
			sq = sq.Where("request.id "+afterOp+" ?", q.AfterID)
		}
		if q.BeforeID > 0 {
			sq = sq.Where("request.id "+beforeOp+" ?", q.BeforeID)
		}
		return sq
	}

	page := RequestPage{Requests: []Request{}}
	if !q.SkipCount {
		total, err := db.countRequests(ctx, userID, q.Filter)
		if err != nil {
			return RequestPage{}, classify(fmt.Errorf("count requests: %w", err))
		}
		page.TotalCount = int(total)
		if total == 0 {
			return page, nil
		}
	}

	// One row more than asked says whether the page's far end is the last.
	sel := db.ro.NewSelect().Model(&page.Requests).Relation("Response").Relation("Outcome").
		Apply(matching(false)).Apply(cursors).Limit(int64(size) + 1)
	if q.Backward {
		sel = sel.OrderExpr(reverse)
	} else {
		sel = sel.OrderExpr(order)
	}
	if err := sel.Scan(ctx); err != nil {
		return RequestPage{}, classify(fmt.Errorf("select requests: %w", err))
	}
	more := len(page.Requests) > size
	if more {
		page.Requests = page.Requests[:size]
	}
	if q.Backward {
		slices.Reverse(page.Requests)
	}
	for i := range page.Requests {
		r := &page.Requests[i]
		r.inUTC()
		r.Response.setRequestInput(r.Input)
		// bun leaves a has-one it found no row for nil: an empty Outcome
		// says "loaded: none" (Outcome.Recorded), so no one reads it again.
		if r.Outcome == nil {
			r.Outcome = &Outcome{}
		}
	}

	// The near end: whether a matching request lies at or beyond the
	// cursor the page starts from. It is looked for in id order from the
	// cursor outward (the cursor's own request first), rather than with
	// EXISTS, for which PostgreSQL may pick a sequential scan from the
	// table's start.
	nearEnd := func(id int64, op, order string) (bool, error) {
		if id <= 0 {
			return false, nil
		}
		var found []int64
		err := db.ro.NewSelect().Model((*Request)(nil)).Column("request.id").Apply(matching(true)).
			Where("request.id "+op+" ?", id).OrderExpr(order).Limit(1).Scan(ctx, &found)
		if err != nil {
			return false, classify(fmt.Errorf("look beyond the cursor: %w", err))
		}
		return len(found) > 0, nil
	}
	var err error
	if q.Backward {
		page.HasPreviousPage = more
		page.HasNextPage, err = nearEnd(q.BeforeID, afterOp+"=", order)
	} else {
		page.HasNextPage = more
		page.HasPreviousPage, err = nearEnd(q.AfterID, beforeOp+"=", reverse)
	}
	if err != nil {
		return RequestPage{}, err
	}
	return page, nil
}

// countRequests counts the user's requests that match f. On PostgreSQL a
// count under an outcome filter runs without parallel workers: with them,
// the planner hashes a parallel scan of every user's outcomes, which it
// estimates cheaper than reading this user's slice of
// outcomes_user_id_request_id_idx, and a history must not read other users'
// rows. Run serially, it merge-joins the two per-user indexes (measured with
// 1,000,000 requests for one user among 3,000,000: estimated cost 59,494
// against 51,542 in parallel). "Without an outcome" is counted as all less
// those with one, in one snapshot: an anti-join would walk every user's
// outcomes by their primary key.
func (db *DB) countRequests(ctx context.Context, userID int64, f RequestFilter) (int64, error) {
	count := func(ctx context.Context, q *bun.SelectQuery, f RequestFilter) (int64, error) {
		n, err := f.ofUser(q.Model((*Request)(nil)), userID, true).Count(ctx)
		return int64(n), err
	}
	if ok, whole := f.rollupRange(); ok {
		return db.rollupCount(ctx, userID, f, whole)
	}
	if db.dialect != Postgres || !f.needsOutcome() {
		return count(ctx, db.ro.NewSelect(), f)
	}
	var n int64
	opts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	err := db.ro.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL max_parallel_workers_per_gather = 0"); err != nil {
			return err
		}
		if f.HasOutcome == nil || *f.HasOutcome || f.Outcome != nil {
			var err error
			n, err = count(ctx, tx.NewSelect(), f)
			return err
		}
		all, withOutcome := f, f
		all.HasOutcome = nil
		hasOutcome := true
		withOutcome.HasOutcome = &hasOutcome
		total, err := count(ctx, tx.NewSelect(), all)
		if err != nil {
			return err
		}
		with, err := count(ctx, tx.NewSelect(), withOutcome)
		n = total - with
		return err
	})
	return n, err
}

// Request returns one of the user's requests with its response. Another
// user's request is NotFound, exactly like one that does not exist.
func (db *DB) Request(ctx context.Context, userID, requestID int64) (Request, error) {
	var r Request
	err := db.ro.NewSelect().Model(&r).Relation("Response").
		Where("request.id = ?", requestID).
		Where("request.user_id = ?", userID).
		Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Request{}, ErrRequestNotFound
	case err != nil:
		return Request{}, classify(fmt.Errorf("select request: %w", err))
	}
	r.inUTC()
	r.Response.setRequestInput(r.Input)
	return r, nil
}

// Response returns one of the user's responses. Another user's response is
// NotFound, exactly like one that does not exist.
func (db *DB) Response(ctx context.Context, userID, responseID int64) (Response, error) {
	var r Response
	err := db.ro.NewSelect().Model(&r).
		Join("JOIN requests AS request ON request.id = response.request_id").
		Where("response.id = ?", responseID).
		Where("request.user_id = ?", userID).
		Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Response{}, ErrResponseNotFound
	case err != nil:
		return Response{}, classify(fmt.Errorf("select response: %w", err))
	}
	r.inUTC()
	return r, nil
}

// ceilMicrosecond rounds t up to the microseconds the databases keep, so that
// "at or after t" keeps nothing from before it.
func ceilMicrosecond(t time.Time) time.Time {
	t = t.UTC()
	if down := t.Truncate(time.Microsecond); !down.Equal(t) {
		return down.Add(time.Microsecond)
	}
	return t
}

// withPgx runs f on a connection of the pool as pgx's own. A connection
// that fails before the statement was sent (pgconn.SafeToRetry: a server
// restarted since it was last used) is dropped and f runs again on
// another, as database/sql does with its driver's ErrBadConn, at most
// three times in all.
func (db *DB) withPgx(ctx context.Context, f func(*pgx.Conn) error) error {
	var err error
	for range 3 {
		var conn *sql.Conn
		if conn, err = db.rw.DB.Conn(ctx); err != nil {
			return err
		}
		err = conn.Raw(func(driverConn any) error {
			pc := driverConn.(*stdlib.Conn).Conn()
			if pc.IsClosed() {
				return driver.ErrBadConn
			}
			if err := f(pc); err != nil {
				if pgconn.SafeToRetry(err) {
					return driver.ErrBadConn
				}
				return err
			}
			return nil
		})
		conn.Close()
		if !errors.Is(err, driver.ErrBadConn) {
			return err
		}
	}
	return err
}
