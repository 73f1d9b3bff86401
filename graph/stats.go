package graph

import (
	"context"
	"errors"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/stats"
	"github.com/mlapi/mlapi/internal/store"
)

// statsCost prices me.stats: three aggregate statements whose bucket count
// is only known once the first has run (at most stats.MaxBuckets).
const statsCost = 100

// WithStats serves me.stats from s.
func WithStats(s *stats.Service) ResolverOption {
	return func(r *Resolver) { r.charts = s }
}

// stats answers me.stats for the caller (obj is always the caller).
func (r *Resolver) stats(ctx context.Context, obj *gqlmodel.Viewer, filter *store.RequestFilter, bucket *gqlmodel.TimeBucket, timeZone *string) (*gqlmodel.PredictionStats, error) {
	if r.charts == nil {
		return nil, errors.New("stats: no stats service configured")
	}
	q := stats.Query{Bucket: stats.Day}
	if filter != nil {
		q.Filter = *filter
	}
	if bucket != nil {
		q.Bucket = map[gqlmodel.TimeBucket]stats.Bucket{
			gqlmodel.TimeBucketHour: stats.Hour, gqlmodel.TimeBucketDay: stats.Day, gqlmodel.TimeBucketWeek: stats.Week,
		}[*bucket]
	}
	if timeZone != nil {
		q.TimeZone = *timeZone
	}
	s, err := r.charts.Stats(ctx, obj.ID, q)
	if err != nil {
		return nil, err
	}
	out := &gqlmodel.PredictionStats{
		Totals:    toFigures(s.Totals),
		Buckets:   make([]gqlmodel.StatsBucket, len(s.Buckets)),
		Histogram: make([]gqlmodel.HistogramBin, len(s.Histogram)),
	}
	for i, b := range s.Buckets {
		out.Buckets[i] = gqlmodel.StatsBucket{Start: b.Start, End: b.End, Figures: toFigures(b.Figures)}
	}
	for i, n := range s.Histogram {
		out.Histogram[i] = gqlmodel.HistogramBin{Lower: float32(i) / 10, Upper: float32(i+1) / 10, Count: n}
	}
	return out, nil
}

func toFigures(f store.Figures) *gqlmodel.PredictionFigures {
	return &gqlmodel.PredictionFigures{
		Requests: f.Requests, Ok: f.OK, Refused: f.Refused, Positives: f.Positives,
		MeanProbability: toFloat32(f.MeanProbability()),
		MinProbability:  toFloat32(f.MinProbability),
		MaxProbability:  toFloat32(f.MaxProbability),
	}
}
