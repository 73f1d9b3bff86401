package live

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// received drains what s holds now, without waiting, and whether C is
// closed.
func received(s *Subscription) (events []Event, closed bool) {
	for {
		select {
		case e, ok := <-s.C:
			if !ok {
				return events, true
			}
			events = append(events, e)
		default:
			return events, false
		}
	}
}

func mustSubscribe(t *testing.T, b *Broker, userID int64) *Subscription {
	t.Helper()
	s, err := b.Subscribe(t.Context(), userID)
	if err != nil {
		t.Fatalf("Subscribe(%d): %v", userID, err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestDeliversToTheUsersSubscriptionsOnly: an event reaches every
// subscription of its user, in order, and no other user's.
func TestDeliversToTheUsersSubscriptionsOnly(t *testing.T) {
	t.Parallel()
	b := NewBroker(Options{})
	defer b.Close()
	a1, a2, other := mustSubscribe(t, b, 1), mustSubscribe(t, b, 1), mustSubscribe(t, b, 2)
	ctx := t.Context()
	for _, e := range []Event{{Kind: RequestLogged, UserID: 1, RequestID: 10}, {Kind: UserChanged, UserID: 1}, {Kind: RequestLogged, UserID: 3, RequestID: 11}} {
		if err := b.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	want := []Event{{Kind: RequestLogged, UserID: 1, RequestID: 10}, {Kind: UserChanged, UserID: 1}}
	for _, s := range []*Subscription{a1, a2} {
		got, closed := received(s)
		if closed || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("user 1 got %v (closed %v); want %v", got, closed, want)
		}
	}
	if got, _ := received(other); len(got) != 0 {
		t.Errorf("user 2 got %v; want nothing", got)
	}
}

// TestLimits: past MaxPerUser subscriptions of one user, or MaxTotal in
// all, Subscribe refuses with TOO_MANY_REQUESTS; closing one frees its
// place, once however often it is closed.
func TestLimits(t *testing.T) {
	t.Parallel()
	b := NewBroker(Options{MaxPerUser: 2, MaxTotal: 3})
	defer b.Close()
	first := mustSubscribe(t, b, 1)
	mustSubscribe(t, b, 1)
	if _, err := b.Subscribe(t.Context(), 1); apperr.CodeOf(err) != apperr.TooManyRequests {
		t.Fatalf("third of user 1: %v; want TOO_MANY_REQUESTS", err)
	}
	mustSubscribe(t, b, 2)
	if _, err := b.Subscribe(t.Context(), 3); apperr.CodeOf(err) != apperr.TooManyRequests {
		t.Fatalf("fourth in all: %v; want TOO_MANY_REQUESTS", err)
	}
	first.Close()
	first.Close()
	if user, total := b.Open(1); user != 1 || total != 2 {
		t.Fatalf("open after a close: user %d, total %d; want 1, 2", user, total)
	}
	mustSubscribe(t, b, 3)
	if _, closed := received(first); !closed {
		t.Error("a closed subscription's channel is open")
	}
}

// TestSlowSubscriberIsEnded: a subscription whose buffer is full is ended
// rather than holding up the others, after what it had buffered.
func TestSlowSubscriberIsEnded(t *testing.T) {
	t.Parallel()
	b := NewBroker(Options{Buffer: 1})
	defer b.Close()
	slow, other := mustSubscribe(t, b, 1), mustSubscribe(t, b, 1)
	ctx := t.Context()
	_ = b.Publish(ctx, Event{Kind: RequestLogged, UserID: 1, RequestID: 1})
	if got, _ := received(other); len(got) != 1 {
		t.Fatalf("other got %v", got)
	}
	_ = b.Publish(ctx, Event{Kind: RequestLogged, UserID: 1, RequestID: 2})
	got, closed := received(slow)
	if !closed || len(got) != 1 || got[0].RequestID != 1 {
		t.Errorf("slow got %v, closed %v; want the first event, then closed", got, closed)
	}
	if got, closed := received(other); closed || len(got) != 1 || got[0].RequestID != 2 {
		t.Errorf("other got %v, closed %v; want the second event", got, closed)
	}
	if user, _ := b.Open(1); user != 1 {
		t.Errorf("%d open; want 1", user)
	}
}

// TestCloseEndsEverySubscription: Close closes every channel and refuses
// new subscriptions with SERVICE_UNAVAILABLE.
func TestCloseEndsEverySubscription(t *testing.T) {
	t.Parallel()
	b := NewBroker(Options{})
	s1, s2 := mustSubscribe(t, b, 1), mustSubscribe(t, b, 2)
	b.Close()
	b.Close()
	for _, s := range []*Subscription{s1, s2} {
		if _, closed := received(s); !closed {
			t.Error("open after Close")
		}
	}
	if _, err := b.Subscribe(t.Context(), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

// openDB opens and migrates the database at databaseURL.
func openDB(t *testing.T, databaseURL string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), databaseURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func mustOpen(t *testing.T, dialect, databaseURL string) *Broker {
	t.Helper()
	b, err := Open(t.Context(), dialect, databaseURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// next waits for s's next event; the test's deadline bounds the wait.
func next(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case e, ok := <-s.C:
		if !ok {
			t.Fatal("subscription ended")
		}
		return e
	case <-t.Context().Done():
		t.Fatal("no event")
	}
	return Event{}
}

// TestPredictionLogPublishesAfterCommit, on every database: a logged
// prediction reaches its user's subscription with the committed request's
// id, and on PostgreSQL one made through another process's Broker (another
// Broker on the same database) does too. A prediction the store refuses
// (its user is gone) publishes nothing.
func TestPredictionLogPublishesAfterCommit(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL := storetest.URL(t, dialect)
		db := openDB(t, databaseURL)
		ctx := t.Context()
		user, err := db.CreateUser(ctx, store.NewUser{Username: "alice", Email: "alice@example.com", PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		subscriber := mustOpen(t, dialect, databaseURL)
		publishers := []*Broker{subscriber}
		if dialect == store.Postgres {
			publishers = append(publishers, mustOpen(t, dialect, databaseURL))
		}
		mine, others := mustSubscribe(t, subscriber, user.ID), mustSubscribe(t, subscriber, user.ID+1)
		prob, yhat := 0.25, 0
		entry := store.PredictionLog{
			UserID: user.ID, Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`),
			YhatProb: &prob, Yhat: &yhat, ModelVersion: "v", Status: store.StatusOK,
		}
		for i, p := range publishers {
			logged, err := p.PredictionLog(db).LogPrediction(ctx, entry)
			if err != nil {
				t.Fatal(err)
			}
			got := next(t, mine)
			if want := (Event{Kind: RequestLogged, UserID: user.ID, RequestID: logged.RequestID}); got != want {
				t.Errorf("publisher %d: got %+v; want %+v", i, got, want)
			}
			if _, err := db.Request(ctx, user.ID, got.RequestID); err != nil {
				t.Errorf("the event's request is not there to read: %v", err)
			}
		}
		gone := entry
		gone.UserID = user.ID + 1000
		if _, err := subscriber.PredictionLog(db).LogPrediction(ctx, gone); !errors.Is(err, store.ErrUserNotFound) {
			t.Fatalf("LogPrediction for a missing user: %v", err)
		}
		// An event published after the refusal arrives first: nothing
		// was published in between.
		if err := publishers[len(publishers)-1].Publish(ctx, Event{Kind: UserChanged, UserID: user.ID}); err != nil {
			t.Fatal(err)
		}
		if got := next(t, mine); got.Kind != UserChanged {
			t.Errorf("after a refused log: %+v; want the UserChanged event", got)
		}
		if got, _ := received(others); len(got) != 0 {
			t.Errorf("another user's subscription got %v", got)
		}
	})
}

// TestUsersPublishesAccountChanges: disabling a user through the decorator
// announces it to the user's subscriptions; a change that fails does not.
func TestUsersPublishesAccountChanges(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL := storetest.URL(t, dialect)
		db := openDB(t, databaseURL)
		ctx := t.Context()
		user, err := db.CreateUser(ctx, store.NewUser{Username: "bob", Email: "bob@example.com", PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		b := mustOpen(t, dialect, databaseURL)
		s := mustSubscribe(t, b, user.ID)
		users := b.Users(db)
		if _, err := users.SetUserEnabled(ctx, user.ID+1000, false); err == nil {
			t.Fatal("disabled a missing user")
		}
		if _, err := users.SetUserEnabled(ctx, user.ID, false); err != nil {
			t.Fatal(err)
		}
		if got := next(t, s); got != (Event{Kind: UserChanged, UserID: user.ID}) {
			t.Errorf("got %+v", got)
		}
		if err := users.DeleteUser(ctx, user.ID); err != nil {
			t.Fatal(err)
		}
		if got := next(t, s); got != (Event{Kind: UserChanged, UserID: user.ID}) {
			t.Errorf("got %+v", got)
		}
	})
}

// TestConcurrentPublishesAllArrive: events published at once from many
// goroutines (which PostgreSQL's bus sends together, a statement carrying
// all those queued behind the one running) each reach the subscription
// once, and every Publish returns only after its own event is sent.
func TestConcurrentPublishesAllArrive(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		subscriber, publisher := subscriberAndPublisher(t, dialect, storetest.URL(t, dialect))
		// Fewer events than a subscription's buffer holds, so the reader
		// below cannot fall behind far enough to be ended.
		const userID, publishers, each = 7, 16, DefaultBuffer / 16
		s := mustSubscribe(t, subscriber, userID)
		errs := make(chan error, publishers)
		for p := range publishers {
			go func() {
				var err error
				for i := range each {
					if e := publisher.Publish(t.Context(), Event{Kind: RequestLogged, UserID: userID, RequestID: int64(p*each + i + 1)}); e != nil {
						err = e
					}
				}
				errs <- err
			}()
		}
		for range publishers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		seen := map[int64]bool{}
		for range publishers * each {
			e := next(t, s)
			if seen[e.RequestID] {
				t.Fatalf("request %d arrived twice", e.RequestID)
			}
			seen[e.RequestID] = true
		}
		if len(seen) != publishers*each {
			t.Errorf("%d events arrived, want %d", len(seen), publishers*each)
		}
	})
}

// TestLoggedPredictionsAreAnnounced logs predictions through the prediction
// log a Broker returns, in one process, and watches another process's
// subscription: every logged request arrives, once and in order, refused
// inputs included. On PostgreSQL the database announces each one itself,
// in the transaction that logs it (migration 20261126000010).
func TestLoggedPredictionsAreAnnounced(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL := storetest.URL(t, dialect)
		db := openDB(t, databaseURL)
		user, err := db.CreateUser(t.Context(), store.NewUser{Username: "ada", Email: "ada@example.com", PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		subscriber, writer := subscriberAndPublisher(t, dialect, databaseURL)
		s := mustSubscribe(t, subscriber, user.ID)
		log := writer.PredictionLog(db)
		prob, yhat, code := 0.5, 1, "BAD_USER_INPUT"
		var want []int64
		for i := range DefaultBuffer / 2 {
			entry := store.PredictionLog{UserID: user.ID, Input: []byte(`{"age": 60}`), ModelVersion: "v1"}
			if i%5 == 4 {
				entry.Output, entry.Status, entry.ErrorCode = []byte(`{"error": {}}`), store.StatusInvalidInput, &code
			} else {
				entry.Output, entry.Status, entry.YhatProb, entry.Yhat = []byte(`{}`), store.StatusOK, &prob, &yhat
			}
			logged, err := log.LogPrediction(t.Context(), entry)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, logged.RequestID)
		}
		for i, id := range want {
			if e := next(t, s); e != (Event{Kind: RequestLogged, UserID: user.ID, RequestID: id}) {
				t.Fatalf("event %d: got %+v, want request %d", i, e, id)
			}
		}
	})
}

// subscriberAndPublisher opens the Brokers of two processes on the database
// at databaseURL, or on SQLite, where only one process writes, one Broker
// twice.
func subscriberAndPublisher(t *testing.T, dialect, databaseURL string) (subscriber, publisher *Broker) {
	t.Helper()
	subscriber = mustOpen(t, dialect, databaseURL)
	if dialect != store.Postgres {
		return subscriber, subscriber
	}
	return subscriber, mustOpen(t, dialect, databaseURL)
}

// listeners counts the connections listening on the database conn is
// connected to, as PostgreSQL shows them.
func listeners(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	err := conn.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN `+channel+`'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitListeners waits until want connections listen; the test's deadline
// bounds the wait.
func waitListeners(t *testing.T, conn *pgx.Conn, want int) {
	t.Helper()
	for listeners(t, conn) != want {
		select {
		case <-t.Context().Done():
			t.Fatalf("%d connections listen, want %d", listeners(t, conn), want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestListensOnlyWhileSubscribed, on PostgreSQL: a process with no
// subscription does not listen, so it reads none of the announcements of
// every logged request; its first subscription returns once it listens and
// gets the next event; ListenIdle after its last subscription ends, it
// stops listening, and a new subscription starts it again. With the Logged
// hook, it listens from the start.
func TestListensOnlyWhileSubscribed(t *testing.T) {
	t.Parallel()
	databaseURL := storetest.OpenPostgresURL(t)
	openDB(t, databaseURL)
	db, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	b, err := Open(t.Context(), store.Postgres, databaseURL, Options{ListenIdle: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if n := listeners(t, db); n != 0 {
		t.Fatalf("%d connections listen before any subscription", n)
	}
	for round := range 2 {
		s := mustSubscribe(t, b, 1)
		if n := listeners(t, db); n != 1 {
			t.Fatalf("round %d: %d connections listen once Subscribe returned, want 1", round, n)
		}
		want := Event{Kind: RequestLogged, UserID: 1, RequestID: int64(round + 1)}
		if err := b.Publish(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		if got := next(t, s); got != want {
			t.Fatalf("round %d: got %+v, want %+v", round, got, want)
		}
		s.Close()
		waitListeners(t, db, 0)
	}

	logged := make(chan int64, 1)
	hooked, err := Open(t.Context(), store.Postgres, databaseURL, Options{Logged: func(userID int64) {
		select {
		case logged <- userID:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hooked.Close)
	if n := listeners(t, db); n != 1 {
		t.Fatalf("with the Logged hook, %d connections listen once Open returned, want 1", n)
	}
	if err := b.Publish(t.Context(), Event{Kind: RequestLogged, UserID: 9, RequestID: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-logged:
		if got != 9 {
			t.Errorf("the Logged hook heard user %d, want 9", got)
		}
	case <-t.Context().Done():
		t.Fatal("the Logged hook heard nothing")
	}
}

// TestSubscribeRefusedWhenItCannotListen: on a PostgreSQL server that
// cannot be reached, a subscription is refused as UNAVAILABLE, since no
// event could reach it, and gives its place back.
func TestSubscribeRefusedWhenItCannotListen(t *testing.T) {
	t.Parallel()
	// Port 1 on loopback: nothing listens there, so connecting fails at once.
	b, err := Open(t.Context(), store.Postgres, "postgres://postgres@127.0.0.1:1/mlapi?sslmode=disable&connect_timeout=2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if _, err := b.Subscribe(t.Context(), 1); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("Subscribe: %v, want UNAVAILABLE", err)
	}
	if user, total := b.Open(1); user != 0 || total != 0 {
		t.Errorf("after the refusal %d of the user's and %d in all are open, want none", user, total)
	}
}
