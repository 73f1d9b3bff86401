package store_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// reads records where routed reads went, as "target/fallback".
type reads struct {
	mu  sync.Mutex
	got []string
}

func (r *reads) ObserveRead(target, fallback string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, target+"/"+fallback)
}

// take returns the reads seen since the last take.
func (r *reads) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// openWithReplica opens databaseURL with readURL as its replica, as one
// more process would.
func openWithReplica(t *testing.T, databaseURL, readURL string, maxLag time.Duration, observer store.ReadObserver) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), databaseURL, store.Options{ReadURL: readURL, MaxReplicaLag: maxLag, Reads: observer})
	if err != nil {
		t.Fatalf("Open with a replica: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// historyFigures is what each routed read says of a user's history: the
// history's totalCount, the stats' total, the histogram's sum and the
// predictions with an outcome (performance).
type historyFigures struct {
	page, totals, histogram, scored int
}

func readHistory(t *testing.T, db *store.DB, userID int64) historyFigures {
	t.Helper()
	ctx := t.Context()
	page, err := db.ListRequests(ctx, userID, store.PageQuery{Size: 100})
	if err != nil {
		t.Fatalf("ListRequests: %v", err)
	}
	if len(page.Requests) != page.TotalCount {
		t.Fatalf("ListRequests: %d rows, totalCount %d", len(page.Requests), page.TotalCount)
	}
	totals, err := db.StatsTotals(ctx, userID, store.RequestFilter{})
	if err != nil {
		t.Fatalf("StatsTotals: %v", err)
	}
	bins, err := db.StatsHistogram(ctx, userID, store.RequestFilter{})
	if err != nil {
		t.Fatalf("StatsHistogram: %v", err)
	}
	f := historyFigures{page: page.TotalCount, totals: totals.Requests}
	for _, n := range bins {
		f.histogram += n
	}
	err = db.ScoredOutcomes(ctx, userID, store.RequestFilter{}, func(store.ScoredOutcome) error {
		f.scored++
		return nil
	})
	if err != nil {
		t.Fatalf("ScoredOutcomes: %v", err)
	}
	return f
}

// wantReads fails t unless every read since the last take went to where.
func wantReads(t *testing.T, observed *reads, where string) {
	t.Helper()
	got := observed.take()
	if len(got) == 0 {
		t.Fatalf("no routed read observed, want %s", where)
	}
	for _, g := range got {
		if g != where {
			t.Fatalf("reads went to %v, want all to %s", got, where)
		}
	}
}

// TestReplicaReadsAndOwnWrites shows, on a real streaming replica with its
// replay paused, that a process that has not heard of a user's write reads
// the replica's stale view, while the process that wrote reads its write
// from the primary, and so does the first once told of the write (as the
// live channel tells it); that a user who wrote nothing reads the replica
// meanwhile; and that all read the replica again once it has replayed the
// write. It does so for each kind of write: a prediction, an outcome.
func TestReplicaReadsAndOwnWrites(t *testing.T) {
	replica := storetest.OpenReplica(t, true)
	databaseURL := storetest.URL(t, store.Postgres)
	storetest.OpenURL(t, databaseURL) // migrated
	readURL := replica.URL(databaseURL)

	// Long enough that the paused replica is never "too far behind".
	const maxLag = time.Hour
	var writerReads, otherReads reads
	writer := openWithReplica(t, databaseURL, readURL, maxLag, &writerReads)
	other := openWithReplica(t, databaseURL, readURL, maxLag, &otherReads)
	ctx := t.Context()

	u := createUser(t, writer, "ada")
	quiet := createUser(t, writer, "bob")
	first := logPrediction(t, writer, okLog(u.ID, 1))
	replica.CatchUp()
	for _, db := range []*store.DB{writer, other} {
		measureLag(t, replica, db)
	}
	before := historyFigures{page: 1, totals: 1, histogram: 1}
	if got := readHistory(t, writer, u.ID); got != before {
		t.Fatalf("writer reads %+v once replayed, want %+v", got, before)
	}
	wantReads(t, &writerReads, "replica/")

	for _, step := range []struct {
		name  string
		write func(t *testing.T)
		after historyFigures
	}{
		{"prediction", func(t *testing.T) { logPrediction(t, writer, okLog(u.ID, 2)) },
			historyFigures{page: 2, totals: 2, histogram: 2}},
		{"outcome", func(t *testing.T) {
			if _, err := writer.RecordOutcome(ctx, u.ID, first.RequestID, true, time.Now()); err != nil {
				t.Fatalf("RecordOutcome: %v", err)
			}
		}, historyFigures{page: 2, totals: 2, histogram: 2, scored: 1}},
	} {
		replica.Pause()
		step.write(t)
		if got := readHistory(t, other, u.ID); got != before {
			t.Fatalf("after a %s, a process that has not heard of it reads %+v, want the replica's %+v", step.name, got, before)
		}
		wantReads(t, &otherReads, "replica/")
		if got := readHistory(t, writer, u.ID); got != step.after {
			t.Fatalf("after a %s, the writer reads %+v, want its write, %+v", step.name, got, step.after)
		}
		wantReads(t, &writerReads, "primary/recent_write")
		if got := readHistory(t, writer, quiet.ID); got != (historyFigures{}) {
			t.Fatalf("a user without requests reads %+v", got)
		}
		wantReads(t, &writerReads, "replica/")

		other.Written(u.ID)
		if got := readHistory(t, other, u.ID); got != step.after {
			t.Fatalf("after a %s, told of it, the other process reads %+v, want %+v", step.name, got, step.after)
		}
		wantReads(t, &otherReads, "primary/recent_write")

		replica.Resume()
		replica.CatchUp()
		for name, db := range map[string]*store.DB{"writer": writer, "other": other} {
			if got := readHistory(t, db, u.ID); got != step.after {
				t.Fatalf("after a %s, %s reads %+v once replayed, want %+v", step.name, name, got, step.after)
			}
		}
		wantReads(t, &writerReads, "replica/")
		wantReads(t, &otherReads, "replica/")
		before = step.after
	}
}

// measureLag has db find out how far behind the replica is, as its
// probes do: it samples the primary's position, the replica replays it,
// and a second probe sees that.
func measureLag(t *testing.T, replica *storetest.Replica, db *store.DB) {
	t.Helper()
	if err := db.PingReplica(t.Context()); err != nil {
		t.Fatalf("PingReplica: %v", err)
	}
	replica.CatchUp()
	if err := db.PingReplica(t.Context()); err != nil {
		t.Fatalf("PingReplica: %v", err)
	}
}

// TestReplicaFallbacks: a replica that is down, is no standby, lags too
// far, or fails the read takes none of them: every read is answered, from
// the primary.
func TestReplicaFallbacks(t *testing.T) {
	databaseURL := storetest.URL(t, store.Postgres)
	storetest.OpenURL(t, databaseURL)

	// onReplica is the replica's database of the name of databaseURL's,
	// or of the replica's own "postgres" database (which has no tables).
	onReplica := func(own bool) func(t *testing.T) (string, *storetest.Replica) {
		return func(t *testing.T) (string, *storetest.Replica) {
			replica := storetest.OpenReplica(t, false)
			readURL := replica.URL(databaseURL)
			if !own {
				u, _ := url.Parse(readURL)
				u.Path = "/postgres"
				readURL = u.String()
			}
			return readURL, replica
		}
	}
	tests := []struct {
		name     string
		readURL  func(t *testing.T) (string, *storetest.Replica)
		maxLag   time.Duration
		fallback string
		ready    bool
	}{
		{"down", func(t *testing.T) (string, *storetest.Replica) { return storetest.ClosedURL(t, databaseURL), nil },
			0, "primary/unavailable", false},
		// The primary itself is a server in no recovery. One that went
		// through crash recovery at start-up still has a replay position,
		// where that recovery ended: it must not pass for a standby.
		{"not a standby", func(*testing.T) (string, *storetest.Replica) { return databaseURL, nil },
			0, "primary/unavailable", false},
		{"lagging", onReplica(true), time.Nanosecond, "primary/lagging", true},
		{"failing the read", onReplica(false), 0, "primary/failed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var observed reads
			readURL, replica := tt.readURL(t)
			db := openWithReplica(t, databaseURL, readURL, tt.maxLag, &observed)
			u := createUser(t, db, "u"+strings.ReplaceAll(tt.name, " ", ""))
			logPrediction(t, db, okLog(u.ID, 1))
			if replica != nil {
				measureLag(t, replica, db)
			}
			want := historyFigures{page: 1, totals: 1, histogram: 1}
			if got := readHistory(t, db, u.ID); got != want {
				t.Fatalf("reads %+v, want %+v", got, want)
			}
			wantReads(t, &observed, tt.fallback)
			err := db.PingReplica(t.Context())
			if (err == nil) != tt.ready {
				t.Fatalf("PingReplica: %v, want ready %v", err, tt.ready)
			}
			if err := db.Ping(t.Context()); err != nil {
				t.Fatalf("Ping (the primary): %v", err)
			}
		})
	}
}

func TestReplicaNeedsPostgres(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), storetest.OpenSQLiteURL(t), store.Options{ReadURL: "postgres://127.0.0.1:5433/x"})
	if err == nil || !strings.Contains(err.Error(), "needs PostgreSQL") {
		t.Fatalf("Open(SQLite, ReadURL): %v, want refused", err)
	}
}
