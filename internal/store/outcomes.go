package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// recordOutcomePostgres writes the outcome of one of the user's requests,
// or replaces it: the new value and observed time win, the created time
// stays, the updated time moves. Like logPredictionsPostgres it checks in the
// same statement that the user is enabled and, with a TokenCheck (?5 the
// generation, ?6 the jti; NULL without one), that the token is not revoked;
// no row comes back when the request is not the user's or the user may not
// write.
const recordOutcomePostgres = `
INSERT INTO outcomes AS o (request_id, user_id, outcome, observed_datetime, created_datetime, updated_datetime)
SELECT r.id, r.user_id, ?2::boolean, ?3::timestamptz, ?4::timestamptz, ?4::timestamptz
FROM requests AS r JOIN users AS u ON u.id = r.user_id
WHERE r.id = ?1 AND r.user_id = ?0 AND u.enabled
	AND (?5::bigint IS NULL OR u.token_generation = ?5::bigint)
	AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?6::text)
ON CONFLICT (request_id) DO UPDATE SET outcome = excluded.outcome,
	observed_datetime = excluded.observed_datetime, updated_datetime = excluded.updated_datetime
RETURNING request_id, outcome, observed_datetime, created_datetime, updated_datetime`

// recordOutcomeSQLite is recordOutcomePostgres without the casts SQLite
// does not have. The WHERE clause is what lets SQLite parse ON CONFLICT after
// a SELECT.
const recordOutcomeSQLite = `
INSERT INTO outcomes AS o (request_id, user_id, outcome, observed_datetime, created_datetime, updated_datetime)
SELECT r.id, r.user_id, ?2, ?3, ?4, ?4
FROM requests AS r JOIN users AS u ON u.id = r.user_id
WHERE r.id = ?1 AND r.user_id = ?0 AND u.enabled
	AND (?5 IS NULL OR u.token_generation = ?5)
	AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?6)
ON CONFLICT (request_id) DO UPDATE SET outcome = excluded.outcome,
	observed_datetime = excluded.observed_datetime, updated_datetime = excluded.updated_datetime
RETURNING request_id, outcome, observed_datetime, created_datetime, updated_datetime`

// RecordOutcome records what really happened for one of the user's
// requests, observed at observedAt (kept to the microsecond, rounded down),
// replacing any outcome recorded before: the new value and observed time
// win, the first recording's created time stays and the updated time is now.
// Another user's request is ErrRequestNotFound, exactly like one that does
// not exist. A missing or disabled user, or with a TokenCheck in ctx a
// revoked token, is ErrUserNotFound and writes nothing. Checking observedAt
// against the request is the caller's job.
func (db *DB) RecordOutcome(ctx context.Context, userID, requestID int64, outcome bool, observedAt time.Time) (Outcome, error) {
	var generation *int64
	var tokenID *string
	if c, ok := tokenCheckFrom(ctx); ok {
		generation, tokenID = &c.Generation, &c.TokenID
	}
	query := recordOutcomeSQLite
	if db.dialect == Postgres {
		query = recordOutcomePostgres
	}
	var o Outcome
	err := db.rw.NewRaw(query, userID, requestID, outcome,
		observedAt.UTC().Truncate(time.Microsecond), now(), generation, tokenID,
	).Scan(ctx, &o)
	if db.replica != nil {
		// The user's performance changed (even on an error: the write may
		// have committed all the same).
		db.replica.noteWrites(ctx, db, userID)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Nothing written: say whether the request or the user was missing.
		owned, err := db.ro.NewSelect().Model((*Request)(nil)).
			Where("request.id = ?", requestID).Where("request.user_id = ?", userID).Exists(ctx)
		switch {
		case err != nil:
			return Outcome{}, classify(fmt.Errorf("find request: %w", err))
		case owned:
			return Outcome{}, ErrUserNotFound
		}
		return Outcome{}, ErrRequestNotFound
	case err != nil:
		return Outcome{}, classify(fmt.Errorf("record outcome: %w", err))
	}
	o.inUTC()
	return o, nil
}

// Outcome returns the outcome recorded for one of the user's requests, and
// whether there is one. Another user's request has none, like one that does
// not exist.
func (db *DB) Outcome(ctx context.Context, userID, requestID int64) (Outcome, bool, error) {
	var o Outcome
	err := db.ro.NewSelect().Model(&o).
		Join("JOIN requests AS request ON request.id = outcome.request_id").
		Where("outcome.request_id = ?", requestID).
		Where("request.user_id = ?", userID).
		Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Outcome{}, false, nil
	case err != nil:
		return Outcome{}, false, classify(fmt.Errorf("select outcome: %w", err))
	}
	o.inUTC()
	return o, true, nil
}

// ScoredOutcomes calls fn for each served prediction (status ok) that has a
// recorded outcome and matches f, of the user's requests (every user's when
// userID is 0), by decreasing probability, which is the order
// metrics.Accumulator needs (and so is any one version's subsequence). The rows are streamed, not held: memory
// does not grow with them. An error from fn stops the scan and is returned.
//
// One user's read from the replica when route allows (replica.go), every
// user's (an administrator's) from the primary. A read the replica fails
// after fn has had a row is not run again.
func (db *DB) ScoredOutcomes(ctx context.Context, userID int64, f RequestFilter, fn func(ScoredOutcome) error) error {
	if userID == 0 {
		return db.scoredOutcomes(ctx, userID, f, fn)
	}
	sent := false
	_, err := routed(ctx, db, userID, func() bool { return !sent }, func(on *DB) (struct{}, error) {
		return struct{}{}, on.scoredOutcomes(ctx, userID, f, func(s ScoredOutcome) error {
			sent = true
			return fn(s)
		})
	})
	return err
}

func (db *DB) scoredOutcomes(ctx context.Context, userID int64, f RequestFilter, fn func(ScoredOutcome) error) error {
	if f.HasOutcome != nil && !*f.HasOutcome {
		return nil // no request is both with and without an outcome
	}
	withOutcome := true
	f.HasOutcome = &withOutcome
	q := db.ro.NewSelect().TableExpr("requests AS request").
		Join("JOIN responses AS response ON response.request_id = request.id").
		ColumnExpr("request.id, response.model_version, response.yhat_prob, response.yhat, outcome.outcome").
		Where("response.status = ?", StatusOK)
	q = f.apply(f.joinFiltered(q, false, 0))
	if userID != 0 {
		q = q.Where("request.user_id = ?", userID)
	}
	rows, err := q.OrderExpr("response.yhat_prob DESC").Rows(ctx)
	if err != nil {
		return classify(fmt.Errorf("select scored outcomes: %w", err))
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var s ScoredOutcome
		if err := rows.Scan(&s.RequestID, &s.ModelVersion, &s.YhatProb, &s.Yhat, &s.Outcome); err != nil {
			return fmt.Errorf("scan scored outcome: %w", err)
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return classify(fmt.Errorf("read scored outcomes: %w", err))
	}
	return nil
}
