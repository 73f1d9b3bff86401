package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Figures are counts and probability figures over a set of requests.
type Figures struct {
	Requests, OK, Refused, Positives int
	// SumProbability adds up the ok predictions' yhat_prob: the mean is
	// SumProbability / OK. The databases add in their own order (SQLite
	// with compensated summation), so sums agree to about 1e-15 relative,
	// not bit for bit.
	SumProbability float64
	// MinProbability and MaxProbability are nil when OK is 0.
	MinProbability, MaxProbability *float64
}

// MeanProbability is SumProbability / OK, nil when there is no prediction.
func (f Figures) MeanProbability() *float64 {
	if f.OK == 0 {
		return nil
	}
	mean := f.SumProbability / float64(f.OK)
	return &mean
}

// StatsTotals are the figures over every request a filter keeps, with the
// time range they span.
type StatsTotals struct {
	Figures
	// First and Last are the oldest and newest requests' creation times;
	// zero when there is no request.
	First, Last time.Time
}

// BucketFigures are the figures of the requests created in [Start, End).
type BucketFigures struct {
	Start, End time.Time
	Figures
}

// HistogramBins is how many bins of width 0.1 the probability histogram has.
const HistogramBins = 10

// figuresRow is one aggregate row as both databases answer it.
type figuresRow struct {
	Bucket    int             `bun:"bucket"`
	Requests  int             `bun:"requests"`
	OK        int             `bun:"ok"`
	Refused   int             `bun:"refused"`
	Positives int             `bun:"positives"`
	Sum       sql.NullFloat64 `bun:"sum_prob"`
	Min       sql.NullFloat64 `bun:"min_prob"`
	Max       sql.NullFloat64 `bun:"max_prob"`
	First     bun.NullTime    `bun:"first_created"`
	Last      bun.NullTime    `bun:"last_created"`
}

func (r figuresRow) figures() Figures {
	f := Figures{Requests: r.Requests, OK: r.OK, Refused: r.Refused, Positives: r.Positives, SumProbability: r.Sum.Float64}
	if r.Min.Valid {
		f.MinProbability = &r.Min.Float64
	}
	if r.Max.Valid {
		f.MaxProbability = &r.Max.Float64
	}
	return f
}

// figureColumns are the aggregate columns of figuresRow, the same SQL on
// both databases. yhat is NULL for a refused request, so SUM counts the
// positives among the predictions.
const figureColumns = `count(*) AS requests,
	COALESCE(SUM(CASE WHEN response.status = 'ok' THEN 1 ELSE 0 END), 0) AS ok,
	COALESCE(SUM(CASE WHEN response.status = 'invalid_input' THEN 1 ELSE 0 END), 0) AS refused,
	COALESCE(SUM(response.yhat), 0) AS positives,
	SUM(response.yhat_prob) AS sum_prob,
	MIN(response.yhat_prob) AS min_prob,
	MAX(response.yhat_prob) AS max_prob`

// filteredRequests selects the user's requests that f keeps, joined with
// their responses (and outcomes when f reads them).
func (db *DB) filteredRequests(userID int64, f RequestFilter) *bun.SelectQuery {
	q := db.ro.NewSelect().Model((*Request)(nil)).
		Join("JOIN responses AS response ON response.request_id = request.id")
	q = f.joinFiltered(q, false, 0)
	return f.apply(q.Where("request.user_id = ?", userID))
}

// StatsTotals adds up the user's requests that f keeps, in one statement:
// from the maintained figures when f keeps a whole history or a range on
// quarter-hours (see rollups.go), from the requests otherwise.
func (db *DB) StatsTotals(ctx context.Context, userID int64, f RequestFilter) (StatsTotals, error) {
	return routed(ctx, db, userID, nil, func(on *DB) (StatsTotals, error) { return on.statsTotals(ctx, userID, f) })
}

func (db *DB) statsTotals(ctx context.Context, userID int64, f RequestFilter) (StatsTotals, error) {
	if ok, whole := f.rollupRange(); ok {
		var row figuresRow
		if whole {
			t, err := db.userTotals(ctx, userID)
			if err != nil {
				return StatsTotals{}, err
			}
			row = t.figuresRow
		} else {
			var err error
			if row, err = db.rollupTotals(ctx, userID, f); err != nil {
				return StatsTotals{}, err
			}
		}
		return StatsTotals{Figures: row.figures(), First: row.First.UTC(), Last: row.Last.UTC()}, nil
	}
	var rows []figuresRow
	err := db.filteredRequests(userID, f).
		ColumnExpr("0 AS bucket").
		ColumnExpr(figureColumns).
		ColumnExpr("MIN(request.created_datetime) AS first_created").
		ColumnExpr("MAX(request.created_datetime) AS last_created").
		Scan(ctx, &rows)
	if err != nil {
		return StatsTotals{}, classify(fmt.Errorf("stats totals: %w", err))
	}
	if len(rows) != 1 {
		return StatsTotals{}, fmt.Errorf("stats totals: %d rows", len(rows))
	}
	return StatsTotals{Figures: rows[0].figures(), First: rows[0].First.UTC(), Last: rows[0].Last.UTC()}, nil
}

// StatsBuckets adds up the user's requests that f keeps per time bucket,
// in one statement. bounds are the buckets' boundaries in increasing order:
// bucket i is [bounds[i], bounds[i+1]). Only buckets holding a request are
// returned, oldest first.
//
// The buckets are a VALUES table joined to requests by range, so that each
// bucket reads its requests through the (user_id, created_datetime) index,
// and the boundaries, computed by the caller in any time zone, are compared
// as the filters compare times: the SQL is the same on both databases.
func (db *DB) StatsBuckets(ctx context.Context, userID int64, f RequestFilter, bounds []time.Time) ([]BucketFigures, error) {
	return routed(ctx, db, userID, nil, func(on *DB) ([]BucketFigures, error) { return on.statsBuckets(ctx, userID, f, bounds) })
}

func (db *DB) statsBuckets(ctx context.Context, userID int64, f RequestFilter, bounds []time.Time) ([]BucketFigures, error) {
	if len(bounds) < 2 {
		return []BucketFigures{}, nil
	}
	var rows []figuresRow
	var err error
	if ok, _ := f.rollupRange(); ok && boundsOnGrain(bounds) {
		rows, err = db.rollupBuckets(ctx, userID, f, bounds)
	} else {
		rows, err = db.requestBuckets(ctx, userID, f, bounds)
	}
	if err != nil {
		return nil, err
	}
	out := make([]BucketFigures, 0, len(rows))
	for _, r := range rows {
		if r.Bucket < 0 || r.Bucket >= len(bounds)-1 {
			return nil, fmt.Errorf("stats buckets: bucket %d of %d", r.Bucket, len(bounds)-1)
		}
		out = append(out, BucketFigures{Start: bounds[r.Bucket].UTC(), End: bounds[r.Bucket+1].UTC(), Figures: r.figures()})
	}
	return out, nil
}

// requestBuckets adds up the user's requests that f keeps per bucket of
// bounds, reading the requests.
func (db *DB) requestBuckets(ctx context.Context, userID int64, f RequestFilter, bounds []time.Time) ([]figuresRow, error) {
	// PostgreSQL types a VALUES column of bare literals as text; SQLite
	// compares TEXT times, which is what a bare literal is.
	timeExpr := "?"
	if db.dialect == Postgres {
		timeExpr = "CAST(? AS timestamptz)"
	}
	var values strings.Builder
	args := make([]any, 0, 3*(len(bounds)-1))
	values.WriteString("(VALUES ")
	for i := range len(bounds) - 1 {
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(CAST(? AS integer), " + timeExpr + ", " + timeExpr + ")")
		args = append(args, i, ceilMicrosecond(bounds[i]), ceilMicrosecond(bounds[i+1]))
	}
	values.WriteString(") AS bucket")

	// Both databases name the columns of VALUES column1, column2, ... The
	// CROSS JOIN makes SQLite's planner loop over the buckets and read each
	// one's requests by index range, rather than scan the buckets once per
	// request; PostgreSQL's planner is free to pick the same plan and does
	// once it has statistics.
	requests := "CROSS JOIN requests AS request"
	if db.dialect == SQLite {
		// With statistics, SQLite may still prefer (user_id, id) and
		// then read every request of the user for each bucket.
		requests += " INDEXED BY requests_user_id_created_datetime_idx"
	}
	q := db.ro.NewSelect().TableExpr(values.String(), args...).
		Join(requests).
		Join("JOIN responses AS response ON response.request_id = request.id")
	q = f.joinFiltered(q, false, 0).
		Where("request.user_id = ?", userID).
		Where("request.created_datetime >= bucket.column2").
		Where("request.created_datetime < bucket.column3")
	q = f.apply(q)
	var rows []figuresRow
	err := q.ColumnExpr("bucket.column1 AS bucket").
		ColumnExpr(figureColumns).
		GroupExpr("bucket.column1").
		OrderExpr("bucket.column1").
		Scan(ctx, &rows)
	if err != nil {
		return nil, classify(fmt.Errorf("stats buckets: %w", err))
	}
	return rows, nil
}

// histogramBin is the bin of yhat_prob, min(floor(p*10), 9), written with
// comparisons only: PostgreSQL rounds a float cast to integer where SQLite
// truncates, and both compare p*10 (a double product, as in Go) with the
// integers exactly.
const histogramBin = `CASE
	WHEN response.yhat_prob * 10 >= 9 THEN 9
	WHEN response.yhat_prob * 10 >= 8 THEN 8
	WHEN response.yhat_prob * 10 >= 7 THEN 7
	WHEN response.yhat_prob * 10 >= 6 THEN 6
	WHEN response.yhat_prob * 10 >= 5 THEN 5
	WHEN response.yhat_prob * 10 >= 4 THEN 4
	WHEN response.yhat_prob * 10 >= 3 THEN 3
	WHEN response.yhat_prob * 10 >= 2 THEN 2
	WHEN response.yhat_prob * 10 >= 1 THEN 1
	ELSE 0 END`

// StatsHistogram counts the user's predictions that f keeps in ten bins of
// width 0.1 of yhat_prob, in one statement: bin i holds [i/10, (i+1)/10),
// the last one 1 as well. Refused requests have no probability and are not
// counted.
func (db *DB) StatsHistogram(ctx context.Context, userID int64, f RequestFilter) ([HistogramBins]int, error) {
	return routed(ctx, db, userID, nil, func(on *DB) ([HistogramBins]int, error) { return on.statsHistogram(ctx, userID, f) })
}

func (db *DB) statsHistogram(ctx context.Context, userID int64, f RequestFilter) ([HistogramBins]int, error) {
	if _, whole := f.rollupRange(); whole {
		t, err := db.userTotals(ctx, userID)
		var counts [HistogramBins]int
		for i, n := range t.Bins {
			counts[i] = int(n)
		}
		return counts, err
	}
	var rows []struct {
		Bin   int `bun:"bin"`
		Count int `bun:"n"`
	}
	err := db.filteredRequests(userID, f).
		Where("response.yhat_prob IS NOT NULL").
		ColumnExpr(histogramBin+" AS bin").
		ColumnExpr("count(*) AS n").
		GroupExpr("bin").
		Scan(ctx, &rows)
	var counts [HistogramBins]int
	if err != nil {
		return counts, classify(fmt.Errorf("stats histogram: %w", err))
	}
	for _, r := range rows {
		if r.Bin < 0 || r.Bin >= HistogramBins {
			return counts, fmt.Errorf("stats histogram: bin %d", r.Bin)
		}
		counts[r.Bin] = r.Count
	}
	return counts, nil
}

// EachServedInput calls fn with the input of every request of any user
// created in [from, until) that got a prediction (status ok), oldest first,
// reading the rows as they come rather than holding them. It stops at fn's
// first error and returns it.
func (db *DB) EachServedInput(ctx context.Context, from, until time.Time, fn func(input json.RawMessage) error) error {
	rows, err := db.ro.NewSelect().Model((*Request)(nil)).
		Column("request.input").
		Join("JOIN responses AS response ON response.request_id = request.id").
		Where("response.status = ?", string(StatusOK)).
		Where("request.created_datetime >= ?", ceilMicrosecond(from)).
		Where("request.created_datetime < ?", ceilMicrosecond(until)).
		OrderExpr("request.created_datetime, request.id").
		Rows(ctx)
	if err != nil {
		return classify(fmt.Errorf("select served inputs: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var input []byte
		if err := rows.Scan(&input); err != nil {
			return classify(fmt.Errorf("scan served input: %w", err))
		}
		if err := fn(input); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return classify(fmt.Errorf("served inputs: %w", err))
	}
	return nil
}
