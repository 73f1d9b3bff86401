package telemetry

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlapi/mlapi/internal/httpserver"
)

// Label values for what a request did not have, or had outside the known
// set. Lower case, so that no error code (upper case) can be mistaken for
// them.
const (
	labelNone  = "none"
	labelOther = "other"
)

// maxErrorCodes bounds the error codes counted apart. The codes are the
// server's own (apperr's, GraphQL's, the transport's), a few dozen at
// most; past the bound, whatever produced them, they count as "other".
const maxErrorCodes = 48

// requestKey names the series one request counts in, but for its error
// code: indexes into the known paths, operations and status classes, and
// whether it was a stream, packed so that looking it up hashes one word.
type requestKey uint64

func newRequestKey(path, operation uint16, status uint8, stream bool) requestKey {
	k := requestKey(path)<<32 | requestKey(operation)<<16 | requestKey(status)<<1
	if stream {
		k |= 1
	}
	return k
}

func (k requestKey) path() uint16      { return uint16(k >> 32) }
func (k requestKey) operation() uint16 { return uint16(k >> 16) }
func (k requestKey) status() uint8     { return uint8(k>>1) & 0x7f }
func (k requestKey) stream() bool      { return k&1 == 1 }

// requestSeries are the series of one requestKey and error code, looked up
// once.
type requestSeries struct {
	code     string
	requests prometheus.Counter
	// seconds is nil for a stream: its time is its subscription's
	// lifetime, not a latency.
	seconds prometheus.Observer
}

// route is one path class: a path served exactly, or a subtree.
type route struct {
	label string
	// exact is the path matched as is; subtree, if set, matches every path
	// under it (it ends in "/").
	exact, subtree string
}

// requestMetrics counts the requests the access log tells it of. The
// series of each combination of labels are made on first use and kept in
// a map that is copied to add one, so that a request only reads it:
// after the first few requests of each kind, counting one costs a map
// read and two atomic updates, and allocates nothing.
type requestMetrics struct {
	m      *Metrics
	routes []route
	// operations holds each operation's index by root field, for each
	// operation type.
	operations map[string]map[string]uint16
	// operationLabels[i] is the label of index i; 0 is labelNone, 1
	// labelOther.
	operationLabels []string

	// series holds, for each key, the series of every error code seen
	// with it: a few at most.
	series atomic.Pointer[map[requestKey][]requestSeries]
	mu     sync.Mutex // taken to add to series and codes
	codes  map[string]bool
}

var _ httpserver.RequestObserver = (*requestMetrics)(nil)

// Requests returns the observer for httpserver.AccessLog, counting
// requests by path class, operation, status class and error code.
//
// paths are the routes served: a path ending in "/" (other than "/")
// stands for its subtree and the path without the slash, labelled
// without the slash ("/app/" is "/app"); any other path stands for
// itself. operations are the GraphQL operations, "type/field"
// ("mutation/predict"). Anything else is "other", and a request that ran
// no operation is "none".
func (m *Metrics) Requests(paths, operations []string) httpserver.RequestObserver {
	r := &requestMetrics{
		m:               m,
		operations:      make(map[string]map[string]uint16),
		operationLabels: []string{labelNone, labelOther},
		codes:           make(map[string]bool),
	}
	for _, p := range paths {
		if p != "/" && strings.HasSuffix(p, "/") {
			label := strings.TrimSuffix(p, "/")
			r.routes = append(r.routes, route{label: label, exact: label, subtree: p})
		} else {
			r.routes = append(r.routes, route{label: p, exact: p})
		}
	}
	for _, op := range operations {
		kind, field, ok := strings.Cut(op, "/")
		if !ok {
			continue
		}
		if r.operations[kind] == nil {
			r.operations[kind] = make(map[string]uint16)
		}
		r.operations[kind][field] = uint16(len(r.operationLabels))
		r.operationLabels = append(r.operationLabels, op)
	}
	r.series.Store(&map[requestKey][]requestSeries{})
	return r
}

// ObserveRequest counts s.
func (r *requestMetrics) ObserveRequest(s httpserver.RequestSummary) {
	key := newRequestKey(r.pathIndex(s.Path), r.operationIndex(s), statusClass(s.Status), s.Stream)
	series, ok := find((*r.series.Load())[key], s.ErrorCode)
	if !ok {
		series = r.add(key, s.ErrorCode)
	}
	series.requests.Inc()
	if series.seconds != nil {
		series.seconds.Observe(s.Elapsed.Seconds())
	}
}

// pathIndex is the index of path's route in routes, or len(routes): other.
func (r *requestMetrics) pathIndex(path string) uint16 {
	for i, rt := range r.routes {
		if path == rt.exact || rt.subtree != "" && strings.HasPrefix(path, rt.subtree) {
			return uint16(i)
		}
	}
	return uint16(len(r.routes))
}

func (r *requestMetrics) operationIndex(s httpserver.RequestSummary) uint16 {
	if s.OperationType == "" {
		return 0
	}
	if i, ok := r.operations[s.OperationType][s.RootField]; ok {
		return i
	}
	return 1
}

// find returns the series of code among those of a key.
func find(of []requestSeries, code string) (requestSeries, bool) {
	for _, series := range of {
		if series.code == code {
			return series, true
		}
	}
	return requestSeries{}, false
}

// statusClasses are the labels of statusClass's answers.
func statusClasses() [6]string { return [...]string{labelOther, "1xx", "2xx", "3xx", "4xx", "5xx"} }

func statusClass(status int) uint8 {
	if status < 100 || status > 599 {
		return 0
	}
	return uint8(status / 100)
}

// add makes the series of key and code, the first time a request needs
// them.
func (r *requestMetrics) add(key requestKey, code string) requestSeries {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.admitCode(code) {
		code = labelOther
	}
	current := *r.series.Load()
	if series, ok := find(current[key], code); ok {
		return series
	}
	path := labelOther
	if int(key.path()) < len(r.routes) {
		path = r.routes[key.path()].label
	}
	operation := r.operationLabels[key.operation()]
	codeLabel := code
	if code == "" {
		codeLabel = labelNone
	}
	series := requestSeries{code: code, requests: r.m.requests.WithLabelValues(path, operation, statusClasses()[key.status()], codeLabel)}
	if !key.stream() {
		series.seconds = r.m.requestSeconds.WithLabelValues(path, operation)
	}
	next := maps.Clone(current)
	next[key] = append(slices.Clip(current[key]), series)
	r.series.Store(&next)
	return series
}

// admitCode reports whether code may be a label value of its own: none,
// labelOther itself, or a code shaped as the server's are (upper-case
// letters, digits and underscores) while fewer than maxErrorCodes have
// been seen. Called with mu held.
func (r *requestMetrics) admitCode(code string) bool {
	if code == "" || code == labelOther || r.codes[code] {
		return true
	}
	if len(r.codes) >= maxErrorCodes || !codeShaped(code) {
		return false
	}
	r.codes[code] = true
	return true
}

func codeShaped(code string) bool {
	if len(code) > 64 {
		return false
	}
	for _, c := range []byte(code) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
