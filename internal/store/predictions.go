package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	RETURNING id
), rs AS (
	INSERT INTO responses (request_id, output, yhat_prob, yhat, model_version,
		status, error_code, created_datetime, updated_datetime)
	SELECT rq.id, ?3::json, ?4::double precision, ?5::smallint, ?6::text,
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
INSERT INTO responses (request_id, output, yhat_prob, yhat, model_version,
	status, error_code, created_datetime, updated_datetime)
VALUES (?0, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
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
				p.Status, p.ErrorCode, logged.CreatedAt,
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

// ListRequests returns a page of the user's requests with their responses,
// newest first. TotalCount is counted by a separate statement, so a request
// logged between the two may show in one and not the other.
func (db *DB) ListRequests(ctx context.Context, userID int64, q PageQuery) (RequestPage, error) {
	first := min(max(q.First, 1), MaxPageSize)
	ofUser := func(sq *bun.SelectQuery) *bun.SelectQuery {
		sq = sq.Where("request.user_id = ?", userID)
		if q.Since != nil {
			sq = sq.Where("request.created_datetime >= ?", ceilMicrosecond(*q.Since))
		}
		return sq
	}

	total, err := db.ro.NewSelect().Model((*Request)(nil)).Apply(ofUser).Count(ctx)
	if err != nil {
		return RequestPage{}, classify(fmt.Errorf("count requests: %w", err))
	}
	page := RequestPage{TotalCount: int(total), Requests: []Request{}}
	if total == 0 {
		return page, nil
	}

	// One row more than asked says whether another page follows.
	sel := db.ro.NewSelect().Model(&page.Requests).Relation("Response").Apply(ofUser).
		OrderExpr("request.id DESC").Limit(int64(first) + 1)
	if q.AfterID > 0 {
		sel = sel.Where("request.id < ?", q.AfterID)
	}
	if err := sel.Scan(ctx); err != nil {
		return RequestPage{}, classify(fmt.Errorf("select requests: %w", err))
	}
	if len(page.Requests) > first {
		page.HasNextPage = true
		page.Requests = page.Requests[:first]
	}
	for i := range page.Requests {
		page.Requests[i].inUTC()
	}
	return page, nil
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
