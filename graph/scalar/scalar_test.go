package scalar

import (
	"bytes"
	"math"
	"testing"

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

func TestUnmarshalInt64ID(t *testing.T) {
	t.Parallel()
	for _, in := range []any{"42", 42, int64(42)} {
		if got, err := UnmarshalInt64ID(in); err != nil || got != 42 {
			t.Errorf("UnmarshalInt64ID(%v) = %d, %v", in, got, err)
		}
	}
	for _, in := range []any{"x", "0", "-1", "99999999999999999999", 1.5, nil} {
		if _, err := UnmarshalInt64ID(in); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("UnmarshalInt64ID(%v): %v, want BAD_USER_INPUT", in, err)
		}
	}
}
