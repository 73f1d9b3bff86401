// Package stats computes the figures a front-end charts from a user's
// history: totals, one row per time bucket in the user's time zone, and a
// histogram of the predicted probabilities. The database does the adding
// up; this package decides the buckets, since SQLite has no time zones.
package stats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

// Store is the storage the figures come from.
type Store interface {
	StatsTotals(ctx context.Context, userID int64, f store.RequestFilter) (store.StatsTotals, error)
	StatsBuckets(ctx context.Context, userID int64, f store.RequestFilter, bounds []time.Time) ([]store.BucketFigures, error)
	StatsHistogram(ctx context.Context, userID int64, f store.RequestFilter) ([store.HistogramBins]int, error)
}

// Service computes a user's chart figures.
type Service struct {
	store Store
}

// NewService returns a Service reading from s.
func NewService(s Store) *Service { return &Service{store: s} }

// Query is what to chart.
type Query struct {
	Filter store.RequestFilter
	Bucket Bucket
	// TimeZone is an IANA name such as Europe/Paris; empty means UTC.
	TimeZone string
}

// Stats are the figures of a chart.
type Stats struct {
	Totals store.Figures
	// Buckets hold a request each, oldest first.
	Buckets []store.BucketFigures
	// Histogram counts predictions in bins of width 0.1: bin i holds
	// [i/10, (i+1)/10), the last one 1 as well.
	Histogram [store.HistogramBins]int
}

// Stats returns the figures of the user's requests that q.Filter keeps, in
// three statements (totals, buckets, histogram) that each see the database
// as it is then: a request logged meanwhile may show in one and not in
// another. Bad input is BAD_USER_INPUT naming the field.
func (s *Service) Stats(ctx context.Context, userID int64, q Query) (Stats, error) {
	// The same rules as the history's, so a filter means one thing.
	if err := prediction.ValidateFilter(q.Filter); err != nil {
		return Stats{}, err
	}
	loc := time.UTC
	if q.TimeZone != "" {
		var err error
		// LoadLocation also takes "Local" and file paths' syntax; only
		// IANA names are documented, and "Local" would leak the server's.
		if q.TimeZone == "Local" {
			return Stats{}, apperr.New(apperr.Invalid, "timeZone must be an IANA time zone name such as Europe/Paris")
		}
		if loc, err = time.LoadLocation(q.TimeZone); err != nil {
			return Stats{}, apperr.New(apperr.Invalid, "timeZone must be an IANA time zone name such as Europe/Paris")
		}
	}
	switch q.Bucket {
	case Hour, Day, Week:
	default:
		return Stats{}, apperr.New(apperr.Invalid, "bucket must be HOUR, DAY or WEEK")
	}

	totals, err := s.store.StatsTotals(ctx, userID, q.Filter)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{Totals: totals.Figures, Buckets: []store.BucketFigures{}}
	if totals.Requests == 0 {
		return out, nil
	}
	bounds, err := Bounds(q.Bucket, loc, totals.First, totals.Last)
	if errors.Is(err, errTooManyBuckets) {
		return Stats{}, apperr.New(apperr.Invalid, fmt.Sprintf(
			"bucket: the requests span more than %d buckets; narrow filter.from and filter.until or use a longer bucket", MaxBuckets))
	}
	if err != nil {
		return Stats{}, fmt.Errorf("stats buckets: %w", err)
	}
	if out.Buckets, err = s.store.StatsBuckets(ctx, userID, q.Filter, bounds); err != nil {
		return Stats{}, err
	}
	if totals.OK > 0 {
		if out.Histogram, err = s.store.StatsHistogram(ctx, userID, q.Filter); err != nil {
			return Stats{}, err
		}
	}
	return out, nil
}
