// Package loadgen drives a running mlapi with the predict mutation, as
// many clients sending requests back to back would (mlapi bench). It checks
// every answer, measures throughput and latency over a window that follows
// a warm-up, and at the end checks that the server logged exactly the
// predictions it answered, by reading the user's history count before and
// after.
package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultInput is the seed document's example, sent when Config.Input is
// empty; the served model answers it with DefaultYhatProb.
const (
	DefaultInput = `{"age":25,"creatininePhosphokinase":1000,"ejectionFraction":35,"platelets":500000,` +
		`"serumCreatinine":8,"serumSodium":135,"sex":true,"highBloodPressure":false}`
	DefaultYhatProb = "0.5124506"
)

// Config is one run.
type Config struct {
	// URL is the GraphQL endpoint.
	URL string
	// Connections is the number of clients, each a goroutine with a
	// keep-alive connection of its own, sending the next request as soon
	// as the last is answered.
	Connections int
	// Warmup is sent first and not measured; Duration is measured.
	Warmup, Duration time.Duration
	// Timeout bounds one request, its answer read.
	Timeout time.Duration
	// Username and Password are the user the requests are sent as; with
	// no Username, a fresh user is registered.
	Username, Password string
	// Input is the PredictInput, a JSON object; empty means DefaultInput,
	// whose answer must then be DefaultYhatProb to the letter.
	Input json.RawMessage
}

// Result is what a run measured and found. Its JSON is what mlapi bench
// --json prints.
type Result struct {
	URL         string `json:"url"`
	User        string `json:"user"`
	Connections int    `json:"connections"`
	Warmup      string `json:"warmup"`
	Duration    string `json:"duration"`
	// Window is how long the measured window lasted, in seconds: Duration,
	// unless the run was interrupted.
	Window float64 `json:"windowSeconds"`
	// Requests finished within the window, answered or not.
	Requests int64 `json:"requests"`
	// Throughput is Requests per second of the window.
	Throughput float64 `json:"throughput"`
	// Latency of the Requests, in milliseconds.
	Latency Latency `json:"latencyMs"`
	// WarmupRequests finished before the window; LateRequests were in
	// flight when it ended and finished after.
	WarmupRequests int64 `json:"warmupRequests"`
	LateRequests   int64 `json:"lateRequests"`
	// Errors counts the failed requests of every phase, ErrorKinds them by
	// kind, and ErrorSamples holds one message of each kind.
	Errors       int64             `json:"errors"`
	ErrorKinds   map[string]int64  `json:"errorKinds,omitempty"`
	ErrorSamples map[string]string `json:"errorSamples,omitempty"`
	// Answered counts the good predict answers of every phase; Logged the
	// rows the user's history gained from before the first request to
	// after the last. Of the Errors, LoggedErrors were surely logged (a
	// refused input, or a prediction with a wrong answer) and
	// MaybeLoggedErrors may have been (an answer lost after the server
	// logged the request, as a client timeout). Logged is -1 when the
	// count after the run could not be read; LoggedError says why.
	Answered          int64  `json:"answered"`
	Logged            int64  `json:"logged"`
	LoggedErrors      int64  `json:"loggedErrors"`
	MaybeLoggedErrors int64  `json:"maybeLoggedErrors"`
	LoggedError       string `json:"loggedError,omitempty"`
	// Interrupted is set when the run was cancelled before its end.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Latency holds quantiles of a run's latency, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Run registers a user (unless cfg names one), logs in, and sends predict
// requests as cfg says. It returns an error when it cannot start; a run
// that went wrong is a Result whose Err says how.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	input, want, err := cfg.input()
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.URL == "":
		return nil, errors.New("no URL")
	case cfg.Connections < 1:
		return nil, fmt.Errorf("connections %d: want at least 1", cfg.Connections)
	case cfg.Duration <= 0:
		return nil, fmt.Errorf("duration %v: want more than 0", cfg.Duration)
	case cfg.Warmup < 0:
		return nil, fmt.Errorf("warm-up %v: want 0 or more", cfg.Warmup)
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("timeout %v: want more than 0", cfg.Timeout)
	case cfg.Username == "" && cfg.Password != "", cfg.Username != "" && cfg.Password == "":
		return nil, errors.New("give both a username and a password, or neither to register a fresh user")
	}
	body, err := predictBody(input)
	if err != nil {
		return nil, err
	}
	c := newClient(cfg.URL, cfg.Timeout)
	defer c.close()

	username, password := cfg.Username, cfg.Password
	if username == "" {
		if username, password, err = c.register(ctx); err != nil {
			return nil, err
		}
	}
	token, err := c.login(ctx, username, password)
	if err != nil {
		return nil, err
	}
	before, err := c.historyCount(ctx, token)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	warmEnd := start.Add(cfg.Warmup)
	end := warmEnd.Add(cfg.Duration)
	conns := make([]*predictConn, cfg.Connections)
	for i := range conns {
		if conns[i], err = newPredictConn(cfg.URL, token, body, cfg.Timeout); err != nil {
			return nil, err
		}
	}
	tallies := make([]tally, cfg.Connections)
	var wg sync.WaitGroup
	for i := range tallies {
		wg.Go(func() {
			t, conn := &tallies[i], conns[i]
			defer conn.close()
			var buf bytes.Buffer
			for ctx.Err() == nil {
				sent := time.Now()
				if !sent.Before(end) {
					return
				}
				o := conn.predict(ctx, want, &buf)
				t.add(o, sent, time.Now(), warmEnd, end)
			}
		})
	}
	wg.Wait()
	stopped := time.Now()

	res := &Result{
		URL: cfg.URL, User: username, Connections: cfg.Connections,
		Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(),
		ErrorKinds: map[string]int64{}, ErrorSamples: map[string]string{},
		Interrupted: ctx.Err() != nil,
	}
	var hist Histogram
	for i := range tallies {
		t := &tallies[i]
		hist.Merge(&t.hist)
		res.WarmupRequests += t.requests[warmupPhase]
		res.Requests += t.requests[windowPhase]
		res.LateRequests += t.requests[latePhase]
		res.Answered += t.answered
		res.LoggedErrors += t.loggedErrors
		res.MaybeLoggedErrors += t.maybeLoggedErrors
		for kind, n := range t.errors {
			res.Errors += n
			res.ErrorKinds[kind] += n
			if _, ok := res.ErrorSamples[kind]; !ok {
				res.ErrorSamples[kind] = t.samples[kind]
			}
		}
	}
	if stopped.After(end) {
		stopped = end
	}
	if window := stopped.Sub(warmEnd); window > 0 {
		res.Window = window.Seconds()
		res.Throughput = float64(res.Requests) / res.Window
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	res.Latency = Latency{P50: ms(hist.Quantile(0.50)), P90: ms(hist.Quantile(0.90)), P99: ms(hist.Quantile(0.99)), Max: ms(hist.Max())}

	// The count after the run is read even when it was interrupted: what
	// was logged by then is still worth checking.
	countCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
	defer cancel()
	after, err := c.historyCount(countCtx, token)
	if err != nil {
		res.Logged, res.LoggedError = -1, err.Error()
	} else {
		res.Logged = after - before
	}
	return res, nil
}

// input returns the PredictInput to send, compacted, and the yhatProb its
// answer must have ("" for any probability).
func (cfg Config) input() (json.RawMessage, string, error) {
	if len(bytes.TrimSpace(cfg.Input)) == 0 {
		return json.RawMessage(DefaultInput), DefaultYhatProb, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(cfg.Input, &fields); err != nil || fields == nil {
		return nil, "", fmt.Errorf("input: want a JSON object of the PredictInput fields: %.200s", cfg.Input)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, cfg.Input); err != nil {
		return nil, "", fmt.Errorf("input: %w", err)
	}
	return compact.Bytes(), "", nil
}

// The phases a request is counted in, by when it finished.
const (
	warmupPhase = iota
	windowPhase
	latePhase
)

// tally is what one goroutine counts, merged into the Result at the end.
type tally struct {
	hist                            Histogram
	requests                        [3]int64
	answered                        int64
	loggedErrors, maybeLoggedErrors int64
	errors                          map[string]int64
	samples                         map[string]string
}

// add counts one request, sent and answered at the times given, in the
// phase it finished in.
func (t *tally) add(o outcome, sent, done, warmEnd, end time.Time) {
	phase := windowPhase
	switch {
	case done.Before(warmEnd):
		phase = warmupPhase
	case !done.Before(end):
		phase = latePhase
	}
	t.requests[phase]++
	if phase == windowPhase {
		t.hist.Record(done.Sub(sent))
	}
	if o.kind == "" {
		t.answered++
		return
	}
	if t.errors == nil {
		t.errors, t.samples = map[string]int64{}, map[string]string{}
	}
	if t.errors[o.kind] == 0 {
		t.samples[o.kind] = o.detail
	}
	t.errors[o.kind]++
	switch o.logged {
	case wasLogged:
		t.loggedErrors++
	case maybeLogged:
		t.maybeLoggedErrors++
	}
}

// loggedAsExpected says whether the log gained what the answers say it
// should have: one row per good answer and per error surely logged, and at
// most one more per error that may have been.
func (r *Result) loggedAsExpected() bool {
	low := r.Answered + r.LoggedErrors
	return r.Logged >= low && r.Logged <= low+r.MaybeLoggedErrors
}

// Err says what went wrong in the run: any error answer, a log that does
// not match the answers, an interruption. It is nil for a clean run.
func (r *Result) Err() error {
	var problems []string
	if r.Errors > 0 {
		problems = append(problems, fmt.Sprintf("%d requests failed (%s)", r.Errors, r.errorSummary()))
	}
	switch {
	case r.Logged < 0:
		problems = append(problems, "the rows logged could not be counted: "+r.LoggedError)
	case !r.loggedAsExpected():
		problems = append(problems, fmt.Sprintf("logged %d, answered %d: %s", r.Logged, r.Answered, r.loggedExplanation()))
	}
	if r.Interrupted {
		problems = append(problems, "interrupted")
	}
	if r.Requests == 0 && !r.Interrupted {
		problems = append(problems, "no request finished in the measured window")
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New("bench: " + strings.Join(problems, "; "))
}

// errorSummary lists the error kinds, most frequent first, each with a
// message of its own.
func (r *Result) errorSummary() string {
	kinds := slices.SortedFunc(maps.Keys(r.ErrorKinds), func(a, b string) int {
		return cmp.Or(cmp.Compare(r.ErrorKinds[b], r.ErrorKinds[a]), strings.Compare(a, b))
	})
	parts := make([]string, len(kinds))
	for i, kind := range kinds {
		parts[i] = fmt.Sprintf("%s %d, e.g. %s", kind, r.ErrorKinds[kind], r.ErrorSamples[kind])
	}
	return strings.Join(parts, "; ")
}

// loggedExplanation says how the rows logged compare with the answers.
func (r *Result) loggedExplanation() string {
	low := r.Answered + r.LoggedErrors
	switch {
	case r.Logged < r.Answered:
		return fmt.Sprintf("%d answered predictions are missing from the log", r.Answered-r.Logged)
	case r.Logged < low:
		return fmt.Sprintf("%d error answers that carried a prediction or refused an input are missing from the log", low-r.Logged)
	case r.Logged > low+r.MaybeLoggedErrors:
		return fmt.Sprintf("%d rows more than requests that could have been logged (another client using the same user?)",
			r.Logged-low-r.MaybeLoggedErrors)
	}
	var parts []string
	if r.LoggedErrors > 0 {
		parts = append(parts, fmt.Sprintf("%d error answers carried a prediction or refused an input, and were logged", r.LoggedErrors))
	}
	if r.Logged > low {
		parts = append(parts, fmt.Sprintf("%d of the %d requests whose answer was lost or unclear were logged", r.Logged-low, r.MaybeLoggedErrors))
	}
	if len(parts) == 0 {
		return "as expected"
	}
	return strings.Join(parts, "; ")
}

// WriteText prints the result for a person to read.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "mlapi bench: %s as %s, %d connections, %s after a %s warm-up\n",
		r.URL, r.User, r.Connections, r.Duration, r.Warmup)
	fmt.Fprintf(&b, "requests    %d in %.2fs: %.1f/s (warm-up %d, finished after the window %d)\n",
		r.Requests, r.Window, r.Throughput, r.WarmupRequests, r.LateRequests)
	fmt.Fprintf(&b, "latency     p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	if r.Errors == 0 {
		fmt.Fprintf(&b, "errors      0\n")
	} else {
		fmt.Fprintf(&b, "errors      %d: %s\n", r.Errors, r.errorSummary())
		fmt.Fprintf(&b, "            of which %d were logged by the server and %d may have been\n", r.LoggedErrors, r.MaybeLoggedErrors)
	}
	if r.Logged < 0 {
		fmt.Fprintf(&b, "logged ?, answered %d: %s\n", r.Answered, r.LoggedError)
	} else {
		fmt.Fprintf(&b, "logged %d, answered %d", r.Logged, r.Answered)
		if r.Logged != r.Answered {
			fmt.Fprintf(&b, ": %s", r.loggedExplanation())
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
