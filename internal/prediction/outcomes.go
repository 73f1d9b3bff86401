package prediction

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/metrics"
	"github.com/mlapi/mlapi/internal/store"
)

// OutcomeLog is the storage of outcomes, part of Log.
type OutcomeLog interface {
	RecordOutcome(ctx context.Context, userID, requestID int64, outcome bool, observedAt time.Time) (store.Outcome, error)
	Outcome(ctx context.Context, userID, requestID int64) (store.Outcome, bool, error)
	ScoredOutcomes(ctx context.Context, userID int64, f store.RequestFilter, fn func(store.ScoredOutcome) error) error
}

// ClockSkew is how far in the future an observed time may be: a client's
// clock a little ahead of the server's must not make "it happened just now"
// a refusal.
const ClockSkew = time.Minute

// RecordOutcome records what really happened for one of the user's
// requests: outcome true when the event occurred, observed at observedAt
// (now when nil). Recording again replaces the outcome and its observed
// time. observedAt may be at most ClockSkew in the future and not before the
// request was made (BAD_USER_INPUT naming observedAt). Another user's
// request is NOT_FOUND, like one that does not exist; a missing or disabled
// user is store.ErrUserNotFound.
func (s *Service) RecordOutcome(ctx context.Context, userID, requestID int64, outcome bool, observedAt *time.Time) (store.Outcome, error) {
	at := time.Now()
	if observedAt != nil {
		if observedAt.After(at.Add(ClockSkew)) {
			return store.Outcome{}, apperr.New(apperr.Invalid, "observedAt may not be in the future")
		}
		at = *observedAt
	}
	req, err := s.log.Request(ctx, userID, requestID)
	if err != nil {
		return store.Outcome{}, err
	}
	// The request's time is whole microseconds, so truncating at to the
	// microseconds the database keeps cannot take it below.
	if at.Before(req.CreatedAt) {
		return store.Outcome{}, apperr.New(apperr.Invalid, "observedAt may not be before the request was made")
	}
	return s.log.RecordOutcome(ctx, userID, requestID, outcome, at)
}

// Outcome returns the outcome recorded for one of the user's requests, and
// whether there is one.
func (s *Service) Outcome(ctx context.Context, userID, requestID int64) (store.Outcome, bool, error) {
	return s.log.Outcome(ctx, userID, requestID)
}

// VersionPerformance is the performance of one model version.
type VersionPerformance struct {
	ModelVersion string
	metrics.Performance
}

// Performance returns how well the model did on the user's predictions that
// match f and have an outcome, over every model version that answered them.
// The rows are streamed from the database in order of probability and only
// counters are kept, so any number can be read; the time it takes is
// bounded by the request's deadline.
func (s *Service) Performance(ctx context.Context, userID int64, f store.RequestFilter) (metrics.Performance, error) {
	if err := ValidateFilter(f); err != nil {
		return metrics.Performance{}, err
	}
	var acc metrics.Accumulator
	err := s.log.ScoredOutcomes(ctx, userID, f, func(r store.ScoredOutcome) error {
		return acc.Add(sample(r))
	})
	if err != nil {
		return metrics.Performance{}, err
	}
	return acc.Result(), nil
}

// ModelPerformance returns, for every model version, how well it did on the
// predictions of any user that match f and have an outcome, the version that
// answered most recently first. Only versions with such predictions are
// listed. The rows are streamed and only counters are kept, per version:
// each version's rows are in order of probability since all rows are.
func (s *Service) ModelPerformance(ctx context.Context, f store.RequestFilter) ([]VersionPerformance, error) {
	if err := ValidateFilter(f); err != nil {
		return nil, err
	}
	type version struct {
		name   string
		latest int64 // the largest request id: request ids grow with time
		acc    metrics.Accumulator
	}
	byName := map[string]*version{}
	err := s.log.ScoredOutcomes(ctx, 0, f, func(r store.ScoredOutcome) error {
		v := byName[r.ModelVersion]
		if v == nil {
			v = &version{name: r.ModelVersion}
			byName[r.ModelVersion] = v
		}
		v.latest = max(v.latest, r.RequestID)
		return v.acc.Add(sample(r))
	})
	if err != nil {
		return nil, err
	}
	versions := slices.Collect(maps.Values(byName))
	slices.SortFunc(versions, func(a, b *version) int { return cmp.Compare(b.latest, a.latest) })
	out := make([]VersionPerformance, len(versions))
	for i, v := range versions {
		out[i] = VersionPerformance{ModelVersion: v.name, Performance: v.acc.Result()}
	}
	return out, nil
}

func sample(r store.ScoredOutcome) metrics.Sample {
	return metrics.Sample{Prob: r.YhatProb, Pred: r.Yhat, Label: r.Outcome}
}
