package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/mlapi/mlapi/internal/apperr"
)

// Group commit for the prediction log. A commit costs the database a flush
// of its log whatever it holds, so under concurrent predictions the commits,
// not the rows, bound throughput. The log writer therefore writes the
// predictions that arrive while a write is running together, in the next
// write: one statement on PostgreSQL, one transaction on SQLite, one commit
// either way. A prediction that finds no write running is written at once,
// by its own caller, so a lone client waits for nothing but its own write:
// no other goroutine has to be woken, twice, on its way.

const (
	// maxLogBatch bounds how many predictions one write carries. Every
	// caller in a batch waits for all of it, and a batch that fails for a
	// reason that may be one item's is written again item by item, so an
	// unbounded batch would let a burst make both slow. With N clients
	// predicting back to back, batches settle near N/2 (those one write
	// answers arrive during the next and go in the one after), so 64 is
	// reached only past a hundred predictions in flight, when a commit is
	// already shared 64 ways and a larger batch would gain little. 64
	// items' parameters stay small too: a stored input is at most 4 KiB.
	maxLogBatch = 64

	// logWriteTimeout bounds one write. Writes run on a context of their
	// own, since they carry several callers' rows and none of them may
	// cancel the others'; a write whose callers all have deadlines ends by
	// the latest of them too, as their own writes used to.
	logWriteTimeout = 10 * time.Second
)

// errLogClosed answers the predictions that come after Close: like any call
// on a closed database, the database is unavailable to them.
var errLogClosed = apperr.Wrap(apperr.Unavailable, unavailableMessage,
	errors.New("log prediction: the database is closed"))

// logItem is one caller's prediction on its way to the database.
type logItem struct {
	p PredictionLog
	// generation and tokenID are the caller's TokenCheck, nil without one.
	generation *int64
	tokenID    *string
	// createdAt is taken when the item joins the queue, in queue order, so
	// that within one process a later id never has an earlier time.
	createdAt time.Time
	// deadline is the caller's, zero without one.
	deadline time.Time
	// traceID is the caller's sampled trace, stored with the request; nil
	// when untraced.
	traceID *string
	// span is the caller's span of the write (DB.logTraced), nil when
	// tracing is off.
	span trace.Span

	// result is set by the writer before it closes done.
	result logResult
	done   chan struct{}
}

// logResult is one item's outcome: the rows written, or why not.
type logResult struct {
	logged LoggedPrediction
	err    error
}

// writeLogsFunc writes items, all or nothing, and returns each item's
// result in items' order: LoggedPrediction for a written item,
// ErrUserNotFound for one whose user or token was refused (nothing written
// for it). An error means nothing at all was written.
type writeLogsFunc func(ctx context.Context, items []*logItem) ([]logResult, error)

// logWriterHooks let tests see the writer's steps and hold a write; nil
// hooks are skipped. They are set before the writer is used.
type logWriterHooks struct {
	// queued is called after an item joins the queue, with the queue's
	// length then.
	queued func(queueLen int)
	// writing is called before a batch is written, with its size; it may
	// block to hold the write.
	writing func(batchLen int)
	// closing is called once close has stopped taking new items, before it
	// waits for the queue to drain.
	closing func()
}

// logWriter collects the predictions in flight and writes them in batches.
// While no write is running there is no goroutine: the first item to find
// none is written by its caller, and the items that queue meanwhile by a
// goroutine it starts, which writes batch after batch until the queue is
// empty.
type logWriter struct {
	write writeLogsFunc
	hooks logWriterHooks
	// observe is told of every write; nil: nothing is.
	observe LogWriteObserver

	mu sync.Mutex
	// queue holds the items no write has taken yet, in arrival order.
	queue []*logItem
	// running says a goroutine is writing; it is true whenever queue is not
	// empty.
	running bool
	closed  bool
	// writes counts the writes attempted, for tests.
	writes int
	// done is waited for by close: it tracks the writing goroutine.
	done sync.WaitGroup
}

func newLogWriter(write writeLogsFunc, observe LogWriteObserver) *logWriter {
	return &logWriter{write: write, observe: observe}
}

// log queues it and waits for its result. A caller whose ctx ends while its
// item is still queued takes it back, with nothing written; once a write has
// taken the item, the caller waits for that write, whose rows are logged
// whatever the caller does, so that its answer says what happened.
func (w *logWriter) log(ctx context.Context, it *logItem) (LoggedPrediction, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return LoggedPrediction{}, errLogClosed
	}
	it.createdAt = now()
	it.deadline, _ = ctx.Deadline()
	it.done = make(chan struct{})
	if !w.running {
		// The queue is empty (it is never without a writer): write it now.
		w.running = true
		w.done.Add(1)
		w.mu.Unlock()
		if w.hooks.queued != nil {
			w.hooks.queued(1)
		}
		w.writeBatch([]*logItem{it})
		close(it.done)
		w.handOff()
		return it.result.logged, it.result.err
	}
	w.queue = append(w.queue, it)
	queued := len(w.queue)
	w.mu.Unlock()
	if w.hooks.queued != nil {
		w.hooks.queued(queued)
	}

	select {
	case <-it.done:
		return it.result.logged, it.result.err
	case <-ctx.Done():
	}
	w.mu.Lock()
	if i := slices.Index(w.queue, it); i >= 0 {
		w.queue = slices.Delete(w.queue, i, i+1)
		w.mu.Unlock()
		return LoggedPrediction{}, classify(fmt.Errorf("log prediction: %w", ctx.Err()))
	}
	w.mu.Unlock()
	<-it.done
	return it.result.logged, it.result.err
}

// handOff ends a caller's own write: the items queued meanwhile go to a
// writing goroutine, or, with none, the writer stops.
func (w *logWriter) handOff() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		w.running = false
		w.done.Done()
		return
	}
	go w.run()
}

// run writes the queue in batches of at most maxLogBatch until it is empty.
func (w *logWriter) run() {
	defer w.done.Done()
	for {
		w.mu.Lock()
		n := min(len(w.queue), maxLogBatch)
		if n == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		batch := slices.Clone(w.queue[:n])
		w.queue = slices.Delete(w.queue, 0, n)
		w.mu.Unlock()

		w.writeBatch(batch)
		for _, it := range batch {
			close(it.done)
		}
	}
}

// writeBatch sets each item's result. A batch that fails because the
// database is unavailable fails every item alike, and is not tried again:
// the next would fail the same way. Any other failure may be one item's
// fault, so each item is then written alone and gets its own result.
func (w *logWriter) writeBatch(batch []*logItem) {
	if w.hooks.writing != nil {
		w.hooks.writing(len(batch))
	}
	err := w.writeOnce(batch)
	if err == nil {
		return
	}
	if len(batch) > 1 && !unavailable(err) {
		for _, it := range batch {
			if err := w.writeOnce([]*logItem{it}); err != nil {
				it.result = logResult{err: classify(fmt.Errorf("log prediction: %w", err))}
			}
		}
		return
	}
	err = classify(fmt.Errorf("log prediction: %w", err))
	for _, it := range batch {
		it.result = logResult{err: err}
	}
}

// writeOnce writes items in one write and sets their results, or returns
// why nothing was written.
func (w *logWriter) writeOnce(items []*logItem) (err error) {
	w.mu.Lock()
	w.writes++
	w.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), writeDeadline(items))
	defer cancel()
	if w.observe != nil {
		start := time.Now()
		// Deferred before the recovery below, so run after it: a panic is
		// observed as the error it becomes.
		defer func() { w.observe.ObserveLogWrite(len(items), time.Since(start), err) }()
	}
	// In the caller's goroutine, a panic would have cost one request (the
	// server recovers it); in this one it would end the process.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write %d predictions: panic: %v", len(items), r)
		}
	}()
	for _, it := range items {
		if it.span != nil {
			it.span.AddEvent("write", trace.WithAttributes(semconv.DBOperationBatchSize(len(items))))
		}
	}
	results, err := w.write(ctx, items)
	if err != nil {
		return err
	}
	if len(results) != len(items) {
		return fmt.Errorf("write %d predictions: %d results", len(items), len(results))
	}
	for i, it := range items {
		it.result = results[i]
	}
	return nil
}

// writeDeadline returns when a write of items must end: logWriteTimeout
// from now, or the latest of the callers' deadlines if all have one and it
// comes sooner: past that, every caller has run out of time and an
// answer could only be late.
func writeDeadline(items []*logItem) time.Time {
	deadline := time.Now().Add(logWriteTimeout)
	var latest time.Time
	for _, it := range items {
		if it.deadline.IsZero() {
			return deadline
		}
		if it.deadline.After(latest) {
			latest = it.deadline
		}
	}
	if latest.Before(deadline) {
		return latest
	}
	return deadline
}

// close stops taking items, lets the writing goroutine write what is
// queued, and returns once it has. Calling it again does nothing more.
func (w *logWriter) close() {
	w.mu.Lock()
	again := w.closed
	w.closed = true
	w.mu.Unlock()
	if !again && w.hooks.closing != nil {
		w.hooks.closing()
	}
	w.done.Wait()
}
