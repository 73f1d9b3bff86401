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
