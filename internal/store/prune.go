package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Retention deletes the prediction log older than a cut-off: requests, with
// their responses and outcomes (ON DELETE CASCADE), oldest first, in batches,
// each a short transaction of its own, so that no lock is held for long and
// a stopped prune leaves whole batches done. A batch reads the next requests
// in creation order from requests_created_datetime_idx, starting where the
// last batch ended.
//
// The history's rollups (rollups.go) are kept by triggers on insert only: a
// trigger on delete would run for every row a deleted user cascades to.
// Each batch takes its rows out of them itself, in its transaction: counts
// and sums are subtracted (a sum then differs from one of the rows left by
// rounding, as the trigger's additions do), a rollup left empty is deleted,
// and a minimum, maximum, first or last time the batch may have taken away
// is read again from the rows left, by index (a rollup's time range, or the
// user's responses by probability).
//
// Several processes may prune at once. On PostgreSQL a batch locks its
// requests with SKIP LOCKED, so two prunes take different requests, and
// locks the rollups and totals it changes in key order, as the insert
// trigger does, so that neither deadlocks with the other or with the log's
// writers. On SQLite a batch holds the one writer.

const (
	// DefaultPruneBatch is how many requests a batch deletes unless told
	// otherwise.
	DefaultPruneBatch = 1000
	// MaxPruneBatch bounds a batch, and so how long it holds its locks
	// (on SQLite, the writer).
	MaxPruneBatch = 10000
)

// PruneCounts counts the rows a prune deletes.
type PruneCounts struct {
	Requests, Responses, Outcomes int64
}

// PruneReport is what a prune did.
type PruneReport struct {
	PruneCounts
	// Batches counts the batches that deleted something; LongestBatch is
	// the longest one's transaction.
	Batches      int
	LongestBatch time.Duration
}

// PruneOptions tunes PruneLog.
type PruneOptions struct {
	// BatchSize is how many requests each batch deletes, at most
	// MaxPruneBatch; zero means DefaultPruneBatch.
	BatchSize int
	// Rest, when set, is called between batches with how long the batch
	// just committed took; an error stops the prune and is returned.
	Rest func(ctx context.Context, batchTook time.Duration) error
}

// PruneLog deletes every request created before before, with its response
// and outcome, and takes them out of the history's rollups, in batches of
// opts.BatchSize requests, oldest first. It returns what it deleted, also
// when it stops on an error: every batch committed stays deleted. Requests
// another prune holds are left to it.
func (db *DB) PruneLog(ctx context.Context, before time.Time, opts PruneOptions) (PruneReport, error) {
	size := opts.BatchSize
	if size == 0 {
		size = DefaultPruneBatch
	}
	if size < 1 || size > MaxPruneBatch {
		return PruneReport{}, fmt.Errorf("prune batch size %d: want 1 to %d", size, MaxPruneBatch)
	}
	before = ceilMicrosecond(before)
	var report PruneReport
	var from *time.Time
	for {
		began := time.Now()
		counts, last, err := db.pruneBatch(ctx, from, before, size)
		if err != nil {
			return report, classify(fmt.Errorf("prune the log: %w", err))
		}
		if counts.Requests == 0 {
			return report, nil
		}
		took := time.Since(began)
		report.Requests += counts.Requests
		report.Responses += counts.Responses
		report.Outcomes += counts.Outcomes
		report.Batches++
		report.LongestBatch = max(report.LongestBatch, took)
		if counts.Requests < int64(size) {
			return report, nil
		}
		if opts.Rest != nil {
			if err := opts.Rest(ctx, took); err != nil {
				return report, err
			}
		}
		from = &last
	}
}

// CountLogBefore counts the requests created before before, with their
// responses and outcomes: what PruneLog would delete.
func (db *DB) CountLogBefore(ctx context.Context, before time.Time) (PruneCounts, error) {
	var c PruneCounts
	err := db.ro.NewSelect().TableExpr("requests AS q").
		ColumnExpr("count(*), count(s.id), count(o.request_id)").
		Join("LEFT JOIN responses AS s ON s.request_id = q.id").
		Join("LEFT JOIN outcomes AS o ON o.request_id = q.id").
		Where("q.created_datetime < ?", ceilMicrosecond(before)).
		Scan(ctx, &c.Requests, &c.Responses, &c.Outcomes)
	if err != nil {
		return PruneCounts{}, classify(fmt.Errorf("count the log before %s: %w", before.Format(time.RFC3339), err))
	}
	return c, nil
}

// prunedRequest is a request a batch deletes, with what the rollups counted
// of its response (nil fields when it has none).
type prunedRequest struct {
	ID         int64     `bun:"id"`
	UserID     int64     `bun:"user_id"`
	Created    time.Time `bun:"created_datetime"`
	Status     *Status   `bun:"status"`
	Yhat       *int      `bun:"yhat"`
	Prob       *float64  `bun:"yhat_prob"`
	HasOutcome bool      `bun:"has_outcome"`
	auditedRequest
}

// pruneBatch deletes up to size of the oldest requests created in [from,
// before) (from nil: any time before), in one transaction, and returns what
// it deleted and the newest creation time among them, where the next batch
// starts.
//
// It is the one place the log is deleted by age: the audit log's
// checkpoints of the chains at the cut are written in its transaction, so
// that the rows and their checkpoints go together.
func (db *DB) pruneBatch(ctx context.Context, from *time.Time, before time.Time, size int) (PruneCounts, time.Time, error) {
	var counts PruneCounts
	var last time.Time
	err := db.rw.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if db.dialect == Postgres {
			// A large batch's statements (thousands of rollups, each with
			// its subqueries) can be priced above jit_above_cost, and
			// compiling them would take longer than running them, as in
			// sumSegments.
			if _, err := tx.ExecContext(ctx, "SET LOCAL jit = off"); err != nil {
				return err
			}
		}
		var rows []prunedRequest
		q := tx.NewSelect().TableExpr("requests AS q").
			ColumnExpr("q.id, q.user_id, q.created_datetime, s.status, s.yhat, s.yhat_prob").
			ColumnExpr("q.audit_chain, q.audit_seq, q.audit_hash").
			ColumnExpr("o.request_id IS NOT NULL AS has_outcome").
			Join("LEFT JOIN responses AS s ON s.request_id = q.id").
			Join("LEFT JOIN outcomes AS o ON o.request_id = q.id").
			Where("q.created_datetime < ?", before).
			OrderExpr("q.created_datetime").
			Limit(int64(size))
		if from != nil {
			q = q.Where("q.created_datetime >= ?", *from)
		}
		if db.dialect == Postgres {
			q = q.For("UPDATE OF q SKIP LOCKED")
		}
		if err := q.Scan(ctx, &rows); err != nil {
			return fmt.Errorf("select the requests: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]int64, len(rows))
		audited := make([]auditedRequest, len(rows))
		for i, r := range rows {
			ids[i], audited[i] = r.ID, r.auditedRequest
			if r.Status != nil {
				counts.Responses++
			}
			if r.HasOutcome {
				counts.Outcomes++
			}
		}
		res, err := tx.NewDelete().TableExpr("requests").Where("id IN (?)", bun.List(ids)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete the requests: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("delete the requests: %w", err)
		}
		if n != int64(len(ids)) {
			return fmt.Errorf("deleted %d of the %d requests selected", n, len(ids))
		}
		counts.Requests = int64(len(ids))
		last = rows[len(rows)-1].Created
		if err := db.seal(ctx, tx, audited, reasonRetention); err != nil {
			return fmt.Errorf("audit checkpoints: %w", err)
		}
		rollups, totals := subtractions(rows)
		if err := db.subtractRollups(ctx, tx, rollups); err != nil {
			return fmt.Errorf("history rollups: %w", err)
		}
		if err := db.subtractTotals(ctx, tx, totals); err != nil {
			return fmt.Errorf("history totals: %w", err)
		}
		return nil
	})
	if err != nil {
		return PruneCounts{}, time.Time{}, err
	}
	return counts, last, nil
}

// rollupKey names a row of history_rollups.
type rollupKey struct {
	userID, grain, start int64
}

// subtraction is what a batch takes out of one rollup or one user's totals:
// its deleted responses added up as the insert trigger adds them up.
type subtraction struct {
	requests, ok, refused, positives int64
	// sum, min and max are over the probabilities, and mean nothing when
	// ok is 0.
	sum, min, max float64
	first, last   time.Time
	bins          [HistogramBins]int64
}

func (s *subtraction) add(r prunedRequest) {
	if s.requests == 0 || r.Created.Before(s.first) {
		s.first = r.Created
	}
	if s.requests == 0 || r.Created.After(s.last) {
		s.last = r.Created
	}
	s.requests++
	if *r.Status == StatusOK {
		s.ok++
	} else {
		s.refused++
	}
	if r.Yhat != nil {
		s.positives += int64(*r.Yhat)
	}
	if r.Prob != nil {
		p := *r.Prob
		if s.ok == 1 { // the first probability: only an ok response has one
			s.min, s.max = p, p
		}
		s.sum += p
		s.min, s.max = min(s.min, p), max(s.max, p)
		// As the trigger bins: [N/10, (N+1)/10), 1 in the last bin.
		s.bins[min(int(p*10), HistogramBins-1)]++
	}
}

// subtractions adds up the deleted rows per rollup and per user. A rollup
// is keyed by its requests' creation time, which the rollups follow when a
// request is moved by hand (migration 000005).
func subtractions(rows []prunedRequest) (rollups map[rollupKey]*subtraction, totals map[int64]*subtraction) {
	rollups, totals = make(map[rollupKey]*subtraction), make(map[int64]*subtraction)
	for _, r := range rows {
		if r.Status == nil {
			continue // no response: the rollups never counted it
		}
		for _, g := range rollupGrains {
			unix := r.Created.Unix()
			start := unix - ((unix%g)+g)%g // floor, as the trigger's floor()
			k := rollupKey{r.UserID, g, start}
			if rollups[k] == nil {
				rollups[k] = &subtraction{}
			}
			rollups[k].add(r)
		}
		if totals[r.UserID] == nil {
			totals[r.UserID] = &subtraction{}
		}
		totals[r.UserID].add(r)
	}
	return rollups, totals
}

// column is a column of a table a statement is sent: a name, its type on
// PostgreSQL, and its values, one a row.
type column struct {
	name, pgType string
	array        any
	at           func(i int) any
	rows         int
}

func newColumn[T any](name, pgType string, values []T) column {
	return column{name, pgType, values, func(i int) any { return values[i] }, len(values)}
}

// pick returns the values of rows, in that order.
func pick[T any](values []T, rows []int) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = values[r]
	}
	return out
}

// table returns a table expression, aliased d, holding the columns' rows:
// on PostgreSQL an unnest of one array a column (the arrays' text is what
// grows with the rows), on SQLite a VALUES list.
func (db *DB) table(cols []column) (string, []any) {
	var b strings.Builder
	var args []any
	if db.dialect == Postgres {
		b.WriteString("unnest(")
		names := make([]string, len(cols))
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "CAST(? AS %s[])", c.pgType)
			args = append(args, pgdialect.Array(c.array))
			names[i] = c.name
		}
		fmt.Fprintf(&b, ") AS d (%s)", strings.Join(names, ", "))
		return b.String(), args
	}
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "column%d AS %s", i+1, c.name)
	}
	b.WriteString(" FROM (VALUES ")
	row := "(" + strings.Repeat("?, ", len(cols)-1) + "?)"
	for i := range cols[0].rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		for _, c := range cols {
			args = append(args, c.at(i))
		}
	}
	b.WriteString(")) AS d")
	return b.String(), args
}

// subtractionColumns are the columns of subs's figures.
func subtractionColumns(subs []*subtraction) []column {
	n := len(subs)
	requests, ok, refused, positives := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	sums, mins, maxs := make([]float64, n), make([]float64, n), make([]float64, n)
	firsts, lasts := make([]time.Time, n), make([]time.Time, n)
	for i, s := range subs {
		requests[i], ok[i], refused[i], positives[i] = s.requests, s.ok, s.refused, s.positives
		sums[i], mins[i], maxs[i] = s.sum, s.min, s.max
		firsts[i], lasts[i] = s.first, s.last
	}
	return []column{
		newColumn("requests", "bigint", requests), newColumn("ok", "bigint", ok),
		newColumn("refused", "bigint", refused), newColumn("positives", "bigint", positives),
		newColumn("sum_prob", "double precision", sums), newColumn("min_prob", "double precision", mins),
		newColumn("max_prob", "double precision", maxs),
		newColumn("first_created", "timestamptz", firsts), newColumn("last_created", "timestamptz", lasts),
	}
}

// subtractFigures is the SET list that takes d's figures out of the row
// aliased t. A minimum or maximum d may hold is read again with the
// statement minProb or maxProb, a first or last time with firstCreated or
// lastCreated, each of the rows left (these run only when needed).
func subtractFigures(minProb, maxProb, firstCreated, lastCreated string) string {
	return `requests = t.requests - d.requests, ok = t.ok - d.ok, refused = t.refused - d.refused,
	positives = t.positives - d.positives,
	sum_prob = CASE WHEN t.ok = d.ok THEN NULL ELSE t.sum_prob - d.sum_prob END,
	min_prob = CASE WHEN t.ok = d.ok THEN NULL WHEN d.ok > 0 AND d.min_prob <= t.min_prob THEN (` + minProb + `) ELSE t.min_prob END,
	max_prob = CASE WHEN t.ok = d.ok THEN NULL WHEN d.ok > 0 AND d.max_prob >= t.max_prob THEN (` + maxProb + `) ELSE t.max_prob END,
	first_created = CASE WHEN d.first_created <= t.first_created THEN COALESCE((` + firstCreated + `), t.first_created) ELSE t.first_created END,
	last_created = CASE WHEN d.last_created >= t.last_created THEN COALESCE((` + lastCreated + `), t.last_created) ELSE t.last_created END`
}

// figuresTable is a table of maintained figures a prune subtracts from.
type figuresTable struct {
	name string
	// key names the key's columns, most significant first.
	key []string
	// columns returns the columns of the given subtractions: their keys'
	// and, with figures, what set reads of them.
	columns func(rows []int, figures bool) []column
	// set is the SET list of the update.
	set string
}

// subtract takes subs, in key order, out of the rows of ft. It
// reads the rows' counts first (on PostgreSQL locking them, in key order,
// the order in which the insert trigger locks them), so that it deletes the
// rows it empties and updates only the others: those are few (a prune
// empties all but the last few time ranges it reaches), and only their
// figures are sent.
func (db *DB) subtract(ctx context.Context, tx bun.Tx, ft figuresTable, subs []*subtraction) error {
	all := make([]int, len(subs))
	for i := range all {
		all[i] = i
	}
	var match, order []string
	for _, k := range ft.key {
		match = append(match, fmt.Sprintf("t.%s = d.%s", k, k))
		order = append(order, "t."+k)
	}
	on := strings.Join(match, " AND ")
	d, args := db.table(append(ft.columns(all, false), newColumn("ord", "bigint", all)))
	read := fmt.Sprintf("SELECT d.ord, t.requests FROM %s AS t JOIN %s ON %s ORDER BY %s", ft.name, d, on, strings.Join(order, ", "))
	if db.dialect == Postgres {
		read += " FOR UPDATE OF t"
	}
	stored, err := readCounts(ctx, tx, read, args)
	if err != nil {
		return fmt.Errorf("read the counts: %w", err)
	}
	var emptied, shrunk []int
	for ord, requests := range stored {
		if requests <= subs[ord].requests {
			emptied = append(emptied, ord)
		} else {
			shrunk = append(shrunk, ord)
		}
	}
	slices.Sort(emptied)
	slices.Sort(shrunk)
	keys := strings.Join(ft.key, ", ")
	if len(emptied) > 0 {
		d, args := db.table(ft.columns(emptied, false))
		stmt := fmt.Sprintf("DELETE FROM %s WHERE (%s) IN (SELECT %s FROM %s)", ft.name, keys, keys, d)
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("delete the emptied: %w", err)
		}
	}
	if len(shrunk) > 0 {
		d, args := db.table(ft.columns(shrunk, true))
		stmt := fmt.Sprintf("UPDATE %s AS t SET %s FROM %s WHERE %s", ft.name, ft.set, d, on)
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("update: %w", err)
		}
	}
	return nil
}

// readCounts runs read, which returns (ord, requests) rows, and maps the
// one to the other.
func readCounts(ctx context.Context, tx bun.Tx, read string, args []any) (map[int]int64, error) {
	rows, err := tx.QueryContext(ctx, read, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := make(map[int]int64)
	for rows.Next() {
		var ord int
		var requests int64
		if err := rows.Scan(&ord, &requests); err != nil {
			return nil, err
		}
		stored[ord] = requests
	}
	return stored, rows.Err()
}

// A rollup's rows are its user's requests created in [d.lo, d.hi).
const (
	rollupRows = `FROM requests AS q JOIN responses AS s ON s.request_id = q.id
		WHERE q.user_id = t.user_id AND q.created_datetime >= d.lo AND q.created_datetime < d.hi`
	rollupRequests = `FROM requests AS q
		WHERE q.user_id = t.user_id AND q.created_datetime >= d.lo AND q.created_datetime < d.hi`
)

// subtractRollups takes subs out of history_rollups.
func (db *DB) subtractRollups(ctx context.Context, tx bun.Tx, subs map[rollupKey]*subtraction) error {
	keys := make([]rollupKey, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.userID, b.userID), cmp.Compare(a.grain, b.grain), cmp.Compare(a.start, b.start))
	})
	n := len(keys)
	users, grains, starts := make([]int64, n), make([]int64, n), make([]int64, n)
	ordered := make([]*subtraction, n)
	for i, k := range keys {
		users[i], grains[i], starts[i] = k.userID, k.grain, k.start
		ordered[i] = subs[k]
	}
	return db.subtract(ctx, tx, figuresTable{
		name: "history_rollups",
		key:  []string{"user_id", "grain", "bucket_start"},
		columns: func(rows []int, figures bool) []column {
			cols := []column{
				newColumn("user_id", "bigint", pick(users, rows)), newColumn("grain", "bigint", pick(grains, rows)),
				newColumn("bucket_start", "bigint", pick(starts, rows)),
			}
			if !figures {
				return cols
			}
			los, his := make([]time.Time, len(rows)), make([]time.Time, len(rows))
			for i, r := range rows {
				los[i], his[i] = time.Unix(starts[r], 0).UTC(), time.Unix(starts[r]+grains[r], 0).UTC()
			}
			cols = append(cols, newColumn("lo", "timestamptz", los), newColumn("hi", "timestamptz", his))
			return append(cols, subtractionColumns(pick(ordered, rows))...)
		},
		set: subtractFigures(
			"SELECT min(s.yhat_prob) "+rollupRows,
			"SELECT max(s.yhat_prob) "+rollupRows,
			"SELECT q.created_datetime "+rollupRequests+" ORDER BY q.created_datetime LIMIT 1",
			"SELECT q.created_datetime "+rollupRequests+" ORDER BY q.created_datetime DESC LIMIT 1"),
	}, ordered)
}

// subtractTotals takes subs out of user_history_totals.
func (db *DB) subtractTotals(ctx context.Context, tx bun.Tx, subs map[int64]*subtraction) error {
	users := make([]int64, 0, len(subs))
	for u := range subs {
		users = append(users, u)
	}
	slices.Sort(users)
	ordered := make([]*subtraction, len(users))
	for i, u := range users {
		ordered[i] = subs[u]
	}
	set := []string{subtractFigures(
		// The user's responses by probability (responses_user_id_yhat_prob_idx):
		// the range leaves out refusals, whose probability is NULL.
		"SELECT s.yhat_prob FROM responses AS s WHERE s.user_id = t.user_id AND s.yhat_prob >= 0 ORDER BY s.yhat_prob LIMIT 1",
		"SELECT s.yhat_prob FROM responses AS s WHERE s.user_id = t.user_id AND s.yhat_prob <= 1 ORDER BY s.yhat_prob DESC LIMIT 1",
		"SELECT q.created_datetime FROM requests AS q WHERE q.user_id = t.user_id ORDER BY q.created_datetime LIMIT 1",
		"SELECT q.created_datetime FROM requests AS q WHERE q.user_id = t.user_id ORDER BY q.created_datetime DESC LIMIT 1")}
	for b := range HistogramBins {
		set = append(set, fmt.Sprintf("bin%d = t.bin%d - d.bin%d", b, b, b))
	}
	return db.subtract(ctx, tx, figuresTable{
		name: "user_history_totals",
		key:  []string{"user_id"},
		columns: func(rows []int, figures bool) []column {
			cols := []column{newColumn("user_id", "bigint", pick(users, rows))}
			if !figures {
				return cols
			}
			cols = append(cols, subtractionColumns(pick(ordered, rows))...)
			for b := range HistogramBins {
				bins := make([]int64, len(rows))
				for i, r := range rows {
					bins[i] = ordered[r].bins[b]
				}
				cols = append(cols, newColumn(fmt.Sprintf("bin%d", b), "bigint", bins))
			}
			return cols
		},
		set: strings.Join(set, ",\n\t"),
	}, ordered)
}
