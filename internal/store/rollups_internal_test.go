package store

import (
	"math/rand/v2"
	"testing"
)

// segments tiles [from, to) with aligned runs, in order, with no gap and no
// overlap, and uses days and hours wherever they fit.
func TestSegments(t *testing.T) {
	t.Parallel()
	const q, h, s6, d = 900, 3600, 6 * 3600, 86400
	tests := []struct {
		name     string
		from, to int64
		want     []segment
	}{
		{"empty", 5 * d, 5 * d, nil},
		{"one quarter-hour", 5*d + q, 5*d + 2*q, []segment{{q, 5*d + q, 5*d + 2*q}}},
		{"whole UTC days", 5 * d, 9 * d, []segment{{d, 5 * d, 9 * d}}},
		{"a day at +05:30", 5*d - 5*h - 2*q, 6*d - 5*h - 2*q, []segment{
			{q, 5*d - 5*h - 2*q, 5*d - 5*h}, {h, 5*d - 5*h, 5 * d}, {s6, 5 * d, 5*d + 3*s6}, {q, 6*d - 6*h, 6*d - 5*h - 2*q},
		}},
		{"two days at -03:00", 5*d + 3*h, 7*d + 3*h, []segment{
			{h, 5*d + 3*h, 5*d + s6}, {s6, 5*d + s6, 6 * d}, {d, 6 * d, 7 * d}, {h, 7 * d, 7*d + 3*h},
		}},
		{"an hour across six hours", 5*d + 5*h + 2*q, 5*d + 6*h + 2*q, []segment{{q, 5*d + 5*h + 2*q, 5*d + 6*h + 2*q}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := segments(tt.from, tt.to)
			if len(got) != len(tt.want) {
				t.Fatalf("segments(%d, %d) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("segment %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		from := rng.Int64N(400*d) / q * q
		to := from + rng.Int64N(40*d)/q*q
		cur := from
		for _, s := range segments(from, to) {
			if s.from != cur || s.to <= s.from || s.from%s.grain != 0 || s.to%s.grain != 0 {
				t.Fatalf("segments(%d, %d): %v after %d", from, to, s, cur)
			}
			cur = s.to
		}
		if cur != to {
			t.Fatalf("segments(%d, %d) end at %d", from, to, cur)
		}
	}
}

// runs joins the ranges' segments that go on into the next range with the
// same grain, and never puts a rollup across a range's start.
func TestRuns(t *testing.T) {
	t.Parallel()
	const q, h, s6, d = 900, 3600, 6 * 3600, 86400
	kolkata := int64(5*h + 2*q) // a day there starts at 18:30 UTC
	tests := []struct {
		name   string
		ranges [][2]int64
		want   []segment
	}{
		{"UTC days are one run", [][2]int64{{5 * d, 6 * d}, {6 * d, 7 * d}, {7 * d, 8 * d}}, []segment{{d, 5 * d, 8 * d}}},
		{"days at +05:30 share their quarter-hours", [][2]int64{{5*d - kolkata, 6*d - kolkata}, {6*d - kolkata, 7*d - kolkata}}, []segment{
			{q, 5*d - kolkata, 5*d - 5*h}, {h, 5*d - 5*h, 5 * d}, {s6, 5 * d, 5*d + 3*s6},
			{q, 6*d - 6*h, 6*d - 5*h}, // the first day's last half-hour and the second's first
			{h, 6*d - 5*h, 6 * d}, {s6, 6 * d, 6*d + 3*s6}, {q, 7*d - 6*h, 7*d - kolkata},
		}},
		{"empty ranges add nothing", [][2]int64{{5 * d, 5 * d}, {5 * d, 6 * d}, {7 * d, 7 * d}}, []segment{{d, 5 * d, 6 * d}}},
		{"a gap between ranges splits a run", [][2]int64{{5 * d, 6 * d}, {7 * d, 8 * d}}, []segment{{d, 5 * d, 6 * d}, {d, 7 * d, 8 * d}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			grains, froms, tos, starts := runs(tt.ranges)
			var got []segment
			for i := range grains {
				got = append(got, segment{int64(grains[i]), froms[i], tos[i]})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("runs(%v) = %v, want %v", tt.ranges, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("run %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
			for i, r := range tt.ranges {
				if starts[i] != r[0] {
					t.Errorf("start %d = %d, want %d", i, starts[i], r[0])
				}
			}
			// No rollup of a run starts before a range's start and ends
			// after it.
			for _, run := range got {
				for _, r := range tt.ranges {
					if r[0] > run.from && r[0] < run.to && (r[0]-run.from)%run.grain != 0 {
						t.Errorf("run %v puts a rollup across the start of %v", run, r)
					}
				}
			}
		})
	}
}
