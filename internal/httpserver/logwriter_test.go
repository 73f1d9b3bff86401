package httpserver

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// blockingWriter records each write, and holds the first one until
// released, so that a test can queue lines behind a write in flight.
type blockingWriter struct {
	mu       sync.Mutex
	writes   []string
	started  chan struct{}
	release  chan struct{}
	firstDue bool
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	first := !b.firstDue
	b.firstDue = true
	b.mu.Unlock()
	if first {
		close(b.started)
		<-b.release
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes = append(b.writes, string(p))
	return len(p), nil
}

func TestLogWriterWritesQueuedLinesTogether(t *testing.T) {
	t.Parallel()
	out := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	lw := NewLogWriter(out)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lw.Write([]byte("first\n"))
	}()
	<-out.started
	// The first line's write is in flight: these return at once, queued.
	const queued = 50
	var wg sync.WaitGroup
	for i := range queued {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := lw.Write([]byte(fmt.Sprintf("line %d\n", i))); n != len(fmt.Sprintf("line %d\n", i)) || err != nil {
				t.Errorf("queued write: %d, %v", n, err)
			}
		}()
	}
	wg.Wait()
	close(out.release)
	<-done

	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.writes) != 2 || out.writes[0] != "first\n" {
		t.Fatalf("writes %q: want the first line, then the queued ones in one write", out.writes)
	}
	lines := strings.Split(strings.TrimSuffix(out.writes[1], "\n"), "\n")
	sort.Strings(lines)
	want := make([]string, queued)
	for i := range want {
		want[i] = fmt.Sprintf("line %d", i)
	}
	sort.Strings(want)
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("queued lines written: %q, want each of %q once", lines, want)
	}
}

func TestLogWriterKeepsEveryLineWhole(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var mu sync.Mutex
	lw := NewLogWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	}))
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				lw.Write([]byte(logLine(w, i) + "\n"))
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var w, i int
		if _, err := fmt.Sscanf(line, "writer %d line %d", &w, &i); err != nil || line != logLine(w, i) || seen[line] {
			t.Fatalf("line %q is cut, mixed with another or repeated", line)
		}
		seen[line] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d lines written, want %d", len(seen), writers*each)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// logLine is writer w's line i, of a length that varies with i.
func logLine(w, i int) string {
	return fmt.Sprintf("writer %d line %d %s.", w, i, strings.Repeat("x", i%200))
}
