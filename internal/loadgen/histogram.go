package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets, so that its memory is
// fixed (about 57 KiB) whatever it records: below 256 ns every nanosecond
// has a bucket of its own; above, each power of two is cut into 128 equal
// buckets, so a bucket is at most 1/128 of the values it holds wide.
// Quantile answers with the middle of a bucket, hence within 1/256 (0.4%)
// of the recorded value it stands for. The extremes are kept exactly.
//
// The zero Histogram is empty and ready to use. It is not safe for
// concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts   [numBuckets]int64
	n        int64
	min, max int64
}

const (
	// subBits is the number of bits after a value's leading one that its
	// bucket keeps.
	subBits = 7
	// subCount is the number of buckets per power of two.
	subCount = 1 << subBits
	// numBuckets covers every non-negative int64: the exact buckets below
	// 2*subCount, then subCount per power of two up to 2^63.
	numBuckets = (64 - subBits) * subCount
)

// bucketOf returns the bucket that holds v (v >= 0).
func bucketOf(v int64) int {
	if v < 2*subCount {
		return int(v)
	}
	// v>>shift keeps v's leading one and the subBits bits after it: a
	// number in [subCount, 2*subCount).
	shift := bits.Len64(uint64(v)) - subBits - 1
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketBounds returns the smallest value bucket i holds and its width.
func bucketBounds(i int) (lower, width int64) {
	if i < 2*subCount {
		return int64(i), 1
	}
	shift := i/subCount - 1
	return int64(i%subCount+subCount) << shift, 1 << shift
}

// Record counts one duration; a negative one counts as 0.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
}

// Merge adds o's counts to h's.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
}

// Max is the longest duration recorded, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the q-quantile (0 <= q <= 1) by the nearest-rank
// definition, the ceil(q*n)-th smallest duration recorded (the smallest for
// q = 0), to within 1/256 of it, and never outside the shortest and longest
// recorded: so a higher q never gets a lower quantile, nor one above Max. It is 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(min(max(q, 0), 1) * float64(h.n)))
	rank = max(rank, 1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lower, width := bucketBounds(i)
			mid := lower + width/2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
