// Package retention deletes the prediction log older than the retention
// period in the background: a pass when the server starts, then one an
// hour. A pass deletes in small batches (store.PruneLog) and rests after
// each batch at least as long as the batch took, so that pruning never has
// the database more than half the time, and gives way to the log's writers.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/mlapi/mlapi/internal/store"
)

// Log is the prediction log to prune.
type Log interface {
	PruneLog(ctx context.Context, before time.Time, opts store.PruneOptions) (store.PruneReport, error)
}

// Defaults of Options.
const (
	DefaultInterval = time.Hour
	DefaultRest     = 50 * time.Millisecond
)

// Options configure a Pruner.
type Options struct {
	// MaxAge is the retention: a pass deletes what was created longer ago.
	MaxAge time.Duration
	// Interval separates the end of a pass from the start of the next;
	// zero means DefaultInterval.
	Interval time.Duration
	// BatchSize is the requests a batch deletes; zero means
	// store.DefaultPruneBatch.
	BatchSize int
	// Rest is the least rest after a batch; zero means DefaultRest.
	Rest time.Duration
	// Logger gets a line a pass; nil logs nothing.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Rest <= 0 {
		o.Rest = DefaultRest
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Pruner runs the passes until it is stopped.
type Pruner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs a pass at once, and then another opts.Interval after each
// one ends, until ctx ends or Stop is called.
func Start(ctx context.Context, log Log, opts Options) *Pruner {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	p := &Pruner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			pass(ctx, log, opts)
			if sleep(ctx, opts.Interval) != nil {
				return
			}
		}
	}()
	return p
}

// Stop ends the pass under way, whose current batch rolls back, and returns
// once the pruner has stopped.
func (p *Pruner) Stop() {
	p.cancel()
	<-p.done
}

// pass deletes what is older than opts.MaxAge, and logs what it did.
func pass(ctx context.Context, log Log, opts Options) {
	began := time.Now()
	before := opts.Now().Add(-opts.MaxAge)
	report, err := log.PruneLog(ctx, before, store.PruneOptions{
		BatchSize: opts.BatchSize,
		Rest: func(ctx context.Context, batchTook time.Duration) error {
			return sleep(ctx, max(opts.Rest, batchTook))
		},
	})
	attrs := []any{
		"before", before.UTC(), "requests", report.Requests, "responses", report.Responses, "outcomes", report.Outcomes,
		"batches", report.Batches, "longest_batch_ms", milliseconds(report.LongestBatch), "took_ms", milliseconds(time.Since(began)),
	}
	switch {
	case err == nil:
		opts.Logger.Info("retention pass", attrs...)
	case ctx.Err() != nil:
		opts.Logger.Info("retention pass stopped", attrs...)
	default:
		opts.Logger.Error("retention pass failed", append(attrs, "err", err)...)
	}
}

// milliseconds is d as the access log gives latencies.
func milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// sleep waits for d, or until ctx ends and returns its error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
