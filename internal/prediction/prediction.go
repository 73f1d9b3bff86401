// Package prediction answers prediction requests with the served model and
// keeps the audit log: no prediction leaves the service unless its request
// and response rows are committed first.
package prediction

import (
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

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/model"
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
}

// Service predicts and reads back a user's history.
type Service struct {
	model   Model
	log     Log
	version string
}

// NewService returns a Service answering with m and logging to log.
func NewService(m Model, log Log) *Service {
	return &Service{model: m, log: log, version: m.Info().Version}
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
	logged      store.Request
	features    []float64
	model       Model
	explainOnce sync.Once
	explanation model.Explanation
}

// Request returns the logged request with this prediction as its response,
// as the user's history will list it.
func (r *Result) Request() store.Request { return r.logged }

// Explanation returns the exact TreeSHAP contributions of the prediction.
func (r *Result) Explanation() model.Explanation {
	r.explainOnce.Do(func() { r.explanation = r.model.Explain(r.features) })
	return r.explanation
}

// FeatureNames lists the model's features in the order of
// Explanation().Contributions.
func (s *Service) FeatureNames() []string {
	features := s.model.Info().Features
	names := make([]string, len(features))
	for i, f := range features {
		names[i] = f.Name
	}
	return names
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
	logged := encodeReceived(received, s.FeatureNames())
	features, validationErr := s.model.Validate(input)
	if validationErr != nil {
		var verr *model.ValidationError
		if !errors.As(validationErr, &verr) {
			return nil, validationErr
		}
		return nil, s.logRefusal(ctx, userID, logged, verr)
	}
	p := s.model.Predict(features)
	prob := float64(p.Probability)
	label := p.Label
	output, err := json.Marshal(seedOutput{YhatProb: formatProbability(p.Probability), Yhat: strconv.Itoa(p.Label)})
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
	return s.logRefusal(ctx, userID, encodeReceived(received, s.FeatureNames()), &model.ValidationError{Fields: found})
}

// seedOutput is the Python app's response body, kept as responses.output so
// that existing inspection queries still read the same shape.
type seedOutput struct {
	YhatProb string `json:"yhat_prob"`
	Yhat     string `json:"yhat"`
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
	Requests    []store.Request
	Cursors     []string
	TotalCount  int
	HasNextPage bool
}

// Page sizes of History. The store clamps every page to its MaxPageSize,
// so that is the one source of the maximum. History refuses a larger first
// rather than answering a shorter page than asked.
const (
	// MaxPageSize bounds how many requests one page returns.
	MaxPageSize = store.MaxPageSize
	// DefaultPageSize is the page a client that names no size gets. The
	// schema repeats it as the default of requests(first:), which cannot
	// refer to a Go constant; a graph test keeps the two equal.
	DefaultPageSize = 20
)

// History returns the user's requests, newest first, after the given cursor
// and created at or after since.
func (s *Service) History(ctx context.Context, userID int64, first int, after string, since *time.Time) (Page, error) {
	if first < 1 || first > MaxPageSize {
		return Page{}, apperr.New(apperr.Invalid, "first must be between 1 and "+strconv.Itoa(MaxPageSize))
	}
	q := store.PageQuery{First: first, Since: since}
	if after != "" {
		id, err := DecodeCursor(after)
		if err != nil {
			return Page{}, err
		}
		q.AfterID = id
	}
	page, err := s.log.ListRequests(ctx, userID, q)
	if err != nil {
		return Page{}, err
	}
	cursors := make([]string, len(page.Requests))
	for i, r := range page.Requests {
		cursors[i] = EncodeCursor(r.ID)
	}
	return Page{Requests: page.Requests, Cursors: cursors, TotalCount: page.TotalCount, HasNextPage: page.HasNextPage}, nil
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
