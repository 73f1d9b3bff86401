package export

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestExportContext checks that an export outlives the request's deadline
// but not the client's leaving.
func TestExportContext(t *testing.T) {
	t.Parallel()
	t.Run("the request's deadline passes", func(t *testing.T) {
		parent, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		<-parent.Done()
		ctx, stop := exportContext(parent)
		defer stop()
		if ctx.Err() != nil {
			t.Fatalf("the export ended with the request's deadline: %v", ctx.Err())
		}
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) < MaxDuration-time.Minute {
			t.Fatalf("deadline %v, want about MaxDuration from now", deadline)
		}
	})
	t.Run("the client leaves", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		ctx, stop := exportContext(parent)
		defer stop()
		cancel()
		<-ctx.Done() // hangs, and the test times out, if leaving did not end it
	})
	t.Run("the export ends", func(t *testing.T) {
		ctx, stop := exportContext(context.Background())
		stop()
		if ctx.Err() == nil {
			t.Fatal("stop did not end the export's context")
		}
	})
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   any
		want string
	}{
		{nil, ""}, {json.Number("130.00001"), "130.00001"}, {"130.00001", "130.00001"}, {true, "true"}, {"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"-1", "'-1"}, {"@x", "'@x"}, {"", ""}, {[]any{1.0}, "[1]"},
	} {
		if got := formatValue(tt.in); got != tt.want {
			t.Errorf("formatValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
