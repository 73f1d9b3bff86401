package httpserver

import (
	"io"
	"sync"
)

// maxPendingLog bounds the log lines waiting for the write in flight; past
// it, loggers wait, so that a stalled output holds requests back instead of
// growing the heap.
const maxPendingLog = 1 << 20

// LogWriter writes log lines to w, one write at a time: lines logged while
// a write is in flight go together in the next. Every request logs a line,
// and a system call per line was a fair share of a request's CPU; alone, a
// line is written at once, as before. Each Write is one whole line (slog
// writes a record in one call), so lines never interleave.
type LogWriter struct {
	w io.Writer

	mu      sync.Mutex
	flushed sync.Cond // signalled when pending is written
	writing bool
	pending []byte
	spare   []byte
}

// NewLogWriter returns a LogWriter writing to w.
func NewLogWriter(w io.Writer) *LogWriter {
	lw := &LogWriter{w: w}
	lw.flushed.L = &lw.mu
	return lw
}

// Write writes p, or queues it for the write in flight and returns. The
// caller that finds no write in flight writes what queues behind its own
// line too, until nothing is left. An error is the caller's own write's.
func (lw *LogWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	for lw.writing && len(lw.pending) >= maxPendingLog {
		lw.flushed.Wait()
	}
	if lw.writing {
		lw.pending = append(lw.pending, p...)
		lw.mu.Unlock()
		return len(p), nil
	}
	lw.writing = true
	lw.mu.Unlock()

	n, err := lw.w.Write(p)
	for {
		lw.mu.Lock()
		if len(lw.pending) == 0 {
			lw.writing = false
			lw.mu.Unlock()
			return n, err
		}
		batch := lw.pending
		lw.pending, lw.spare = lw.spare[:0], nil
		lw.flushed.Broadcast()
		lw.mu.Unlock()
		// Another logger's lines: their callers have returned, and only
		// the log can say what failed.
		_, _ = lw.w.Write(batch)
		lw.mu.Lock()
		lw.spare = batch[:0]
		lw.mu.Unlock()
	}
}
