package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// writeGate installs test hooks on a database's log writer: it reports the
// writer's steps on channels and, while held, keeps each write from
// starting, so that a test can queue callers behind a write in flight
// without sleeping.
type writeGate struct {
	queued  chan int // the queue's length after each arrival
	writing chan int // the size of each batch about to be written
	closing chan struct{}

	mu   sync.Mutex
	open chan struct{} // closed while writes may go
}

func installGate(t testing.TB, db *store.DB) *writeGate {
	t.Helper()
	g := &writeGate{
		// Buffered beyond any test's needs, so a hook never blocks on them.
		queued:  make(chan int, 4096),
		writing: make(chan int, 4096),
		closing: make(chan struct{}, 1),
		open:    make(chan struct{}),
	}
	close(g.open)
	store.SetLogWriterHooks(db, store.LogWriterHooks{
		Queued: func(n int) { g.queued <- n },
		Writing: func(n int) {
			g.writing <- n
			g.mu.Lock()
			open := g.open
			g.mu.Unlock()
			<-open
		},
		Closing: func() { g.closing <- struct{}{} },
	})
	return g
}

// hold keeps the next writes from starting until release.
func (g *writeGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *writeGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.open)
}

// receive returns the next value from c. The minute is a guard against a
// hung test, not a timing assertion: every wait here ends in microseconds
// unless the writer is broken.
func receive[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("waited a minute for %s", what)
		panic("unreachable")
	}
}

type logOutcome struct {
	logged store.LoggedPrediction
	err    error
}

// logAsync calls LogPrediction in a goroutine of its own and returns where
// its outcome will be.
func logAsync(ctx context.Context, db *store.DB, p store.PredictionLog) <-chan logOutcome {
	out := make(chan logOutcome, 1)
	go func() {
		logged, err := db.LogPrediction(ctx, p)
		out <- logOutcome{logged, err}
	}()
	return out
}

// enqueue calls LogPrediction in a goroutine of its own and returns once
// the call has joined the queue, so that the calls a test enqueues one
// after another queue in that order.
func (g *writeGate) enqueue(t testing.TB, ctx context.Context, db *store.DB, p store.PredictionLog) <-chan logOutcome {
	t.Helper()
	out := logAsync(ctx, db, p)
	receive(t, g.queued, "a call to join the queue")
	return out
}

// holdFirst holds the writes and makes a call that, alone, is taken by a
// write at once, which the gate then holds.
func (g *writeGate) holdFirst(t testing.TB, ctx context.Context, db *store.DB, p store.PredictionLog) <-chan logOutcome {
	t.Helper()
	g.hold()
	out := g.enqueue(t, ctx, db, p)
	if n := receive(t, g.writing, "the lone call's write"); n != 1 {
		t.Fatalf("the lone call's write carries %d predictions, want 1", n)
	}
	return out
}

// wantLogged fails t unless out is a success and returns what was logged.
func wantLogged(t testing.TB, out <-chan logOutcome) store.LoggedPrediction {
	t.Helper()
	o := receive(t, out, "a call's answer")
	if o.err != nil {
		t.Fatalf("LogPrediction: %v", o.err)
	}
	return o.logged
}

// wantStored fails t unless the request logged holds p's input and its
// response.
func wantStored(t testing.TB, db *store.DB, p store.PredictionLog, logged store.LoggedPrediction) {
	t.Helper()
	r, err := db.Request(t.Context(), p.UserID, logged.RequestID)
	if err != nil {
		t.Fatalf("request %d: %v", logged.RequestID, err)
	}
	if string(r.Input) != string(p.Input) || r.Response == nil || r.Response.ID != logged.ResponseID ||
		string(r.Response.Output) != string(p.Output) || !r.CreatedAt.Equal(logged.CreatedAt) {
		t.Fatalf("stored %+v with response %+v, logged %+v from %+v", r, r.Response, logged, p)
	}
}

// openGated opens a fresh, migrated database of dialect twice, db for the
// test to break or close, with a gate on its log writer and a user to log
// for, and check to look at what db left.
func openGated(t *testing.T, dialect string) (db, check *store.DB, g *writeGate, u store.User) {
	t.Helper()
	databaseURL := storetest.URL(t, dialect)
	db = openWith(t, databaseURL, store.Options{})
	g = installGate(t, db)
	return db, openWith(t, databaseURL, store.Options{}), g, createUser(t, db, "ada")
}

func TestLogPredictionWritesConcurrentCallsTogether(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		const callers, each = 200, 5
		users := []store.User{createUser(t, db, "ada"), createUser(t, db, "grace"), createUser(t, db, "linus")}
		logs := make([]store.PredictionLog, callers*each)
		for k := range logs {
			logs[k] = okLog(users[k%len(users)].ID, k)
		}
		logged := make([]store.LoggedPrediction, len(logs))
		errs := make(chan error, len(logs))
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for k := c * each; k < (c+1)*each; k++ {
					var err error
					if logged[k], err = db.LogPrediction(t.Context(), logs[k]); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		type row struct {
			userID, responseID, responseUserID int64
			input                              string
		}
		rows, err := store.Reader(db).QueryContext(t.Context(), `
			SELECT q.id, q.user_id, q.input, r.id, r.user_id
			FROM requests AS q JOIN responses AS r ON r.request_id = q.id`)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[int64]row{}
		for rows.Next() {
			var id int64
			var r row
			if err := rows.Scan(&id, &r.userID, &r.input, &r.responseID, &r.responseUserID); err != nil {
				t.Fatal(err)
			}
			stored[id] = r
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		wantCount(t, db, len(logs), "SELECT count(*) FROM requests")
		wantCount(t, db, len(logs), "SELECT count(*) FROM responses")

		responses := map[int64]bool{}
		for k, p := range logs {
			r, ok := stored[logged[k].RequestID]
			if !ok || responses[r.responseID] {
				t.Fatalf("call %d logged %+v: stored %+v (found %v), its response seen before: %v", k, logged[k], r, ok, responses[r.responseID])
			}
			responses[r.responseID] = true
			delete(stored, logged[k].RequestID) // so that a request id returned twice is not found twice
			if r.responseID != logged[k].ResponseID || r.userID != p.UserID || r.responseUserID != p.UserID || r.input != string(p.Input) {
				t.Fatalf("call %d logged %+v from %+v, stored %+v", k, logged[k], p, r)
			}
		}
		writes := store.LogWrites(db)
		if writes >= len(logs) {
			t.Fatalf("%d calls took %d writes: none were written together", len(logs), writes)
		}
		t.Logf("%d calls in %d writes", len(logs), writes)
	})
}

// A prediction its user or token may not log is refused in a batch on its
// own: its caller gets ErrUserNotFound and the others' rows commit.
func TestLogPredictionBatchRefusesOneItem(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		g := installGate(t, db)
		ada := createUser(t, db, "ada")
		expires := time.Now().Add(time.Hour)
		tests := []struct {
			name string
			// refuse changes u so that a log with the refused TokenCheck (nil:
			// none) is refused; one with accepted, if any, is still written.
			refuse            func(t *testing.T, u store.User) error
			refused, accepted *store.TokenCheck
		}{
			{"disabled user", func(t *testing.T, u store.User) error {
				_, err := db.SetUserEnabled(t.Context(), u.ID, false)
				return err
			}, nil, nil},
			{"deleted user", func(t *testing.T, u store.User) error {
				return db.DeleteUser(t.Context(), u.ID)
			}, nil, nil},
			{"revoked token", func(t *testing.T, u store.User) error {
				return db.RevokeToken(t.Context(), store.RevokedToken{TokenID: "jti-revoked", UserID: u.ID, ExpiresAt: expires}, time.Now())
			}, &store.TokenCheck{Generation: 0, TokenID: "jti-revoked"}, &store.TokenCheck{Generation: 0, TokenID: "jti-live"}},
			{"token of an older generation", func(t *testing.T, u store.User) error {
				_, err := db.RevokeUserTokens(t.Context(), u.ID)
				return err
			}, &store.TokenCheck{Generation: 0, TokenID: "jti-old"}, &store.TokenCheck{Generation: 1, TokenID: "jti-new"}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := createUser(t, db, fmt.Sprintf("user%d", i))
				if err := tt.refuse(t, u); err != nil {
					t.Fatal(err)
				}
				withCheck := func(c *store.TokenCheck) context.Context {
					if c == nil {
						return t.Context()
					}
					return store.WithTokenCheck(t.Context(), *c)
				}
				writesBefore := store.LogWrites(db)

				accepted := []store.PredictionLog{okLog(ada.ID, 0), okLog(ada.ID, 1)}
				refusedLog := okLog(u.ID, 2)
				answers := []<-chan logOutcome{
					g.holdFirst(t, t.Context(), db, accepted[0]),
					// Queued behind it, the refused call between accepted ones.
					g.enqueue(t, t.Context(), db, accepted[1]),
				}
				refused := g.enqueue(t, withCheck(tt.refused), db, refusedLog)
				if tt.accepted != nil {
					accepted = append(accepted, okLog(u.ID, 3))
					answers = append(answers, g.enqueue(t, withCheck(tt.accepted), db, accepted[2]))
				}
				accepted = append(accepted, okLog(ada.ID, 4))
				answers = append(answers, g.enqueue(t, t.Context(), db, accepted[len(accepted)-1]))
				g.release()
				if n := receive(t, g.writing, "the queued calls' write"); n != len(answers) {
					t.Fatalf("the queued calls' write carries %d predictions, want %d", n, len(answers))
				}

				if o := receive(t, refused, "the refused call's answer"); !errors.Is(o.err, store.ErrUserNotFound) {
					t.Fatalf("refused call: %+v, want ErrUserNotFound", o)
				}
				for k, answer := range answers {
					wantStored(t, db, accepted[k], wantLogged(t, answer))
				}
				ofU := 0
				if tt.accepted != nil {
					ofU = 1
				}
				wantCount(t, db, ofU, "SELECT count(*) FROM requests WHERE user_id = ?", u.ID)
				wantCount(t, db, 0, "SELECT count(*) FROM requests WHERE CAST(input AS text) = ?", string(refusedLog.Input))
				if writes := store.LogWrites(db) - writesBefore; writes != 2 {
					t.Fatalf("%d writes, want 2: the held one, then the queue's", writes)
				}
			})
		}
	})
}

// A batch the database cannot take at all fails every caller alike, with
// nothing written and no retries.
func TestLogPredictionBatchFailsWhole(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, check, g, ada := openGated(t, dialect)
		writesBefore := store.LogWrites(db)
		answers := []<-chan logOutcome{g.holdFirst(t, t.Context(), db, okLog(ada.ID, 0))}
		for n := 1; n < 4; n++ {
			answers = append(answers, g.enqueue(t, t.Context(), db, okLog(ada.ID, n)))
		}
		// The writes' connections go away under the held write.
		if err := store.Writer(db).Close(); err != nil {
			t.Fatal(err)
		}
		g.release()
		for _, answer := range answers {
			wantCode(t, receive(t, answer, "a call's answer").err, apperr.Unavailable)
		}
		if writes := store.LogWrites(db) - writesBefore; writes != 2 {
			t.Fatalf("%d writes, want 2: an unavailable database is not tried item by item", writes)
		}
		wantCount(t, check, 0, "SELECT count(*) FROM requests")
		wantCount(t, check, 0, "SELECT count(*) FROM responses")
	})
}

// A batch that fails for one item's sake is written again item by item:
// the item fails alone, with nothing of it written, and the others commit.
func TestLogPredictionBatchIsolatesAFailingItem(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		writesBefore := store.LogWrites(db)
		logs, answers, poisoned, failed := logAroundPoison(t, db)
		o := receive(t, failed, "the poisoned call's answer")
		if errors.Is(o.err, store.ErrUserNotFound) {
			t.Fatalf("poisoned call: %v, want the database's refusal", o.err)
		}
		wantCode(t, o.err, apperr.Internal)
		for k, answer := range answers {
			wantStored(t, db, logs[k], wantLogged(t, answer))
		}
		wantCount(t, db, len(logs), "SELECT count(*) FROM requests")
		wantCount(t, db, len(logs), "SELECT count(*) FROM responses")
		wantCount(t, db, 0, "SELECT count(*) FROM requests WHERE CAST(input AS text) = ?", string(poisoned.Input))
		// The held write, the failed batch of three, then each of its items.
		if writes := store.LogWrites(db) - writesBefore; writes != 5 {
			t.Fatalf("%d writes, want 5", writes)
		}
	})
}

// logAroundPoison makes db refuse a response row marked "poison", after its
// request row went in, in the same statement or transaction, then logs
// three predictions and a poisoned one, all but the first queued behind
// it, so that those four are written in one batch that fails and then
// item by item. It returns the good logs with their answers, and the
// poisoned log with its own.
func logAroundPoison(t *testing.T, db *store.DB) (logs []store.PredictionLog, answers []<-chan logOutcome, poisoned store.PredictionLog, failed <-chan logOutcome) {
	t.Helper()
	refusePoison := []string{
		`CREATE TRIGGER refuse_poison BEFORE INSERT ON responses
		WHEN NEW.output LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poisoned output'); END`,
	}
	if db.Dialect() == store.Postgres {
		refusePoison = []string{
			`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.output::text LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned output'; END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER refuse_poison BEFORE INSERT ON responses
			FOR EACH ROW EXECUTE FUNCTION refuse_poison()`,
		}
	}
	for _, statement := range refusePoison {
		if _, err := store.Writer(db).ExecContext(t.Context(), statement); err != nil {
			t.Fatal(err)
		}
	}
	g := installGate(t, db)
	ada := createUser(t, db, "ada")

	logs = []store.PredictionLog{okLog(ada.ID, 0), okLog(ada.ID, 1), okLog(ada.ID, 3)}
	poisoned = okLog(ada.ID, 2)
	poisoned.Output = json.RawMessage(`{"yhat_prob": "0.5124506", "yhat": "1", "poison": true}`)
	answers = []<-chan logOutcome{
		g.holdFirst(t, t.Context(), db, logs[0]),
		g.enqueue(t, t.Context(), db, logs[1]),
	}
	failed = g.enqueue(t, t.Context(), db, poisoned)
	answers = append(answers, g.enqueue(t, t.Context(), db, logs[2]))
	g.release()
	if n := receive(t, g.writing, "the queued calls' write"); n != 3 {
		t.Fatalf("the queued calls' write carries %d predictions, want 3", n)
	}
	return logs, answers, poisoned, failed
}

// observedWrite is one write the log writer told its observer of.
type observedWrite struct {
	predictions int
	failed      bool
}

// writeRecorder is a store.LogWriteObserver that keeps what it is told.
type writeRecorder struct {
	mu     sync.Mutex
	writes []observedWrite
	took   []time.Duration
}

func (r *writeRecorder) ObserveLogWrite(predictions int, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, observedWrite{predictions: predictions, failed: err != nil})
	r.took = append(r.took, took)
}

// The observer set at Open is told of every write, batches and the retries
// of their items alike, with its size and whether it failed.
func TestLogWritesAreObserved(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		recorder := &writeRecorder{}
		db := openWith(t, storetest.URL(t, dialect), store.Options{LogWrites: recorder})
		_, answers, _, failed := logAroundPoison(t, db)
		for _, answer := range answers {
			wantLogged(t, answer)
		}
		receive(t, failed, "the poisoned call's answer")

		recorder.mu.Lock()
		defer recorder.mu.Unlock()
		// The held write, the failed batch of three, then each of its items.
		want := []observedWrite{{1, false}, {3, true}, {1, false}, {1, true}, {1, false}}
		if !slices.Equal(recorder.writes, want) {
			t.Errorf("observed %+v, want %+v", recorder.writes, want)
		}
		for i, took := range recorder.took {
			if took <= 0 {
				t.Errorf("write %d took %v", i, took)
			}
		}
	})
}

// A caller who gives up while queued takes its prediction back; one whose
// prediction is being written gets that write's answer.
func TestLogPredictionCancelled(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		g := installGate(t, db)
		ada := createUser(t, db, "ada")
		writesBefore := store.LogWrites(db)

		logs := []store.PredictionLog{okLog(ada.ID, 0), okLog(ada.ID, 1), okLog(ada.ID, 3)}
		inWrite, leaveWrite := context.WithCancel(t.Context())
		defer leaveWrite()
		inQueue, leaveQueue := context.WithCancel(t.Context())
		defer leaveQueue()
		answers := []<-chan logOutcome{
			g.holdFirst(t, inWrite, db, logs[0]),
			g.enqueue(t, t.Context(), db, logs[1]),
		}
		gone := okLog(ada.ID, 2)
		goneAnswer := g.enqueue(t, inQueue, db, gone)
		answers = append(answers, g.enqueue(t, t.Context(), db, logs[2]))

		leaveQueue()
		if o := receive(t, goneAnswer, "the cancelled call's answer"); !errors.Is(o.err, context.Canceled) {
			t.Fatalf("cancelled call: %+v, want context.Canceled", o)
		}
		leaveWrite()
		g.release()
		if n := receive(t, g.writing, "the queued calls' write"); n != 2 {
			t.Fatalf("the queued calls' write carries %d predictions, want 2: the cancelled one left", n)
		}
		for k, answer := range answers {
			wantStored(t, db, logs[k], wantLogged(t, answer))
		}
		wantCount(t, db, len(logs), "SELECT count(*) FROM requests")
		wantCount(t, db, 0, "SELECT count(*) FROM requests WHERE CAST(input AS text) = ?", string(gone.Input))
		if writes := store.LogWrites(db) - writesBefore; writes != 2 {
			t.Fatalf("%d writes, want 2", writes)
		}

		// A caller whose context has ended writes nothing, even alone.
		ended, end := context.WithCancel(t.Context())
		end()
		if _, err := db.LogPrediction(ended, okLog(ada.ID, 4)); !errors.Is(err, context.Canceled) {
			t.Fatalf("LogPrediction with an ended context: %v, want context.Canceled", err)
		}
		wantCount(t, db, len(logs), "SELECT count(*) FROM requests")
	})
}

// Close writes and answers what is queued before it returns, and refuses
// what comes after it began.
func TestCloseWritesQueuedPredictions(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, check, g, ada := openGated(t, dialect)

		logs := []store.PredictionLog{okLog(ada.ID, 0), okLog(ada.ID, 1), okLog(ada.ID, 2)}
		answers := []<-chan logOutcome{g.holdFirst(t, t.Context(), db, logs[0])}
		for _, p := range logs[1:] {
			answers = append(answers, g.enqueue(t, t.Context(), db, p))
		}
		closed := make(chan error, 1)
		go func() { closed <- db.Close() }()
		receive(t, g.closing, "Close to stop taking predictions")
		_, err := db.LogPrediction(t.Context(), okLog(ada.ID, 3))
		wantCode(t, err, apperr.Unavailable)

		g.release()
		if err := receive(t, closed, "Close to return"); err != nil {
			t.Fatal(err)
		}
		if store.LogWriterRunning(db) {
			t.Fatal("the log's writer outlived Close")
		}
		// Written before Close returned: the rows are there already.
		wantCount(t, check, len(logs), "SELECT count(*) FROM requests")
		wantCount(t, check, len(logs), "SELECT count(*) FROM responses")
		for k, answer := range answers {
			wantStored(t, check, logs[k], wantLogged(t, answer))
		}
		_, err = db.LogPrediction(t.Context(), okLog(ada.ID, 4))
		wantCode(t, err, apperr.Unavailable)
	})
}

// JSON with invalid UTF-8 in a string passes json.Valid; it is refused
// before it joins a batch, on both databases alike.
func TestLogPredictionRejectsInvalidUTF8(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		for name, change := range map[string]func(*store.PredictionLog){
			"input":  func(p *store.PredictionLog) { p.Input = json.RawMessage("{\"age\": \"\xff\"}") },
			"output": func(p *store.PredictionLog) { p.Output = json.RawMessage("{\"yhat\": \"\xff\"}") },
		} {
			t.Run(name, func(t *testing.T) {
				p := okLog(u.ID, 1)
				change(&p)
				writes := store.LogWrites(db)
				_, err := db.LogPrediction(t.Context(), p)
				wantCode(t, err, apperr.Internal)
				if store.LogWrites(db) != writes {
					t.Fatal("an invalid log reached the writer")
				}
			})
		}
		wantCount(t, db, 0, "SELECT count(*) FROM requests")
	})
}
