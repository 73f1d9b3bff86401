// Package export serves GET /export: a user's own history, filtered as
// me.requests filters it, as CSV or NDJSON, streamed.
package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

// MaxDuration bounds one export. The request deadline (10 s) would cut a
// long history short, so an export replaces it with this one, and lifts the
// server's write timeout for its connection to match; a client that leaves
// still ends it at once.
const MaxDuration = 5 * time.Minute

// Handler serves the export of the caller's history.
type Handler struct {
	accounts *account.Service
	// predictions returns the prediction service of the model served now.
	predictions func() *prediction.Service
	logger      *slog.Logger
}

// NewHandler returns the handler of GET /export. The caller is the user
// whose bearer token the request carries (httpserver.BearerToken puts it in
// the context); without a valid one the answer is 401. predictions returns
// the prediction service of the model served now: an export reads it once,
// and its CSV has that model's features for columns, even should the model
// be reloaded while it runs.
func NewHandler(accounts *account.Service, predictions func() *prediction.Service, logger *slog.Logger) *Handler {
	return &Handler{accounts: accounts, predictions: predictions, logger: logger}
}

// Query parameters: format (csv, the default, or ndjson), order
// (newest_first, the default, or oldest_first) and the filter's fields:
// from and until (RFC 3339), status (ok or invalid_input), yhat (0 or 1),
// modelVersion, minProbability and maxProbability, hasOutcome and outcome
// (true or false).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, err := h.accounts.Authenticate(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	format, order, filter, err := parseQuery(r.URL.Query())
	if err == nil {
		err = prediction.ValidateFilter(filter)
	}
	if err != nil {
		h.fail(w, err)
		return
	}

	ctx, cancel := exportContext(r.Context())
	defer cancel()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(MaxDuration))

	predictions := h.predictions()
	features := predictions.FeatureNames()
	var enc encoder
	if format == "ndjson" {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc = &ndjsonEncoder{w: w}
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		enc = &csvEncoder{w: csv.NewWriter(w), features: features}
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="mlapi-history.%s"`, format))
	w.Header().Set("Cache-Control", "no-store")
	if err := enc.header(); err != nil {
		return
	}
	err = predictions.Export(ctx, user.ID, filter, order, enc.write)
	if err == nil {
		err = enc.flush()
	}
	if err != nil {
		// The status is sent: abort the connection so that the client sees
		// a broken download rather than a complete-looking short one.
		h.logger.WarnContext(ctx, "export cut short", "user_id", user.ID, "error", err)
		panic(http.ErrAbortHandler)
	}
}

// exportContext replaces the request's deadline with MaxDuration, keeping
// the request's other cancellation (the client leaving).
func exportContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), MaxDuration)
	stop := context.AfterFunc(parent, func() {
		if !errors.Is(parent.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	return ctx, func() { stop(); cancel() }
}

// fail answers err in GraphQL's error shape, with the status its code
// means.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	code := apperr.CodeOf(err)
	status := http.StatusInternalServerError
	switch code {
	case apperr.Unauthenticated:
		status = http.StatusUnauthorized
	case apperr.Invalid:
		status = http.StatusBadRequest
	case apperr.Unavailable:
		status = http.StatusServiceUnavailable
	case apperr.TooManyRequests:
		status = http.StatusTooManyRequests
	default:
		h.logger.Error("export failed", "error", err)
	}
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
		"message": apperr.MessageOf(err), "extensions": map[string]string{"code": string(code)},
	}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// parseQuery reads the export's parameters; a bad one is BAD_USER_INPUT
// naming it.
func parseQuery(v url.Values) (format string, order store.Order, f store.RequestFilter, err error) {
	bad := func(name, want string) error {
		return apperr.New(apperr.Invalid, name+" must be "+want)
	}
	format = strings.ToLower(v.Get("format"))
	switch format {
	case "":
		format = "csv"
	case "csv", "ndjson":
	default:
		return "", "", f, bad("format", "csv or ndjson")
	}
	switch o := store.Order(strings.ToLower(v.Get("order"))); o {
	case "", store.NewestFirst, store.OldestFirst:
		order = o
	default:
		return "", "", f, bad("order", "newest_first or oldest_first")
	}
	times := []struct {
		name string
		dst  **time.Time
	}{{"from", &f.From}, {"until", &f.Until}}
	for _, t := range times {
		if s := v.Get(t.name); s != "" {
			parsed, perr := time.Parse(time.RFC3339Nano, s)
			if perr != nil {
				return "", "", f, bad("filter."+t.name, "an RFC 3339 time")
			}
			*t.dst = &parsed
		}
	}
	if s := v.Get("status"); s != "" {
		status := store.Status(strings.ToLower(s))
		f.Status = &status
	}
	if s := v.Get("yhat"); s != "" {
		yhat, perr := strconv.Atoi(s)
		if perr != nil {
			return "", "", f, bad("filter.yhat", "0 or 1")
		}
		f.Yhat = &yhat
	}
	if s, ok := v["modelVersion"]; ok {
		f.ModelVersion = &s[0]
	}
	probs := []struct {
		name string
		dst  **float64
	}{{"minProbability", &f.MinProbability}, {"maxProbability", &f.MaxProbability}}
	for _, p := range probs {
		if s := v.Get(p.name); s != "" {
			x, perr := strconv.ParseFloat(s, 64)
			if perr != nil {
				return "", "", f, bad("filter."+p.name, "between 0 and 1")
			}
			*p.dst = &x
		}
	}
	bools := []struct {
		name string
		dst  **bool
	}{{"hasOutcome", &f.HasOutcome}, {"outcome", &f.Outcome}}
	for _, b := range bools {
		if s := v.Get(b.name); s != "" {
			x, perr := strconv.ParseBool(s)
			if perr != nil {
				return "", "", f, bad("filter."+b.name, "true or false")
			}
			*b.dst = &x
		}
	}
	return format, order, f, nil
}

// encoder writes the rows of one format.
type encoder interface {
	header() error
	write(store.Request) error
	flush() error
}

// Row is one exported request, its fields named as the CSV's columns.
type Row struct {
	RequestID    int64        `json:"request_id"`
	CreatedAt    time.Time    `json:"created_at"`
	Status       store.Status `json:"status"`
	YhatProb     *float64     `json:"yhat_prob"`
	Yhat         *int         `json:"yhat"`
	ModelVersion string       `json:"model_version"`
	ErrorCode    *string      `json:"error_code"`
	Outcome      *bool        `json:"outcome"`
	// TraceID is the trace the request was served in (README: Tracing),
	// null when it was not traced.
	TraceID *string         `json:"trace_id"`
	Input   json.RawMessage `json:"input"`
}

// toRow is the exported form of r.
func toRow(r store.Request) Row {
	row := Row{RequestID: r.ID, CreatedAt: r.CreatedAt, TraceID: r.TraceID, Input: r.Input}
	if resp := r.Response; resp != nil {
		row.Status, row.YhatProb, row.Yhat = resp.Status, resp.YhatProb, resp.Yhat
		row.ModelVersion, row.ErrorCode = resp.ModelVersion, resp.ErrorCode
	}
	if r.Outcome.Recorded() {
		row.Outcome = &r.Outcome.Outcome
	}
	return row
}

// ndjsonEncoder writes one JSON object per line.
type ndjsonEncoder struct{ w http.ResponseWriter }

func (e *ndjsonEncoder) header() error { return nil }
func (e *ndjsonEncoder) flush() error  { return nil }
func (e *ndjsonEncoder) write(r store.Request) error {
	return json.NewEncoder(e.w).Encode(toRow(r)) // Encode ends the line
}

// csvEncoder writes a header, then one line per request with one column per
// model feature, each value as the input holds it (a number's text as the
// client sent it).
type csvEncoder struct {
	w        *csv.Writer
	features []string
	record   []string
}

// Columns are the CSV's first columns; the model's features follow.
var Columns = []string{"request_id", "created_at", "status", "yhat_prob", "yhat", "model_version", "error_code", "outcome", "trace_id"}

func (e *csvEncoder) header() error {
	return e.w.Write(append(append([]string{}, Columns...), e.features...))
}

func (e *csvEncoder) flush() error {
	e.w.Flush()
	return e.w.Error()
}

func (e *csvEncoder) write(r store.Request) error {
	row := toRow(r)
	e.record = append(e.record[:0],
		strconv.FormatInt(row.RequestID, 10), row.CreatedAt.UTC().Format(time.RFC3339Nano), string(row.Status),
		formatPtr(row.YhatProb, func(p float64) string { return strconv.FormatFloat(p, 'g', -1, 64) }),
		formatPtr(row.Yhat, strconv.Itoa), row.ModelVersion,
		formatPtr(row.ErrorCode, func(s string) string { return s }),
		formatPtr(row.Outcome, strconv.FormatBool),
		formatPtr(row.TraceID, func(s string) string { return s }),
	)
	dec := json.NewDecoder(bytes.NewReader(r.Input))
	dec.UseNumber()
	var input map[string]any
	if err := dec.Decode(&input); err != nil {
		return fmt.Errorf("request %d: logged input: %w", r.ID, err)
	}
	for _, name := range e.features {
		e.record = append(e.record, formatValue(input[name]))
	}
	return e.w.Write(e.record)
}

// formatValue writes one input value as stored: a number's text, true or
// false, a string, or nothing when missing.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case json.Number:
		return v.String()
	case string:
		// A refused input may hold any text: one that a spreadsheet would
		// run as a formula is quoted, as OWASP advises.
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			return "'" + v
		}
		return v
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func formatPtr[T any](p *T, format func(T) string) string {
	if p == nil {
		return ""
	}
	return format(*p)
}
