package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// logPredictionPostgres checks the user and writes both rows in one
// statement, so one round trip and no transaction: if the user is missing or
// disabled, u is empty, nothing is inserted and no row comes back. With a
// TokenCheck (?9 the generation, ?10 the jti; NULL without one) a revoked
// token empties u too.
const logPredictionPostgres = `
WITH u AS (
	SELECT id FROM users WHERE id = ?0 AND enabled
		AND (?9::bigint IS NULL OR token_generation = ?9::bigint)
		AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?10::text)
), rq AS (
	INSERT INTO requests (user_id, input, created_datetime, updated_datetime)
	SELECT u.id, ?1::json, ?2::timestamptz, ?2::timestamptz FROM u
	RETURNING id, user_id
), rs AS (
	INSERT INTO responses (request_id, user_id, output, yhat_prob, yhat, model_version,
		status, error_code, created_datetime, updated_datetime)
	SELECT rq.id, rq.user_id, ?3::json, ?4::double precision, ?5::smallint, ?6::text,
		?7::text, ?8::text, ?2::timestamptz, ?2::timestamptz FROM rq
	RETURNING id, request_id
)
SELECT request_id, id FROM rs`

// SQLite has no data-modifying CTEs: the same check and writes take a
// transaction and two statements.
const (
	logRequestSQLite = `
INSERT INTO requests (user_id, input, created_datetime, updated_datetime)
SELECT id, ?1, ?2, ?2 FROM users WHERE id = ?0 AND enabled
	AND (?3 IS NULL OR token_generation = ?3)
	AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?4)
RETURNING id`

	logResponseSQLite = `
INSERT INTO responses (request_id, user_id, output, yhat_prob, yhat, model_version,
	status, error_code, created_datetime, updated_datetime)
VALUES (?0, ?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
RETURNING id`
)

// LogPrediction records a prediction: it checks that the user exists and is
// enabled, and writes the request and its response, all or nothing. A
// missing or disabled user is ErrUserNotFound, with nothing written. When ctx
// carries a TokenCheck (WithTokenCheck), a token revoked by then is refused
// the same way. Both rows get the same created and updated time.
func (db *DB) LogPrediction(ctx context.Context, p PredictionLog) (LoggedPrediction, error) {
	if err := p.validate(); err != nil {
		return LoggedPrediction{}, fmt.Errorf("log prediction: %w", err)
	}
	var generation *int64
	var tokenID *string
	if c, ok := tokenCheckFrom(ctx); ok {
		generation, tokenID = &c.Generation, &c.TokenID
	}
	logged := LoggedPrediction{CreatedAt: now()}
	var err error
	if db.dialect == Postgres {
		err = db.rw.QueryRowContext(ctx, logPredictionPostgres,
			p.UserID, string(p.Input), logged.CreatedAt,
			string(p.Output), p.YhatProb, p.Yhat, p.ModelVersion, p.Status, p.ErrorCode,
			generation, tokenID,
		).Scan(&logged.RequestID, &logged.ResponseID)
	} else {
		err = db.rw.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			err := tx.QueryRowContext(ctx, logRequestSQLite,
				p.UserID, string(p.Input), logged.CreatedAt, generation, tokenID,
			).Scan(&logged.RequestID)
			if err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, logResponseSQLite,
				logged.RequestID, string(p.Output), p.YhatProb, p.Yhat, p.ModelVersion,
				p.Status, p.ErrorCode, logged.CreatedAt, p.UserID,
			).Scan(&logged.ResponseID)
		})
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return LoggedPrediction{}, ErrUserNotFound
	case err != nil:
		return LoggedPrediction{}, classify(fmt.Errorf("log prediction: %w", err))
	}
	return logged, nil
}

// validate rejects a log the schema's CHECKs would refuse, with a clearer
// message. These are the caller's bugs, not the client's, so they stay
// internal errors.
func (p PredictionLog) validate() error {
	if !json.Valid(p.Input) {
		return errors.New("input is not valid JSON")
	}
	if !json.Valid(p.Output) {
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
func (db *DB) ListRequests(ctx context.Context, userID int64, q PageQuery) (RequestPage, error) {
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
