package account

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
)

// ClientLimits bounds what one client address (auth.ClientAddrFrom; an IPv6
// /64) may ask of the operations that cost a password hash. Calls whose
// context carries no address (the command line) are not limited.
type ClientLimits struct {
	// Login and Register count the token and registerUser calls of each
	// address, whatever their outcome; nil sets no limit.
	Login, Register Limiter
	// MaxInFlight bounds the logins and registrations of one address in
	// progress at once. The others from that address wait their turn, at
	// most QueueWait, and are then refused. So a flood from one address
	// holds at most MaxInFlight of the server's hashing slots and never
	// queues ahead of other addresses. 0 sets no bound.
	MaxInFlight int
	// MaxHashing bounds the limited calls in progress at once over all
	// addresses (the hashing slots). When they are all taken, the next to
	// free goes to the waiting call whose address was served least
	// recently, so an address that has not been served for a while passes
	// ahead of the addresses of a flood. 0 sets no bound.
	MaxHashing int
	// QueueWait bounds how long a call waits for its places, its address's
	// and the shared one together: 500 ms when zero.
	QueueWait time.Duration
	// Tarpit delays a refusal by this much, never past the time to retry
	// or the request's deadline, so that a client looping on refusals
	// sends one call per Tarpit per connection instead of as many as the
	// server can answer. 0 sets no delay. MaxTarpitted bounds the refusals
	// delayed at once (1024 when zero); the others are answered at once.
	Tarpit       time.Duration
	MaxTarpitted int
}

// Option configures a Service.
type Option func(*Service)

// WithClientLimits limits each client address as l says.
func WithClientLimits(l ClientLimits) Option {
	return func(s *Service) {
		if l.QueueWait <= 0 {
			l.QueueWait = 500 * time.Millisecond
		}
		if l.MaxTarpitted <= 0 {
			l.MaxTarpitted = 1024
		}
		s.clients = &clientLimits{ClientLimits: l, queues: make(map[string]*clientQueue), free: l.MaxHashing}
	}
}

type clientLimits struct {
	ClientLimits

	tarpitted atomic.Int64
	mu        sync.Mutex
	queues    map[string]*clientQueue // by client key, while calls hold or await a place
	// The shared places (MaxHashing), guarded by mu.
	free    int
	waiting []*gateWaiter // in arrival order
	served  uint64        // counts the shared places handed out
}

// clientQueue holds one address's places: a call takes one by sending.
type clientQueue struct {
	places chan struct{}
	users  int // calls holding or awaiting a place; guarded by clientLimits.mu
	// lastServed is the value of clientLimits.served when this address last
	// got a shared place; 0: not while it has had calls in progress.
	lastServed uint64
}

// gateWaiter is a call waiting for a shared place.
type gateWaiter struct {
	queue   *clientQueue
	ready   chan struct{} // closed when granted
	granted bool          // guarded by clientLimits.mu
}

type costlyOp int

const (
	opLogin costlyOp = iota
	opRegister
)

func noop() {}

// admit decides whether the client the request comes from may start op,
// and returns the function that marks it finished. A nil receiver, or a
// context without a client address, admits everything.
func (c *clientLimits) admit(ctx context.Context, op costlyOp) (done func(), err error) {
	if c == nil {
		return noop, nil
	}
	addr, ok := auth.ClientAddrFrom(ctx)
	if !ok {
		return noop, nil
	}
	key := auth.ClientKey(addr)

	limiter, what := c.Login, "login attempts"
	if op == opRegister {
		limiter, what = c.Register, "registrations"
	}
	if limiter != nil {
		ok, retry, err := limiter.Attempt(ctx, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			c.tarpit(ctx, retry)
			return nil, apperr.Wrap(apperr.TooManyRequests, fmt.Sprintf(
				"too many %s from your address, try again in %s", what, retryText(retry)), errRateLimited)
		}
	}
	if c.MaxInFlight <= 0 {
		return noop, nil
	}
	return c.takePlace(ctx, key)
}

// errAddressBusy refuses a call that found its address's queue full.
var errAddressBusy = apperr.New(apperr.TooManyRequests,
	"too many logins and registrations in progress from your address, try again in a second")

// takePlace waits for one of the address's MaxInFlight places, then for a
// shared one.
func (c *clientLimits) takePlace(ctx context.Context, key string) (func(), error) {
	c.mu.Lock()
	q := c.queues[key]
	if q == nil {
		q = &clientQueue{places: make(chan struct{}, c.MaxInFlight)}
		c.queues[key] = q
	}
	q.users++
	c.mu.Unlock()
	leave := func() {
		c.mu.Lock()
		if q.users--; q.users == 0 {
			delete(c.queues, key)
		}
		c.mu.Unlock()
	}
	timer := time.NewTimer(c.QueueWait)
	defer timer.Stop()
	select {
	case q.places <- struct{}{}:
	default:
		select {
		case q.places <- struct{}{}:
		case <-ctx.Done():
			leave()
			return nil, errAddressBusy
		case <-timer.C:
			leave()
			return nil, errAddressBusy
		}
	}
	if !c.enterGate(ctx, q, timer.C) {
		<-q.places
		leave()
		return nil, apperr.New(apperr.TooManyRequests, "too many logins and registrations in progress, try again in a second")
	}
	return func() {
		c.leaveGate()
		<-q.places
		leave()
	}, nil
}

// enterGate takes a shared place for a call from q's address, waiting until
// expired fires or ctx ends. It reports whether the place was taken.
func (c *clientLimits) enterGate(ctx context.Context, q *clientQueue, expired <-chan time.Time) bool {
	if c.MaxHashing <= 0 {
		return true
	}
	c.mu.Lock()
	if c.free > 0 && len(c.waiting) == 0 {
		c.free--
		c.served++
		q.lastServed = c.served
		c.mu.Unlock()
		return true
	}
	w := &gateWaiter{queue: q, ready: make(chan struct{})}
	c.waiting = append(c.waiting, w)
	c.mu.Unlock()
	select {
	case <-w.ready:
		return true
	case <-ctx.Done():
	case <-expired:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if w.granted { // granted as it gave up: keep it, the caller releases it
		return true
	}
	c.waiting = slices.DeleteFunc(c.waiting, func(x *gateWaiter) bool { return x == w })
	return false
}

// leaveGate gives a shared place back: to the waiting call whose address
// was served least recently (the first to arrive among equals), or to the
// pool.
func (c *clientLimits) leaveGate() {
	if c.MaxHashing <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiting) == 0 {
		c.free++
		return
	}
	next := 0
	for i, w := range c.waiting {
		if w.queue.lastServed < c.waiting[next].queue.lastServed {
			next = i
		}
	}
	w := c.waiting[next]
	c.waiting = slices.Delete(c.waiting, next, next+1)
	c.served++
	w.queue.lastServed = c.served
	w.granted = true
	close(w.ready)
}

// tarpit holds a refusal for Tarpit, or until retry or the request's end.
func (c *clientLimits) tarpit(ctx context.Context, retry time.Duration) {
	d := min(c.Tarpit, retry)
	if d <= 0 {
		return
	}
	if c.tarpitted.Add(1) > int64(c.MaxTarpitted) {
		c.tarpitted.Add(-1)
		return
	}
	defer c.tarpitted.Add(-1)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// retryText writes how long to wait, rounded up: "41 seconds", "12 minutes",
// "2 hours".
func retryText(d time.Duration) string {
	unit, name := time.Second, "second"
	switch {
	case d > 2*time.Hour:
		unit, name = time.Hour, "hour"
	case d > 2*time.Minute:
		unit, name = time.Minute, "minute"
	}
	n := max(1, int64((d+unit-1)/unit))
	if n > 1 {
		name += "s"
	}
	return fmt.Sprintf("%d %s", n, name)
}
