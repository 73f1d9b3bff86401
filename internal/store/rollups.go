package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// The history's figures are also kept as they are written (migration
// 000005): one row a user (user_history_totals), and one a user and
// quarter-hour, hour, six hours and UTC day (history_rollups, by grain),
// maintained by triggers in the writer's transaction. A question they can answer exactly reads them
// instead of every one of the user's requests: a whole history's count,
// totals and histogram, and its totals and time buckets over a range whose
// ends fall on quarter-hours. Any other filter reads the requests.

// rollupSeconds is the rollups' grain. Every time zone's offset is a whole
// number of quarter-hours (today's; some zones' local mean time before 1900
// was not), so any zone's hour, day and week boundaries are on the grain and
// a bucket of the stats is a sum of whole rollups; a boundary off the grain
// makes the query read the requests instead.
const rollupSeconds = 15 * 60

// onGrain reports whether t is nil or a whole quarter-hour.
func onGrain(t *time.Time) bool {
	if t == nil {
		return true
	}
	u := ceilMicrosecond(*t)
	return u.Nanosecond() == 0 && u.Unix()%rollupSeconds == 0
}

// rollupRange reports whether f keeps only a time range whose ends are on
// the grain, which the rollups answer; whole reports that it keeps
// everything, which the user's totals answer.
func (f RequestFilter) rollupRange() (ok, whole bool) {
	if f.needsResponse() || f.needsOutcome() || !onGrain(f.From) || !onGrain(f.Until) {
		return false, false
	}
	return true, f.From == nil && f.Until == nil
}

// totalsRow is a row of user_history_totals or a sum of history_rollups.
type totalsRow struct {
	figuresRow
	Bins [HistogramBins]int64 `bun:"-"`
}

const rollupFigures = `COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(ok), 0) AS ok,
	COALESCE(SUM(refused), 0) AS refused, COALESCE(SUM(positives), 0) AS positives,
	SUM(sum_prob) AS sum_prob, MIN(min_prob) AS min_prob, MAX(max_prob) AS max_prob,
	MIN(first_created) AS first_created, MAX(last_created) AS last_created`

// rollupTotals adds up the user's rollups in f's range, which must be on
// the grain; an open end is the user's first or last request.
func (db *DB) rollupTotals(ctx context.Context, userID int64, f RequestFilter) (figuresRow, error) {
	t, err := db.userTotals(ctx, userID)
	if err != nil || t.Requests == 0 {
		return t.figuresRow, err
	}
	lo := t.First.Unix() / rollupSeconds * rollupSeconds
	hi := (t.Last.Unix()/rollupSeconds + 1) * rollupSeconds
	if f.From != nil {
		lo = max(lo, ceilMicrosecond(*f.From).Unix())
	}
	if f.Until != nil {
		hi = min(hi, ceilMicrosecond(*f.Until).Unix())
	}
	if lo >= hi {
		return figuresRow{}, nil
	}
	rows, err := db.sumSegments(ctx, userID, [][2]int64{{lo, hi}})
	if err != nil || len(rows) == 0 {
		return figuresRow{}, err
	}
	return rows[0], nil
}

// userTotals reads the user's whole-history figures; a user with no request
// has no row, and zero figures.
func (db *DB) userTotals(ctx context.Context, userID int64) (totalsRow, error) {
	var out totalsRow
	b := &out.Bins
	err := db.ro.NewSelect().TableExpr("user_history_totals").
		Column("requests", "ok", "refused", "positives", "sum_prob", "min_prob", "max_prob", "first_created", "last_created",
			"bin0", "bin1", "bin2", "bin3", "bin4", "bin5", "bin6", "bin7", "bin8", "bin9").
		Where("user_id = ?", userID).
		Scan(ctx, &out.Requests, &out.OK, &out.Refused, &out.Positives, &out.Sum, &out.Min, &out.Max, &out.First, &out.Last,
			&b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7], &b[8], &b[9])
	if errors.Is(err, sql.ErrNoRows) {
		return totalsRow{}, nil
	}
	if err != nil {
		return totalsRow{}, classify(fmt.Errorf("user history totals: %w", err))
	}
	return out, nil
}

// rollupBuckets adds up the user's rollups per bucket of bounds, which must
// be on the grain, within f's range, as StatsBuckets does with the requests.
func (db *DB) rollupBuckets(ctx context.Context, userID int64, f RequestFilter, bounds []time.Time) ([]figuresRow, error) {
	ranges := make([][2]int64, len(bounds)-1)
	for i := range ranges {
		lo, hi := bounds[i].Unix(), bounds[i+1].Unix()
		if f.From != nil {
			lo = max(lo, ceilMicrosecond(*f.From).Unix())
		}
		if f.Until != nil {
			hi = min(hi, ceilMicrosecond(*f.Until).Unix())
		}
		ranges[i] = [2]int64{lo, max(lo, hi)}
	}
	return db.sumSegments(ctx, userID, ranges)
}

// segment is a run of rollups of one grain: those starting in [from, to).
type segment struct {
	grain, from, to int64
}

// rollupGrains are the rollups' lengths, each a multiple of the one before.
var rollupGrains = []int64{15 * 60, 3600, 6 * 3600, 24 * 3600}

// segments covers [from, to), both on the quarter-hour grain, with the
// fewest rollups: each grain up to the next grain's first boundary, whole
// days, then each grain down to the end. A day in UTC is one rollup; a
// day in a zone at a half-hour offset about a dozen.
func segments(from, to int64) []segment {
	var out []segment
	cur := from
	take := func(grain, end int64) {
		if end <= cur {
			return
		}
		// Runs of one grain either side of a boundary of the next that
		// no whole run of the next follows are one run.
		if n := len(out); n > 0 && out[n-1].grain == grain && out[n-1].to == cur {
			out[n-1].to = end
		} else {
			out = append(out, segment{grain, cur, end})
		}
		cur = end
	}
	ceil := func(t, g int64) int64 { return (t + g - 1) / g * g }
	floor := func(t, g int64) int64 { return t / g * g }
	last := len(rollupGrains) - 1
	for i := range last {
		take(rollupGrains[i], min(floor(to, rollupGrains[i]), ceil(cur, rollupGrains[i+1])))
	}
	take(rollupGrains[last], floor(to, rollupGrains[last]))
	for i := last - 1; i >= 0; i-- {
		take(rollupGrains[i], floor(to, rollupGrains[i]))
	}
	return out
}

// sumSegments adds up the user's rollups over each range, in one statement:
// row i of the answer (its Bucket i) sums ranges[i]; empty ranges have no
// row. The ranges follow one another: each starts where the one before
// ends, or is empty. Each range reads its few segments by the primary key.
func (db *DB) sumSegments(ctx context.Context, userID int64, ranges [][2]int64) ([]figuresRow, error) {
	if db.dialect == Postgres {
		return db.sumRunsPostgres(ctx, userID, ranges)
	}
	var buckets, grains []int32
	var froms, tos []int64
	for i, r := range ranges {
		for _, seg := range segments(r[0], r[1]) {
			buckets, grains = append(buckets, int32(i)), append(grains, int32(seg.grain))
			froms, tos = append(froms, seg.from), append(tos, seg.to)
		}
	}
	if len(buckets) == 0 {
		return nil, nil
	}
	var rows []figuresRow
	var values strings.Builder
	args := make([]any, 0, 4*len(buckets))
	values.WriteString("(VALUES ")
	for i := range buckets {
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(?, ?, ?, ?)")
		args = append(args, buckets[i], grains[i], froms[i], tos[i])
	}
	values.WriteString(") AS seg")
	seg := db.ro.NewSelect().TableExpr(values.String(), args...)
	if err := sumSegmentsQuery(seg, userID).Scan(ctx, &rows); err != nil {
		return nil, classify(fmt.Errorf("history rollups: %w", err))
	}
	return rows, nil
}

// runs covers the ranges, which follow one another, with their segments,
// a segment that goes on past a range's end into the next range's first
// one of the same grain making one run with it: in a zone at a half-hour
// offset a day's last quarter-hours and the next day's first are one run,
// and in UTC the days of a whole history are one. starts are the ranges'
// starts, which tell a rollup's range by its own start, since no rollup
// of a run crosses a range's end.
func runs(ranges [][2]int64) (grains []int32, froms, tos, starts []int64) {
	starts = make([]int64, len(ranges))
	for i, r := range ranges {
		starts[i] = r[0]
		for _, seg := range segments(r[0], r[1]) {
			if n := len(grains); n > 0 && grains[n-1] == int32(seg.grain) && tos[n-1] == seg.from {
				tos[n-1] = seg.to
				continue
			}
			grains, froms, tos = append(grains, int32(seg.grain)), append(froms, seg.from), append(tos, seg.to)
		}
	}
	return grains, froms, tos, starts
}

// sumRunsPostgres is sumSegments on PostgreSQL: each run reads its rollups
// by the primary key, in one index range (LATERAL, kept from being
// flattened by OFFSET 0: left to choose, the planner compares every rollup
// with every run), and width_bucket tells each rollup's range from the
// ranges' starts. A day's buckets over two years are a few thousand runs
// in a zone at a half-hour offset (a segment each used to cost one index
// search and one aggregate), and one in UTC. The statement's text never
// changes, so it goes to pgx with its arrays as binary parameters,
// prepared once per connection: parsing thousands of literals and planning
// afresh took longer than the reads.
func (db *DB) sumRunsPostgres(ctx context.Context, userID int64, ranges [][2]int64) ([]figuresRow, error) {
	grains, froms, tos, starts := runs(ranges)
	if len(grains) == 0 {
		return nil, nil
	}
	rows, err := db.ro.DB.QueryContext(ctx, sumRunsPostgresSQL, pgx.QueryExecModeCacheStatement, grains, froms, tos, starts, userID)
	if err != nil {
		return nil, classify(fmt.Errorf("history rollups: %w", err))
	}
	defer rows.Close()
	var out []figuresRow
	for rows.Next() {
		var r figuresRow
		var first, last sql.NullTime
		if err := rows.Scan(&r.Bucket, &r.Requests, &r.OK, &r.Refused, &r.Positives, &r.Sum, &r.Min, &r.Max, &first, &last); err != nil {
			return nil, classify(fmt.Errorf("history rollups: %w", err))
		}
		r.First.Time, r.Last.Time = first.Time, last.Time
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("history rollups: %w", err))
	}
	return out, nil
}

// sumRunsPostgresSQL: width_bucket finds, by bisection, the last of the
// starts a rollup's start is not before. An empty range before a filter's
// start starts where the next range does, so a rollup there goes to that
// next range; one past a filter's end starts after every rollup read.
const sumRunsPostgresSQL = `SELECT width_bucket(r.bucket_start, $4::bigint[]) - 1 AS bucket, ` + rollupFigures + `
FROM unnest($1::integer[], $2::bigint[], $3::bigint[]) AS run (grain, lo, hi)
CROSS JOIN LATERAL (SELECT bucket_start, requests, ok, refused, positives, sum_prob, min_prob, max_prob,
		first_created, last_created
	FROM history_rollups AS r WHERE r.user_id = $5 AND r.grain = run.grain
		AND r.bucket_start >= run.lo AND r.bucket_start < run.hi OFFSET 0) AS r
GROUP BY 1 ORDER BY 1`

// sumSegmentsQuery completes sumSegments's statement on SQLite, whose
// first table, seg, lists the segments: (bucket, grain, from, to) as
// column1 to column4. SQLite loops over the segments and reads each one's
// rollups by the primary key.
func sumSegmentsQuery(q *bun.SelectQuery, userID int64) *bun.SelectQuery {
	return q.Join("CROSS JOIN history_rollups AS r").
		Where("r.user_id = ?", userID).
		Where("r.grain = seg.column2").
		Where("r.bucket_start >= seg.column3").
		Where("r.bucket_start < seg.column4").
		ColumnExpr("seg.column1 AS bucket").ColumnExpr(rollupFigures).
		GroupExpr("seg.column1").OrderExpr("seg.column1")
}

// boundsOnGrain reports whether every bound is a whole quarter-hour.
func boundsOnGrain(bounds []time.Time) bool {
	for i := range bounds {
		if !onGrain(&bounds[i]) {
			return false
		}
	}
	return true
}

// rollupCount counts the user's requests in f's range (the whole history
// when whole) from the maintained figures.
func (db *DB) rollupCount(ctx context.Context, userID int64, f RequestFilter, whole bool) (int64, error) {
	if whole {
		t, err := db.userTotals(ctx, userID)
		return int64(t.Requests), err
	}
	row, err := db.rollupTotals(ctx, userID, f)
	return int64(row.Requests), err
}
