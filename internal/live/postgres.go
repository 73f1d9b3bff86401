package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mlapi/mlapi/internal/store"
)

// channel is the PostgreSQL notification channel of mlapi's events. A
// channel is scoped to its database, so two APIs on two databases of one
// server never hear each other.
const channel = "mlapi_live"

// Open returns the Broker for a database of dialect at databaseURL: events
// in process on SQLite, through LISTEN/NOTIFY on PostgreSQL. On PostgreSQL
// the process listens while it has a subscription (Subscribe returns once
// it does) and ListenIdle after, or always when Options.Logged is set, in
// which case Open returns once it listens. While it listens it connects
// again after a loss. Events published while it is connecting again are
// not delivered here: a subscriber's history, not the subscription, is the
// record.
func Open(ctx context.Context, dialect, databaseURL string, opts Options) (*Broker, error) {
	switch dialect {
	case store.SQLite:
		return NewBroker(opts), nil
	case store.Postgres:
		return openPostgres(ctx, databaseURL, opts)
	}
	return nil, fmt.Errorf("%w: %q", errUnknownDialect, dialect)
}

// pgBus publishes with NOTIFY on a small pool, and listens on a connection
// of its own while wanted holds, and idleFor after.
type pgBus struct {
	pool   *pgxpool.Pool
	cancel context.CancelFunc
	done   chan struct{}

	// wanted reports whether this process needs events now: the
	// Broker's.
	wanted  func() bool
	idleFor time.Duration
	// demand wakes the listener when it may be wanted again.
	demand chan struct{}

	lmu sync.Mutex
	// listening says LISTEN holds on the listener's connection, whose
	// receiving stopConn ends.
	listening bool
	stopConn  context.CancelFunc
	// waiting are the need calls waiting for the listener's next attempt.
	waiting   []chan error
	idleTimer *time.Timer

	// Events published while a NOTIFY statement runs wait and go together
	// in the next: a NOTIFY outside a transaction is a commit of its own,
	// and one a prediction would undo the prediction log's group commit.
	mu      sync.Mutex
	queue   []notification
	running bool
}

// notification is one event waiting for its NOTIFY.
type notification struct {
	payload string
	done    chan error
}

// maxNotifyBatch bounds the events one NOTIFY statement carries.
const maxNotifyBatch = 256

// notifyConns bounds the connections NOTIFY uses: one statement each, a
// round trip long.
const notifyConns = 2

func openPostgres(ctx context.Context, databaseURL string, opts Options) (*Broker, error) {
	poolConfig, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("live: parse PostgreSQL URL: %w", err)
	}
	poolConfig.MaxConns = notifyConns
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	b := newBroker(opts)
	listenCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	bus := &pgBus{pool: pool, cancel: cancel, done: make(chan struct{}),
		wanted: b.wanted, idleFor: b.opts.ListenIdle, demand: make(chan struct{}, 1)}
	b.bus = bus
	go func() {
		defer close(bus.done)
		bus.listen(listenCtx, b, poolConfig.ConnConfig)
	}()
	if b.wanted() {
		if err := bus.need(ctx); err != nil {
			bus.close()
			return nil, fmt.Errorf("live: listen for events: %w", err)
		}
	}
	return b, nil
}

// publish queues e and returns once the statement that carries it has
// run: at once when no statement is running, else with the events that
// queued behind it. ctx bounds the wait, not the statement, which carries
// other callers' events too.
func (p *pgBus) publish(ctx context.Context, e Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	n := notification{payload: string(payload), done: make(chan error, 1)}
	p.mu.Lock()
	p.queue = append(p.queue, n)
	if !p.running {
		p.running = true
		timeout := DefaultPublishTimeout
		if deadline, ok := ctx.Deadline(); ok {
			timeout = time.Until(deadline)
		}
		go p.notifyAll(timeout)
	}
	p.mu.Unlock()
	select {
	case err := <-n.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notifyAll sends the queued events, a statement at a time, until the
// queue is empty.
func (p *pgBus) notifyAll(timeout time.Duration) {
	for {
		p.mu.Lock()
		batch := p.queue[:min(len(p.queue), maxNotifyBatch)]
		p.queue = p.queue[len(batch):]
		if len(batch) == 0 {
			p.running = false
			p.queue = nil
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		payloads := make([]string, len(batch))
		for i, n := range batch {
			payloads[i] = n.payload
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, err := p.pool.Exec(ctx, "SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS e (payload, n) ORDER BY n", channel, payloads)
		cancel()
		for _, n := range batch {
			n.done <- err
		}
	}
}

// announcesLogged: a trigger on requests NOTIFYs channel (migration
// 20261126000010).
func (p *pgBus) announcesLogged() bool { return true }

func (p *pgBus) close() {
	p.cancel()
	<-p.done
	p.lmu.Lock()
	if p.idleTimer != nil {
		p.idleTimer.Stop()
	}
	p.lmu.Unlock()
	p.pool.Close()
}

// need returns once the listener listens, or with the error of its next
// attempt to.
func (p *pgBus) need(ctx context.Context) error {
	p.lmu.Lock()
	if p.idleTimer != nil {
		p.idleTimer.Stop()
		p.idleTimer = nil
	}
	if p.listening {
		p.lmu.Unlock()
		return nil
	}
	// Buffered: the listener never waits for a caller that gave up.
	attempt := make(chan error, 1)
	p.waiting = append(p.waiting, attempt)
	p.lmu.Unlock()
	select {
	case p.demand <- struct{}{}:
	default:
	}
	select {
	case err := <-attempt:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// idle stops listening idleFor from now, unless wanted again by then.
func (p *pgBus) idle() {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	if p.idleTimer != nil {
		p.idleTimer.Stop()
	}
	p.idleTimer = time.AfterFunc(p.idleFor, p.stopIfUnwanted)
}

// stopIfUnwanted ends the listener's connection if nothing wants events.
// It decides under lmu, which need takes before it looks at listening, so
// that a subscription never counts on a connection about to close.
func (p *pgBus) stopIfUnwanted() {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	if p.wanted() || p.stopConn == nil {
		return
	}
	p.listening = false
	p.stopConn()
}

// attempted hands the outcome of an attempt to listen to the need calls
// waiting for it.
func (p *pgBus) attempted(err error) {
	p.lmu.Lock()
	waiting := p.waiting
	p.waiting = nil
	p.lmu.Unlock()
	for _, w := range waiting {
		w <- err
	}
}

// Waits between attempts to listen again after a loss.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// listen delivers the channel's notifications to b until ctx ends, on a
// connection of its own while events are wanted: it connects and listens
// when they are, stops when stopIfUnwanted says, and connects again after
// a loss, waiting longer each time up to maxRetry. Each attempt's outcome
// goes to the need calls waiting for it.
func (p *pgBus) listen(ctx context.Context, b *Broker, config *pgx.ConnConfig) {
	defer p.attempted(errors.New("live: the broker is closed"))
	retry := minRetry
	for {
		for !p.wanted() && !p.waited() {
			select {
			case <-ctx.Done():
				return
			case <-p.demand:
			}
		}
		conn, err := pgx.ConnectConfig(ctx, config)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+channel); err != nil {
				conn.Close(context.Background())
			}
		}
		if err == nil {
			retry = minRetry
			connCtx, stop := context.WithCancel(ctx)
			p.lmu.Lock()
			p.listening, p.stopConn = true, stop
			p.lmu.Unlock()
			p.attempted(nil)
			err = receive(connCtx, b, conn)
			p.lmu.Lock()
			p.listening, p.stopConn = false, nil
			p.lmu.Unlock()
			stop()
			conn.Close(context.Background())
			if ctx.Err() == nil && connCtx.Err() != nil {
				// Stopped: nothing wants events.
				continue
			}
		} else {
			p.attempted(err)
		}
		if ctx.Err() != nil {
			return
		}
		b.opts.Logger.Warn("live: listening for events failed: connecting again; events until then are not delivered here", "err", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(2*retry, maxRetry)
	}
}

// waited reports whether a need call waits for the listener.
func (p *pgBus) waited() bool {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	return len(p.waiting) > 0
}

// receive delivers notifications from conn until it fails or ctx ends.
func receive(ctx context.Context, b *Broker, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if !b.wanted() {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil || e.UserID == 0 {
			b.opts.Logger.Warn("live: notification ignored: not an event", "channel", n.Channel)
			continue
		}
		b.deliver(e)
	}
}
