package store_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// attemptsT0 is the tests' clock at the first attempt.
var attemptsT0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func TestCountAttempt(t *testing.T) {
	t.Parallel()
	const window = time.Minute
	type attempt struct {
		limiter, key string
		after        time.Duration // since attemptsT0
		want         int
		wantEnd      time.Duration // since attemptsT0
	}
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{
			name: "counts up to max+1 and stays there",
			attempts: []attempt{
				{"login", "ada", 0, 1, window},
				{"login", "ada", time.Second, 2, window},
				{"login", "ada", 2 * time.Second, 3, window},
				{"login", "ada", 3 * time.Second, 4, window},
				{"login", "ada", window - time.Microsecond, 4, window},
			},
		},
		{
			name: "a window that has ended starts again from the next attempt",
			attempts: []attempt{
				{"login", "ada", 0, 1, window},
				{"login", "ada", time.Second, 2, window},
				{"login", "ada", window, 1, 2 * window},
				{"login", "ada", window + 30*time.Second, 2, 2 * window},
			},
		},
		{
			name: "keys and limiters count apart",
			attempts: []attempt{
				{"login", "ada", 0, 1, window},
				{"login", "ada", time.Second, 2, window},
				{"login", "bob", 2 * time.Second, 1, window + 2*time.Second},
				{"register", "ada", 3 * time.Second, 1, window + 3*time.Second},
				{"login", "ada", 4 * time.Second, 3, window},
			},
		},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Each case counts under limiter names of its own.
				for i, a := range tt.attempts {
					got, end, err := db.CountAttempt(t.Context(), tt.name+"/"+a.limiter, a.key, 3, attemptsT0.Add(a.after), window)
					if err != nil {
						t.Fatal(err)
					}
					if got != a.want || !end.Equal(attemptsT0.Add(a.wantEnd)) {
						t.Fatalf("attempt %d (%s %s at +%s): %d, window ends %s; want %d, %s",
							i, a.limiter, a.key, a.after, got, end.UTC(), a.want, attemptsT0.Add(a.wantEnd))
					}
				}
			})
		}
	})
}

// Processes counting one key at once each get a count of their own: no
// count is given twice, and none is lost.
func TestCountAttemptAcrossProcesses(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL := storetest.URL(t, dialect)
		const processes, attemptsEach, maxAttempts = 3, 20, 40
		dbs := openProcesses(t, databaseURL, processes)
		if err := dbs[0].Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var counts []int
		var wg sync.WaitGroup
		for _, db := range dbs {
			for range attemptsEach {
				wg.Go(func() {
					n, _, err := db.CountAttempt(t.Context(), "login", "ada", maxAttempts, attemptsT0, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					counts = append(counts, n)
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		slices.Sort(counts)
		var want []int
		for n := 1; n <= processes*attemptsEach; n++ {
			want = append(want, min(n, maxAttempts+1))
		}
		if !slices.Equal(counts, want) {
			t.Errorf("counts %v; want each of 1..%d once, then %d", counts, maxAttempts, maxAttempts+1)
		}
	})
}

func TestCountAttemptPrunesEndedWindows(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		count := func(at time.Duration, key string, window time.Duration) {
			t.Helper()
			if _, _, err := db.CountAttempt(t.Context(), "login", key, 5, attemptsT0.Add(at), window); err != nil {
				t.Fatal(err)
			}
		}
		count(0, "short", time.Minute)
		count(0, "long", time.Hour)
		// Within a minute of the last pruning, nothing is pruned, ended or not.
		count(59*time.Second, "other", time.Hour)
		wantCount(t, db, 3, "SELECT count(*) FROM attempt_counters")
		// A minute on, the window that has ended goes; the running ones stay.
		count(time.Minute, "other", time.Hour)
		wantCount(t, db, 2, "SELECT count(*) FROM attempt_counters")
		wantCount(t, db, 0, "SELECT count(*) FROM attempt_counters WHERE key = 'short'")
	})
}
