// Package live fans out what the API commits to the subscriptions waiting
// for it: each newly logged request to its owner's subscriptions, and each
// change to a user's account (disabled, deleted, tokens revoked) to that
// user's subscriptions, which then check their token again.
//
// A Broker holds the subscriptions of one process. Events reach it through
// a bus: in process on SQLite, where one process owns the database; through
// PostgreSQL's LISTEN/NOTIFY on PostgreSQL, so that a prediction made
// through one mlapi process reaches a subscriber on another. The database
// announces every logged request, so a process listens only while it has a
// subscription (and for ListenIdle after its last one ends): one that
// serves none does not read every other process's announcements. An event names
// rows, never carries them: the subscriber's process reads the row back,
// scoped to the subscriber, so no payload limit applies and nothing of one
// user travels towards another's subscription.
package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
)

// Kind says what an Event is about.
type Kind string

const (
	// RequestLogged: the request RequestID of UserID and its response are
	// committed.
	RequestLogged Kind = "request"
	// UserChanged: UserID's account changed (disabled, deleted, tokens
	// revoked, password changed); its subscriptions must check their token
	// again.
	UserChanged Kind = "user"
)

// Event is one committed change, named by ids.
type Event struct {
	Kind      Kind  `json:"k"`
	UserID    int64 `json:"u"`
	RequestID int64 `json:"r,omitempty"`
}

// Defaults of Options.
const (
	DefaultMaxPerUser = 5
	DefaultMaxTotal   = 1000
	// DefaultBuffer events wait for a subscriber that is slow to take
	// them; one more ends its subscription rather than hold up the others.
	DefaultBuffer = 64
	// DefaultPublishTimeout bounds the NOTIFY that follows a commit.
	DefaultPublishTimeout = 2 * time.Second
	// DefaultListenIdle is how long a process keeps listening after its
	// last subscription ends, so that a client that subscribes again (a
	// page reloaded) does not wait for a new connection.
	DefaultListenIdle = 30 * time.Second
	// DefaultListenTimeout bounds a first subscription's wait for the
	// process to listen.
	DefaultListenTimeout = 5 * time.Second
)

// Options size a Broker. Zero values are the defaults.
type Options struct {
	MaxPerUser     int
	MaxTotal       int
	Buffer         int
	PublishTimeout time.Duration
	// ListenIdle and ListenTimeout: see DefaultListenIdle and
	// DefaultListenTimeout.
	ListenIdle    time.Duration
	ListenTimeout time.Duration
	Logger        *slog.Logger
	// Logged, when set, hears the user of every request logged, by any
	// process, as its announcement arrives, whether or not anyone
	// subscribes: the store's replica routing learns of other processes'
	// writes from it. It must be quick.
	Logged func(userID int64)
}

func (o Options) withDefaults() Options {
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = DefaultMaxPerUser
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.ListenIdle <= 0 {
		o.ListenIdle = DefaultListenIdle
	}
	if o.ListenTimeout <= 0 {
		o.ListenTimeout = DefaultListenTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// bus carries events from the process that commits them to every process's
// Broker, this one included.
type bus interface {
	publish(ctx context.Context, e Event) error
	// announcesLogged reports whether the database itself announces every
	// logged request (RequestLogged) on the bus.
	announcesLogged() bool
	// need returns once events published from now on reach this process,
	// or why they cannot; idle says no subscription is left, so that the
	// bus may stop receiving them. idle must not block: the Broker calls
	// it under its lock.
	need(ctx context.Context) error
	idle()
	close()
}

// Broker holds one process's subscriptions and hands each event to those
// of its user. It is safe for concurrent use.
type Broker struct {
	opts Options
	bus  bus

	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{}
	// total counts the open subscriptions; changed under mu, read without
	// it by wanted.
	total  atomic.Int64
	closed bool
}

// NewBroker returns a Broker whose events stay in this process: the bus of
// a database only this process writes (SQLite).
func NewBroker(opts Options) *Broker {
	b := newBroker(opts)
	b.bus = localBus{b}
	return b
}

func newBroker(opts Options) *Broker {
	return &Broker{opts: opts.withDefaults(), subs: map[int64]map[*Subscription]struct{}{}}
}

// ErrClosed is Subscribe's answer once the Broker is closed.
var ErrClosed = apperr.New(apperr.Unavailable, "the server is shutting down: subscribe again in a moment")

// errNotListening answers a subscription the process cannot feed: it could
// not listen for events in time.
var errNotListening = apperr.New(apperr.Unavailable, "live updates are unavailable right now: subscribe again in a moment")

// Subscribe returns a subscription to userID's events, once every event
// published from then on reaches it: on PostgreSQL, the first subscription
// in a while waits for the process to listen, ListenTimeout at most, and
// is refused (UNAVAILABLE) if it cannot. At most MaxPerUser subscriptions
// of one user and MaxTotal in all are open at once; past either, the
// answer is TOO_MANY_REQUESTS. The caller must Close it.
func (b *Broker) Subscribe(ctx context.Context, userID int64) (*Subscription, error) {
	s, err := b.add(userID)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, b.opts.ListenTimeout)
	defer cancel()
	if err := b.bus.need(waitCtx); err != nil {
		s.Close()
		if ctx.Err() != nil {
			// The caller left: nothing to tell it.
			return nil, ctx.Err()
		}
		b.opts.Logger.Warn("live: a subscription was refused: not listening for events", "err", err)
		return nil, errNotListening
	}
	return s, nil
}

// add takes a place for a subscription of userID.
func (b *Broker) add(userID int64) (*Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, ErrClosed
	case len(b.subs[userID]) >= b.opts.MaxPerUser:
		return nil, apperr.New(apperr.TooManyRequests, "too many subscriptions open for this user: close one first")
	case b.total.Load() >= int64(b.opts.MaxTotal):
		return nil, apperr.New(apperr.TooManyRequests, "the server holds as many subscriptions as it can: try again later")
	}
	ch := make(chan Event, b.opts.Buffer)
	s := &Subscription{C: ch, ch: ch, userID: userID, b: b}
	if b.subs[userID] == nil {
		b.subs[userID] = map[*Subscription]struct{}{}
	}
	b.subs[userID][s] = struct{}{}
	b.total.Add(1)
	return s, nil
}

// Publish sends e to every process's subscriptions of its user. Call it
// only once what e names is committed. It returns after the bus took e.
func (b *Broker) Publish(ctx context.Context, e Event) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.PublishTimeout)
	defer cancel()
	return b.bus.publish(ctx, e)
}

// publishLogged publishes e, logging a failure instead of returning it:
// what e names is committed and answered, whether or not a subscriber
// hears of it.
func (b *Broker) publishLogged(ctx context.Context, e Event) {
	if err := b.Publish(ctx, e); err != nil {
		b.opts.Logger.WarnContext(ctx, "live event not published", "kind", e.Kind, "err", err)
	}
}

// wanted reports whether an event from another process may matter here:
// some subscription is open, or the Logged hook listens. On PostgreSQL the
// bus listens only while it holds (and ListenIdle after), and an
// announcement received while it does not is dropped unread. A
// subscription opened while an announcement is being dropped misses that
// event, as it would have had it opened a moment later.
func (b *Broker) wanted() bool {
	return b.opts.Logged != nil || b.total.Load() > 0
}

// deliver hands e to this process's subscriptions of its user. A
// subscription whose buffer is full is ended: its client reads the history
// to catch up, and the others are not held up.
func (b *Broker) deliver(e Event) {
	if e.Kind == RequestLogged && b.opts.Logged != nil {
		b.opts.Logged(e.UserID)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[e.UserID] {
		select {
		case s.ch <- e:
		default:
			b.opts.Logger.Warn("live subscription too slow: ended", "user_id", e.UserID)
			b.removeLocked(s)
		}
	}
}

// Open reports how many subscriptions are open: of userID, and in all.
func (b *Broker) Open(userID int64) (user, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[userID]), int(b.total.Load())
}

// Close ends every subscription and refuses new ones; a server calls it
// when it starts shutting down, so that streams end and draining does not
// wait for them. It is safe to call more than once.
func (b *Broker) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	for _, subs := range b.subs {
		for s := range subs {
			b.removeLocked(s)
		}
	}
	b.mu.Unlock()
	b.bus.close()
}

func (b *Broker) removeLocked(s *Subscription) {
	subs := b.subs[s.userID]
	if _, ok := subs[s]; !ok {
		return
	}
	delete(subs, s)
	if len(subs) == 0 {
		delete(b.subs, s.userID)
	}
	if b.total.Add(-1) == 0 {
		b.bus.idle()
	}
	close(s.ch)
}

// Subscription receives one user's events on C, which is closed when the
// subscription ends: by Close, by the Broker's Close, or because its
// reader fell too far behind.
type Subscription struct {
	C      <-chan Event
	ch     chan Event
	userID int64
	b      *Broker
}

// Close ends the subscription and frees its place. It is safe to call more
// than once.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.removeLocked(s)
}

// localBus delivers in this process.
type localBus struct{ b *Broker }

func (l localBus) publish(_ context.Context, e Event) error {
	l.b.deliver(e)
	return nil
}

func (localBus) announcesLogged() bool { return false }

func (localBus) need(context.Context) error { return nil }

func (localBus) idle() {}

func (localBus) close() {}

var errUnknownDialect = errors.New("live: no bus for this database")
