package stats

import (
	"fmt"
	"time"
)

// Bucket is the length of the time buckets of a chart.
type Bucket string

// The bucket lengths: an hour, a day and a week (starting on Monday) of the
// wall clock in the chart's time zone.
const (
	Hour Bucket = "hour"
	Day  Bucket = "day"
	Week Bucket = "week"
)

// MaxBuckets bounds the buckets one chart may span, so that no request can
// make the database join a billion-row table of boundaries.
const MaxBuckets = 10000

// errTooManyBuckets says the range needs more than MaxBuckets buckets.
var errTooManyBuckets = fmt.Errorf("more than %d buckets", MaxBuckets)

// Bounds returns the boundaries of the buckets that cover [first, last] in
// loc: bounds[0] is the start of first's bucket, each next one the start of
// the next bucket, and the last one the end of last's bucket, so that bucket
// i is [bounds[i], bounds[i+1]). Buckets are instants, not wall-clock labels:
// when the clocks go back, the repeated hour is two HOUR buckets, and a day
// lasts 23 or 25 hours. It fails when more than MaxBuckets buckets are
// needed, before making them.
func Bounds(b Bucket, loc *time.Location, first, last time.Time) ([]time.Time, error) {
	if last.Before(first) {
		return nil, fmt.Errorf("range ends before it starts")
	}
	start, err := b.start(first, loc)
	if err != nil {
		return nil, err
	}
	// A rough count first, so that a range of centuries fails at once. An
	// hour, a day or a week is at least 23/24 of its nominal length.
	nominal := map[Bucket]time.Duration{Hour: time.Hour, Day: 24 * time.Hour, Week: 7 * 24 * time.Hour}[b]
	if last.Sub(start) > (MaxBuckets+2)*nominal {
		return nil, errTooManyBuckets
	}
	bounds := []time.Time{start}
	for cur := start; !cur.After(last); {
		next, err := b.next(cur, loc)
		if err != nil {
			return nil, err
		}
		if len(bounds) > MaxBuckets {
			return nil, errTooManyBuckets
		}
		bounds = append(bounds, next)
		cur = next
	}
	return bounds, nil
}

// start returns the first instant of t's bucket in loc.
func (b Bucket) start(t time.Time, loc *time.Location) (time.Time, error) {
	local := t.In(loc)
	switch b {
	case Hour:
		// The wall clock's hour began minutes and seconds ago on the offset
		// in force now: offsets change on the hour in practice, and when one
		// does not (a half-hour shift), the hour starts at the change.
		s := local.Truncate(0).Add(-time.Duration(local.Minute())*time.Minute -
			time.Duration(local.Second())*time.Second - time.Duration(local.Nanosecond()))
		if zoneStart, _ := local.ZoneBounds(); !zoneStart.IsZero() && s.Before(zoneStart) {
			s = zoneStart
		}
		return s.UTC(), nil
	case Day:
		return midnight(local.Year(), local.Month(), local.Day(), loc).UTC(), nil
	case Week:
		back := (int(local.Weekday()) + 6) % 7 // days since Monday
		return midnight(local.Year(), local.Month(), local.Day()-back, loc).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unknown bucket %q", b)
}

// next returns the first instant of the bucket after the one starting at s.
func (b Bucket) next(s time.Time, loc *time.Location) (time.Time, error) {
	local := s.In(loc)
	var n time.Time
	switch b {
	case Hour:
		// Of a wall-clock hour, at most the minutes after an offset change
		// remain: the next hour starts within an hour, at the first instant
		// whose wall-clock hour differs.
		var err error
		if n, err = b.start(s.Add(time.Hour), loc); err != nil {
			return time.Time{}, err
		}
		if !n.After(s) {
			n = s.Add(time.Hour)
		}
	case Day:
		n = midnight(local.Year(), local.Month(), local.Day()+1, loc)
	case Week:
		n = midnight(local.Year(), local.Month(), local.Day()+7, loc)
	default:
		return time.Time{}, fmt.Errorf("unknown bucket %q", b)
	}
	return n.UTC(), nil
}

// midnight returns the first instant of the day in loc. When the clocks
// skip midnight (a DST change at 00:00, as in America/Santiago or
// Asia/Beirut), the day starts at the change.
func midnight(year int, month time.Month, day int, loc *time.Location) time.Time {
	t := time.Date(year, month, day, 0, 0, 0, 0, loc)
	y, m, d := t.Date()
	want := time.Date(year, month, day, 0, 0, 0, 0, time.UTC) // normalized date
	if y == want.Year() && m == want.Month() && d == want.Day() {
		// time.Date may have picked the later of a repeated midnight: the
		// day began on the offset before the change if that offset's
		// midnight is still on the same date and before the change.
		if zoneStart, _ := t.ZoneBounds(); !zoneStart.IsZero() {
			before := zoneStart.Add(-time.Nanosecond)
			_, offset := before.Zone()
			earlier := time.Date(year, month, day, 0, 0, 0, 0, time.FixedZone("", offset))
			if earlier.Before(zoneStart) && earlier.Before(t) && sameDate(earlier.In(loc), want) {
				return earlier
			}
		}
		return t
	}
	// t fell on the day before: the day starts where that zone period ends.
	if _, zoneEnd := t.ZoneBounds(); !zoneEnd.IsZero() {
		return zoneEnd
	}
	return t
}

func sameDate(t, want time.Time) bool {
	y, m, d := t.Date()
	return y == want.Year() && m == want.Month() && d == want.Day()
}
