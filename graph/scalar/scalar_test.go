package scalar

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
)

func TestMarshalFloat32(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float32
		want string
	}{
		{0.5124506, "0.5124506"}, // not 0.5124505758285522
		{5e6, "5000000"},
		{-0.76813495, "-0.76813495"},
		{0, "0"},
		{1e-7, "1e-07"},
		{float32(math.Inf(1)), "null"},
		{float32(math.NaN()), "null"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		MarshalFloat32(tt.in).MarshalGQL(&b)
		if b.String() != tt.want {
			t.Errorf("MarshalFloat32(%v) = %s, want %s", tt.in, b.String(), tt.want)
		}
	}
}

func TestUnmarshalTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, in := range []any{"2026-01-02T15:04:05Z", "2026-01-02T16:04:05+01:00"} {
		if got, err := UnmarshalTime(in); err != nil || !got.Equal(want) {
			t.Errorf("UnmarshalTime(%v) = %v, %v", in, got, err)
		}
	}
	for _, in := range []any{"yesterday", "2026-01-02", "", 42, nil} {
		if _, err := UnmarshalTime(in); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("UnmarshalTime(%v): %v, want BAD_USER_INPUT", in, err)
		}
	}
}
