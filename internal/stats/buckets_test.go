package stats

import (
	"errors"
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v
}

// TestBounds checks bucket boundaries worked out by hand from the tz
// database, where the wall clock does something unusual.
func TestBounds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		bucket      Bucket
		zone        string
		first, last string
		want        []string
	}{
		{"hours on the half hour", Hour, "Asia/Kolkata", "2026-03-01T05:45:00Z", "2026-03-01T06:29:59Z",
			[]string{"2026-03-01T05:30:00Z", "2026-03-01T06:30:00Z"}},
		{"the repeated hour is two buckets", Hour, "Europe/Paris", "2026-10-25T00:10:00Z", "2026-10-25T01:10:00Z",
			[]string{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}},
		{"a day of 23 hours", Day, "Europe/Paris", "2026-03-29T12:00:00Z", "2026-03-29T12:00:00Z",
			[]string{"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"}},
		{"a day of 25 hours", Day, "America/New_York", "2026-11-01T12:00:00Z", "2026-11-01T12:00:00Z",
			[]string{"2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"}},
		// Chile skips midnight: 2026-09-06 starts at 01:00 -03.
		{"a skipped midnight", Day, "America/Santiago", "2026-09-06T12:00:00Z", "2026-09-06T12:00:00Z",
			[]string{"2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"}},
		// Cuba goes back from 01:00 to 00:00: 2026-11-01 starts at the
		// first midnight, -04.
		{"a repeated midnight", Day, "America/Havana", "2026-11-01T12:00:00Z", "2026-11-01T12:00:00Z",
			[]string{"2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"}},
		// 2026-11-25 is a Wednesday; weeks start on Monday, 2026-11-23.
		{"weeks from Monday", Week, "Europe/Paris", "2026-11-25T10:00:00Z", "2026-11-30T10:00:00Z",
			[]string{"2026-11-22T23:00:00Z", "2026-11-29T23:00:00Z", "2026-12-06T23:00:00Z"}},
		{"a week with a DST change", Week, "Europe/Paris", "2026-03-25T10:00:00Z", "2026-03-25T10:00:00Z",
			[]string{"2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Bounds(c.bucket, mustLoad(t, c.zone), utc(c.first), utc(c.last))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("bounds %v, want %v", got, c.want)
			}
			for i, w := range c.want {
				if !got[i].Equal(utc(w)) {
					t.Fatalf("bounds %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestBoundsRefusesTooMany(t *testing.T) {
	t.Parallel()
	first := utc("2020-01-01T00:00:00Z")
	for _, c := range []struct {
		bucket Bucket
		last   time.Time
		ok     bool
	}{
		{Hour, first.Add((MaxBuckets - 1) * time.Hour), true},
		{Hour, first.Add(MaxBuckets * time.Hour), false},
		{Day, first.AddDate(1000, 0, 0), false},
		{Week, first.AddDate(100, 0, 0), true},
		{Hour, first.AddDate(1_000_000, 0, 0), false}, // fails before making any
	} {
		b, err := Bounds(c.bucket, time.UTC, first, c.last)
		if c.ok && (err != nil || len(b) > MaxBuckets+1) {
			t.Errorf("%s to %v: %d bounds, %v", c.bucket, c.last, len(b), err)
		}
		if !c.ok && !errors.Is(err, errTooManyBuckets) {
			t.Errorf("%s to %v: %v, want too many buckets", c.bucket, c.last, err)
		}
	}
}
