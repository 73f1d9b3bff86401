package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// nearestRank is the q-quantile of sorted by the nearest-rank definition
// Quantile follows.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	rank := int(q * float64(len(sorted)))
	if float64(rank) < q*float64(len(sorted)) {
		rank++
	}
	return sorted[max(rank, 1)-1]
}

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	generate := func(n int, f func(i int) time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name   string
		values []time.Duration
	}{
		{"one value", []time.Duration{3 * time.Millisecond}},
		{"the exact buckets, below 256 ns", generate(1000, func(i int) time.Duration { return time.Duration(i % 256) })},
		{"uniform, 1 ns to 100 µs", generate(100000, func(i int) time.Duration { return time.Duration(i + 1) })},
		{"every power of two and its neighbours", generate(3*62, func(i int) time.Duration { return time.Duration(int64(1)<<(i/3+1) + int64(i%3) - 1) })},
		{"log-uniform, 10 µs to 10 s", generate(50000, func(int) time.Duration {
			return time.Duration(1e4 * math.Pow(10, 6*rng.Float64()))
		})},
		{"latencies with a long tail", generate(20000, func(i int) time.Duration {
			if i%100 == 0 {
				return time.Duration(rng.Int64N(int64(2 * time.Second)))
			}
			return time.Millisecond + time.Duration(rng.NormFloat64()*float64(100*time.Microsecond))
		})},
		{"zero and negative count as 0", []time.Duration{0, -5, 0, 7}},
		{"the largest duration", []time.Duration{1, time.Duration(1<<63 - 1)}},
	}
	quantiles := []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h Histogram
			sorted := make([]time.Duration, len(tt.values))
			for i, v := range tt.values {
				h.Record(v)
				sorted[i] = max(v, 0)
			}
			slices.Sort(sorted)
			if h.n != int64(len(sorted)) || h.Max() != sorted[len(sorted)-1] {
				t.Errorf("count %d max %v, want %d and %v", h.n, h.Max(), len(sorted), sorted[len(sorted)-1])
			}
			var last time.Duration
			for _, q := range quantiles {
				want, got := nearestRank(sorted, q), h.Quantile(q)
				// The stated precision: within 1/256 of the value.
				if diff := max(got-want, want-got); diff > want/256 {
					t.Errorf("quantile %v = %v, want %v within %v", q, got, want, want/256)
				}
				if got < last {
					t.Errorf("quantile %v = %v, below the one before, %v", q, got, last)
				}
				last = got
			}
		})
	}
}

func TestHistogramMergeIsRecordingAll(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	var all, merged Histogram
	parts := make([]Histogram, 4)
	for i := range 10000 {
		v := time.Duration(rng.Int64N(int64(time.Second)))
		all.Record(v)
		parts[i%len(parts)].Record(v)
	}
	merged.Merge(&Histogram{}) // an empty one changes nothing
	for i := range parts {
		merged.Merge(&parts[i])
	}
	if merged != all {
		t.Errorf("merged: count %d max %v; recorded: count %d max %v", merged.n, merged.Max(), all.n, all.Max())
	}
}

func TestHistogramEmpty(t *testing.T) {
	t.Parallel()
	var h Histogram
	if h.n != 0 || h.Max() != 0 || h.Quantile(0.5) != 0 {
		t.Errorf("empty histogram: count %d max %v p50 %v", h.n, h.Max(), h.Quantile(0.5))
	}
}

// TestBuckets: every value lies in its bucket, the buckets tile the values
// without gaps, and none is wider than 1/128 of the values it holds.
func TestBuckets(t *testing.T) {
	t.Parallel()
	next := int64(0)
	for i := range numBuckets {
		lower, width := bucketBounds(i)
		if lower != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lower, next)
		}
		if width > 1 && width > lower/subCount {
			t.Fatalf("bucket %d: width %d for values from %d", i, width, lower)
		}
		for _, v := range []int64{lower, lower + width/2, lower + width - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("value %d in bucket %d, want %d", v, got, i)
			}
		}
		next = lower + width
	}
	if next != -1<<63 { // the last bucket ends at 2^63, which overflows
		t.Errorf("the buckets end at %d", next)
	}
}
