// Package prediction answers prediction requests with the served model and
// keeps the audit log: no prediction leaves the service unless its request
// and response rows are committed first.
package prediction

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/paging"
	"github.com/mlapi/mlapi/internal/store"
)

// Model is the served model.
type Model interface {
	Validate(input map[string]any) ([]float64, error)
	Predict(x []float64) model.Prediction
	Explain(x []float64) model.Explanation
	Info() model.Info
}

// Log is the storage of requests and responses.
type Log interface {
	LogPrediction(ctx context.Context, entry store.PredictionLog) (store.LoggedPrediction, error)
	ListRequests(ctx context.Context, userID int64, q store.PageQuery) (store.RequestPage, error)
	Request(ctx context.Context, userID, requestID int64) (store.Request, error)
	Response(ctx context.Context, userID, responseID int64) (store.Response, error)
	OutcomeLog // outcomes.go
}

// Service predicts and reads back a user's history.
type Service struct {
	model   Model
	log     Log
	version string
	// features are the model's feature names, in its order; never modified.
	features []string
	// sortedFeatures are features sorted by name, as encodeReceived wants
	// them; never modified.
	sortedFeatures []string
	// tracer traces the model's evaluations; nil when tracing is off.
	tracer trace.Tracer
}

// Option configures a Service.
type Option func(*Service)

// WithTracing traces each evaluation of the model with tp: a span, in the
// caller's trace, from the input's validation to the model's answer. The
// log's write has a span of its own beside it (the store's). Spans name the
// model's version and the outcome, never the input or the answer.
func WithTracing(tp trace.TracerProvider) Option {
	return func(s *Service) { s.tracer = tp.Tracer("github.com/mlapi/mlapi/internal/prediction") }
}

// NewService returns a Service answering with m and logging to log.
func NewService(m Model, log Log, opts ...Option) *Service {
	info := m.Info()
	features := make([]string, len(info.Features))
	for i, f := range info.Features {
		features[i] = f.Name
	}
	sorted := slices.Clone(features)
	slices.Sort(sorted)
	s := &Service{model: m, log: log, version: info.Version, features: features, sortedFeatures: sorted}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// startEvaluation starts the span of an evaluation, nil when tracing is
// off (so that off costs nothing, not even a no-op span's attributes).
func (s *Service) startEvaluation(ctx context.Context) trace.Span {
	if s.tracer == nil {
		return nil
	}
	_, span := s.tracer.Start(ctx, "model.evaluate", trace.WithAttributes(attribute.String("mlapi.model.version", s.version)))
	return span
}

// endEvaluation ends span, if any, with the evaluation's outcome.
func endEvaluation(span trace.Span, status store.Status) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.String("mlapi.prediction.status", string(status)))
	span.End()
}

// Result is a logged prediction. The explanation is computed on first use
// only, since most callers never ask for it.
type Result struct {
	ID           int64
	RequestID    int64
	YhatProb     float32
	Yhat         int
	Margin       float32
	ModelVersion string
	CreatedAt    time.Time

	// logged is the request as it was written, with its response.
	logged       store.Request
	features     []float64
	featureNames []string
	model        Model
	explainOnce  sync.Once
	explanation  model.Explanation
}

// Request returns the logged request with this prediction as its response,
// as the user's history will list it.
func (r *Result) Request() store.Request { return r.logged }

// FeatureNames lists the features of the model that answered, in the order
// of Explanation().Contributions. The caller must not change it.
func (r *Result) FeatureNames() []string { return r.featureNames }

// Explanation returns the exact TreeSHAP contributions of the prediction.
func (r *Result) Explanation() model.Explanation {
	r.explainOnce.Do(func() { r.explanation = r.model.Explain(r.features) })
	return r.explanation
}

// FeatureNames lists the model's features in the order of
// Explanation().Contributions.
func (s *Service) FeatureNames() []string {
	return slices.Clone(s.features)
}

// Predict validates input (keyed by the model's feature names), predicts,
// and logs the request and response in one step before returning. When
// logging fails, it returns the error and no result. Input that fails
// validation is logged too, and the caller gets a BAD_USER_INPUT error
// wrapping the *model.ValidationError that names the offending fields (at
// most model.MaxFieldErrors of them, the rest counted).
func (s *Service) Predict(ctx context.Context, userID int64, input map[string]any) (*Result, error) {
	return s.PredictReceived(ctx, userID, input, input)
}

// PredictReceived is Predict, logging the input as the client sent it.
// input is the client's input as decoded, which the model validates.
// received holds the values the client sent (json.Number for numbers, with
// their text), keyed like input. The request row keeps received, bounded
// by MaxStoredInput, so the log shows 130.00001 where the client sent it,
// whatever input holds.
func (s *Service) PredictReceived(ctx context.Context, userID int64, input, received map[string]any) (*Result, error) {
	names := s.features
	logged := encodeReceived(received, s.sortedFeatures)
	span := s.startEvaluation(ctx)
	features, validationErr := s.model.Validate(input)
	if validationErr != nil {
		endEvaluation(span, store.StatusInvalidInput)
		var verr *model.ValidationError
		if !errors.As(validationErr, &verr) {
			return nil, validationErr
		}
		return nil, s.logRefusal(ctx, userID, logged, verr)
	}
	p := s.model.Predict(features)
	endEvaluation(span, store.StatusOK)
	prob := float64(p.Probability)
	label := p.Label
	output, err := json.Marshal(seedOutputOf(p.Probability, p.Label))
	if err != nil {
		return nil, err
	}
	entry := store.PredictionLog{
		UserID:       userID,
		Input:        logged,
		Output:       output,
		YhatProb:     &prob,
		Yhat:         &label,
		ModelVersion: s.version,
		Status:       store.StatusOK,
	}
	row, err := s.log.LogPrediction(ctx, entry)
	if err != nil {
		return nil, err
	}
	return &Result{
		logged:       entry.Logged(row),
		ID:           row.ResponseID,
		RequestID:    row.RequestID,
		YhatProb:     p.Probability,
		Yhat:         p.Label,
		Margin:       p.Margin,
		ModelVersion: s.version,
		CreatedAt:    row.CreatedAt,
		features:     features,
		featureNames: names,
		model:        s.model,
	}, nil
}

// Refuse logs an input that the API refused before it reached Predict, and
// returns the same BAD_USER_INPUT error Predict would. problems are what
// the API's own typing found (a GraphQL Boolean given a number, a field the
// API does not have). The error names them and every other problem the
// model's validation finds in input (keyed by feature names); the caller's
// problem with a feature replaces the model's with it. When neither finds
// anything wrong, Refuse logs nothing and returns nil: the caller's typing
// and the model disagree, and the caller should report its own error.
func (s *Service) Refuse(ctx context.Context, userID int64, input map[string]any, problems []model.FieldError) error {
	return s.RefuseReceived(ctx, userID, input, input, problems)
}

// RefuseReceived is Refuse logging received, the input as the client sent
// it, as PredictReceived does.
func (s *Service) RefuseReceived(ctx context.Context, userID int64, input, received map[string]any, problems []model.FieldError) error {
	found := slices.Clone(problems)
	if _, err := s.model.Validate(input); err != nil {
		var verr *model.ValidationError
		if !errors.As(err, &verr) {
			return err
		}
		for _, f := range verr.Fields {
			replaced := slices.ContainsFunc(problems, func(p model.FieldError) bool {
				return p.Field == f.Field && (p.Reason != model.ReasonUnknown || f.Reason == model.ReasonUnknown)
			})
			if !replaced {
				found = append(found, f)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b model.FieldError) int {
		return cmp.Or(strings.Compare(a.Field, b.Field), strings.Compare(string(a.Reason), string(b.Reason)))
	})
	return s.logRefusal(ctx, userID, encodeReceived(received, s.sortedFeatures), &model.ValidationError{Fields: found})
}

// seedOutput is the Python app's response body, kept as responses.output so
// that existing inspection queries still read the same shape.
type seedOutput struct {
	YhatProb string `json:"yhat_prob"`
	Yhat     string `json:"yhat"`
}

// seedOutputOf is a prediction as the Python app wrote it.
func seedOutputOf(probability float32, label int) seedOutput {
	return seedOutput{YhatProb: formatProbability(probability), Yhat: strconv.Itoa(label)}
}

// SeedOutput returns the prediction's yhat_prob and yhat as the Python app
// wrote them, and as responses.output keeps them: "0.5124506" and "1".
func (r *Result) SeedOutput() (yhatProb, yhat string) {
	out := seedOutputOf(r.YhatProb, r.Yhat)
	return out.YhatProb, out.Yhat
}

// refusalOutput is what responses.output holds for a refused input: the
// error the client was given, with every offending field.
type refusalOutput struct {
	Error struct {
		Code    apperr.Code        `json:"code"`
		Message string             `json:"message"`
		Fields  []model.FieldError `json:"fields"`
		// OmittedFields counts the offending fields not listed.
		OmittedFields int `json:"omitted_fields,omitempty"`
	} `json:"error"`
}

// logRefusal logs a refused input and returns the error for the client.
// Both name at most model.MaxFieldErrors fields, each bounded, and count
// the others, so that an input of thousands of unknown fields writes and
// answers a few kilobytes.
func (s *Service) logRefusal(ctx context.Context, userID int64, received json.RawMessage, verr *model.ValidationError) error {
	verr = verr.Bounded(model.MaxFieldErrors)
	message := invalidInputMessage
	if verr.Omitted > 0 {
		message = fmt.Sprintf("%s: the first %d are listed, %d more are not", invalidInputMessage, len(verr.Fields), verr.Omitted)
	}
	var refusal refusalOutput
	refusal.Error.Code, refusal.Error.Message, refusal.Error.Fields = apperr.Invalid, message, verr.Fields
	refusal.Error.OmittedFields = verr.Omitted
	output, err := json.Marshal(refusal)
	if err != nil {
		return err
	}
	code := string(apperr.Invalid)
	if _, err := s.log.LogPrediction(ctx, store.PredictionLog{
		UserID:       userID,
		Input:        received,
		Output:       output,
		ModelVersion: s.version,
		Status:       store.StatusInvalidInput,
		ErrorCode:    &code,
	}); err != nil {
		return err
	}
	return apperr.Wrap(apperr.Invalid, message, verr)
}

const invalidInputMessage = "the input has invalid fields"

// formatProbability renders a probability at float32 precision, the
// precision XGBoost computes it in (0.5124506, not 0.5124505758285522).
func formatProbability(p float32) string {
	return strconv.FormatFloat(float64(p), 'g', -1, 32)
}

// Page is one page of a user's history.
type Page struct {
	Requests                     []store.Request
	Cursors                      []string
	TotalCount                   int
	HasNextPage, HasPreviousPage bool
}

// Page sizes of History, those of every paged list (see paging.Size).
const (
	// MaxPageSize bounds how many requests one page returns.
	MaxPageSize = paging.MaxSize
	// DefaultPageSize is the page a client that names neither first nor
	// last gets.
	DefaultPageSize = paging.DefaultSize
	// MaxModelVersion bounds filter.modelVersion: no served version comes
	// near it, and a longer one is a mistake, not a search.
	MaxModelVersion = 256
)

// HistoryQuery is one page of a user's history as a Relay connection asks
// for it.
type HistoryQuery struct {
	// First (1 to MaxPageSize) pages forward from After; Last pages
	// backward from Before. Not both; with neither, the first
	// DefaultPageSize.
	First, Last *int
	// After and Before are cursors from an earlier page; empty is none.
	// Either bounds a page of either direction.
	After, Before string
	// Since is an older spelling of Filter.From: with both, the later
	// wins, as keeping both conditions would.
	Since  *time.Time
	Filter store.RequestFilter
	// Order is the history's order; empty is store.NewestFirst.
	Order store.Order
}

// History returns one page of the user's requests that match q. Cursors
// name a request by its id (see EncodeCursor): every read is of the
// caller's own rows, so another user's cursor only positions the page
// among the caller's requests, and reveals nothing.
func (s *Service) History(ctx context.Context, userID int64, q HistoryQuery) (Page, error) {
	pq, err := pageQuery(q)
	if err != nil {
		return Page{}, err
	}
	page, err := s.log.ListRequests(ctx, userID, pq)
	if err != nil {
		return Page{}, err
	}
	cursors := make([]string, len(page.Requests))
	for i, r := range page.Requests {
		cursors[i] = EncodeCursor(r.ID)
	}
	return Page{
		Requests: page.Requests, Cursors: cursors, TotalCount: page.TotalCount,
		HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage,
	}, nil
}

// pageQuery checks q and turns it into the store's query.
func pageQuery(q HistoryQuery) (store.PageQuery, error) {
	pq := store.PageQuery{Order: q.Order}
	var err error
	switch {
	case q.First != nil && q.Last != nil:
		return pq, apperr.New(apperr.Invalid, "first and last cannot both be given: first pages forward, last backward")
	case q.Last != nil:
		pq.Size, err = paging.Size(q.Last, "last")
		pq.Backward = true
	default:
		pq.Size, err = paging.Size(q.First, "first")
	}
	if err != nil {
		return pq, err
	}
	switch q.Order {
	case "", store.NewestFirst, store.OldestFirst:
	default:
		return pq, apperr.New(apperr.Invalid, "orderBy must be NEWEST_FIRST or OLDEST_FIRST")
	}
	if q.After != "" {
		if pq.AfterID, err = decodeCursor(q.After, "after"); err != nil {
			return pq, err
		}
	}
	if q.Before != "" {
		if pq.BeforeID, err = decodeCursor(q.Before, "before"); err != nil {
			return pq, err
		}
	}
	pq.Filter = q.Filter
	if q.Since != nil && (pq.Filter.From == nil || q.Since.After(*pq.Filter.From)) {
		pq.Filter.From = q.Since
	}
	if err := ValidateFilter(pq.Filter); err != nil {
		return pq, err
	}
	return pq, nil
}

// ValidateFilter refuses a filter that cannot mean what its client wants,
// with a BAD_USER_INPUT naming the field: a probability outside [0, 1], a
// minimum above the maximum, a yhat other than 0 or 1, an empty time range,
// an unknown status or an overlong model version.
func ValidateFilter(f store.RequestFilter) error {
	bad := func(message string) error { return apperr.New(apperr.Invalid, "filter."+message) }
	for _, p := range []struct {
		name  string
		value *float64
	}{{"minProbability", f.MinProbability}, {"maxProbability", f.MaxProbability}} {
		if p.value != nil && !(*p.value >= 0 && *p.value <= 1) {
			return bad(p.name + " must be between 0 and 1")
		}
	}
	if f.MinProbability != nil && f.MaxProbability != nil && *f.MinProbability > *f.MaxProbability {
		return bad("minProbability must not exceed filter.maxProbability")
	}
	if f.Yhat != nil && *f.Yhat != 0 && *f.Yhat != 1 {
		return bad("yhat must be 0 or 1")
	}
	if f.From != nil && f.Until != nil && !f.From.Before(*f.Until) {
		return bad("until must be after filter.from")
	}
	if f.Status != nil && *f.Status != store.StatusOK && *f.Status != store.StatusInvalidInput {
		return bad("status must be OK or INVALID_INPUT")
	}
	if f.ModelVersion != nil && len(*f.ModelVersion) > MaxModelVersion {
		return bad("modelVersion must be at most " + strconv.Itoa(MaxModelVersion) + " bytes")
	}
	return nil
}

// Explanation returns the exact TreeSHAP explanation of a logged response,
// recomputed from its request's logged input: the same numbers Predict's
// Result gave when it answered. ok is false, with no error, when there is
// nothing to explain: no prediction was made, or the model version that
// answered is not the one served now (another model's contributions would
// not explain this answer). The input comes with resp when the read that
// returned it had it (a history page), and is read otherwise.
func (s *Service) Explanation(ctx context.Context, userID int64, resp *store.Response) (explanation model.Explanation, ok bool, err error) {
	if resp == nil || resp.Status != store.StatusOK || resp.ModelVersion != s.version {
		return model.Explanation{}, false, nil
	}
	input := resp.RequestInput()
	if input == nil {
		req, err := s.log.Request(ctx, userID, resp.RequestID)
		if err != nil {
			return model.Explanation{}, false, err
		}
		input = req.Input
	}
	// Numbers as the client wrote them, parsed as the model parses them
	// when it predicts, so the features are the same float64s.
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return model.Explanation{}, false, fmt.Errorf("response %d: logged input: %w", resp.ID, err)
	}
	x, err := s.model.Validate(fields)
	if err != nil {
		// The same model accepted it once: the log no longer holds what it answered.
		return model.Explanation{}, false, fmt.Errorf("response %d: logged input no longer validates: %w", resp.ID, err)
	}
	return s.model.Explain(x), true, nil
}

// Request returns one of the user's own requests; another user's request is
// reported as not found.
func (s *Service) Request(ctx context.Context, userID, requestID int64) (store.Request, error) {
	return s.log.Request(ctx, userID, requestID)
}

// Response returns one of the user's own responses; another user's response
// is reported as not found.
func (s *Service) Response(ctx context.Context, userID, responseID int64) (store.Response, error) {
	return s.log.Response(ctx, userID, responseID)
}
