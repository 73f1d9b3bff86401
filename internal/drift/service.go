package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
)

// Inputs is where the served inputs come from.
type Inputs interface {
	// EachServedInput calls fn with the input (a JSON object keyed by the
	// model's feature names) of every request created in [from, until)
	// that got a prediction, and stops at fn's first error.
	EachServedInput(ctx context.Context, from, until time.Time, fn func(input json.RawMessage) error) error
}

// DefaultWindow is the range a report covers when none is given: the last
// 7 days.
const DefaultWindow = 7 * 24 * time.Hour

// MaxWindow bounds the range of one report: the inputs are read one by one
// (in constant memory), so the range bounds the time a report takes.
const MaxWindow = 366 * 24 * time.Hour

// Service reports the drift of the served inputs against a reference.
type Service struct {
	inputs    Inputs
	reference *Reference
	now       func() time.Time
}

// NewService returns a Service comparing what inputs holds with reference,
// which may be nil (the model ships none: every report is nil).
func NewService(inputs Inputs, reference *Reference) *Service {
	return &Service{inputs: inputs, reference: reference, now: time.Now}
}

// Report is the drift of the inputs served in [From, Until).
type Report struct {
	From, Until time.Time
	// Count is the inputs that got a prediction in the range.
	Count    int
	Features []FeatureReport
}

// FeatureReport is one feature's drift.
type FeatureReport struct {
	FeatureReference
	// Actual holds the served inputs' shares of the reference's bins, all
	// 0 when no served input had the feature.
	Actual []float64
	// Values is how many served inputs had the feature (missing values
	// are not binned).
	Values int
	// PSI is nil when Values is 0.
	PSI *float64
}

// Report measures the inputs served from from (default: until less
// DefaultWindow) until until (default: now), reading them one at a time. It
// is nil, with no error, when there is no reference. A range that ends
// before it starts, or spans more than MaxWindow, is BAD_USER_INPUT naming
// the argument.
func (s *Service) Report(ctx context.Context, from, until *time.Time) (*Report, error) {
	if s.reference == nil {
		return nil, nil
	}
	r := Report{Until: s.now().UTC()}
	if until != nil {
		r.Until = until.UTC()
	}
	r.From = r.Until.Add(-DefaultWindow)
	if from != nil {
		r.From = from.UTC()
	}
	switch {
	case !r.From.Before(r.Until):
		return nil, apperr.New(apperr.Invalid, "until must be after from")
	case r.Until.Sub(r.From) > MaxWindow:
		return nil, apperr.New(apperr.Invalid, "from: the range must not exceed 366 days")
	}

	counts := make([][]int, len(s.reference.Features))
	values := make([]int, len(s.reference.Features))
	for i, f := range s.reference.Features {
		counts[i] = make([]int, len(f.Shares))
	}
	err := s.inputs.EachServedInput(ctx, r.From, r.Until, func(input json.RawMessage) error {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(input, &fields); err != nil {
			return fmt.Errorf("drift: a served input is not a JSON object: %w", err)
		}
		r.Count++
		for i, f := range s.reference.Features {
			if x, ok := number(fields[f.Name]); ok {
				counts[i][f.Bin(x)]++
				values[i]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Features = make([]FeatureReport, len(s.reference.Features))
	for i, f := range s.reference.Features {
		fr := FeatureReport{FeatureReference: f, Actual: make([]float64, len(f.Shares)), Values: values[i]}
		if values[i] > 0 {
			for j, n := range counts[i] {
				fr.Actual[j] = float64(n) / float64(values[i])
			}
			psi := PSI(f.Shares, fr.Actual)
			fr.PSI = &psi
		}
		r.Features[i] = fr
	}
	return &r, nil
}

// number reads a stored input value: a JSON number (or its text in a
// string, as a value the client sent as text), or a boolean as 0 or 1.
// Anything else, null or absent is missing.
func number(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return 0, false
	case string(raw) == "true":
		return 1, true
	case string(raw) == "false":
		return 0, true
	case raw[0] == '"':
		var text string
		if json.Unmarshal(raw, &text) != nil {
			return 0, false
		}
		raw = json.RawMessage(text)
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}
