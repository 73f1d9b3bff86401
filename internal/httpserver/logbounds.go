package httpserver

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/mlapi/mlapi/internal/bounded"
)

// Bounds on one log line. A request decides much of what its line holds
// (its operation's name, one error code per error, a client's address), and
// a line is written for every request: no request may write more than
// MaxLogLine bytes of attributes, however it is shaped.
const (
	// MaxLogValue bounds one attribute's value: a longer string keeps its
	// start and says how long it was; a list keeps the entries that fit.
	MaxLogValue = 2 << 10
	// MaxLogLine bounds all the attributes of one line together; the
	// attributes beyond it are dropped and counted in "attrs_dropped".
	MaxLogLine = 8 << 10
)

// BoundAttrs returns attrs with every value cut to maxValue bytes (as text)
// and, once maxLine bytes of keys and values are reached, the remaining
// attributes replaced by one "attrs_dropped" count. Groups are bounded as a
// whole, as one value. Small attributes pass through unchanged.
func BoundAttrs(attrs []slog.Attr, maxValue, maxLine int) []slog.Attr {
	total := 0
	for _, a := range attrs {
		size, within := attrSizeWithin(a, maxValue)
		if total += size; !within || total > maxLine {
			return boundAttrs(attrs, maxValue, maxLine)
		}
	}
	return attrs
}

// boundAttrs is BoundAttrs for attributes that need bounding, in a slice of
// their own.
func boundAttrs(attrs []slog.Attr, maxValue, maxLine int) []slog.Attr {
	out := attrs[:0:0]
	total, dropped := 0, 0
	for _, a := range attrs {
		a = boundAttr(a, maxValue)
		size := len(a.Key) + valueSize(a.Value)
		if total+size > maxLine {
			dropped++
			continue
		}
		total += size
		out = append(out, a)
	}
	if dropped > 0 {
		out = append(out, slog.Int("attrs_dropped", dropped))
	}
	return out
}

func boundAttr(a slog.Attr, maxValue int) slog.Attr {
	a.Key = truncateText(a.Key, 128)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(truncateText(v.String(), maxValue))
	case slog.KindGroup:
		group := v.Group()
		size := 0
		for _, g := range group {
			size += len(g.Key) + valueSize(g.Value)
		}
		if size > maxValue {
			a.Value = slog.GroupValue(BoundAttrs(group, maxValue, maxValue)...)
		}
	case slog.KindAny:
		switch list := v.Any().(type) {
		case []string:
			a.Value = slog.AnyValue(boundList(list, maxValue))
		case error:
			a.Value = slog.StringValue(truncateText(list.Error(), maxValue))
		default:
			if text := fmt.Sprint(list); len(text) > maxValue {
				a.Value = slog.StringValue(truncateText(text, maxValue))
			}
		}
	default:
		a.Value = v
	}
	return a
}

// boundList keeps the entries of list that fit in max bytes and ends with
// one saying how many more there were.
func boundList(list []string, max int) []string {
	size := 0
	for i, s := range list {
		size += len(s) + 3
		if size > max {
			kept := append(make([]string, 0, i+1), list[:i]...)
			return append(kept, "…("+strconv.Itoa(len(list)-i)+" more)")
		}
	}
	return list
}

// valueSize estimates the bytes a value takes on a line.
func valueSize(v slog.Value) int {
	switch v.Kind() {
	case slog.KindString:
		return bounded.Size(v.String())
	case slog.KindGroup:
		n := 0
		for _, g := range v.Group() {
			n += len(g.Key) + valueSize(g.Value)
		}
		return n
	case slog.KindAny:
		if list, ok := v.Any().([]string); ok {
			n := 0
			for _, s := range list {
				n += bounded.Size(s) + 3
			}
			return n
		}
		return len(fmt.Sprint(v.Any()))
	default:
		return len(v.String())
	}
}

// truncateText cuts s to max bytes as the log writes it, escapes included,
// and says so.
func truncateText(s string, max int) string { return bounded.Text(s, max) }

// BoundedHandler wraps h so that every record it writes is bounded as
// BoundAttrs bounds the access log's: its message and each attribute cut to
// maxValue bytes, its attributes together to maxLine. Wrap the process's
// logger with it so that no line (an error's text, a panic's value) grows
// with what a request sent.
func BoundedHandler(h slog.Handler, maxValue, maxLine int) slog.Handler {
	return boundedHandler{next: h, maxValue: maxValue, maxLine: maxLine}
}

type boundedHandler struct {
	next              slog.Handler
	maxValue, maxLine int
}

func (h boundedHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle passes a record that is within the bounds as it is (the access
// log's line for every request is, bounded already), and writes any other
// bounded.
func (h boundedHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.within(r) {
		return h.next.Handle(ctx, r)
	}
	return h.handleBounded(ctx, r)
}

// handleBounded writes r with its message and attributes bounded.
func (h boundedHandler) handleBounded(ctx context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	bounded := slog.NewRecord(r.Time, r.Level, truncateText(r.Message, h.maxValue), r.PC)
	bounded.AddAttrs(BoundAttrs(attrs, h.maxValue, h.maxLine)...)
	return h.next.Handle(ctx, bounded)
}

// within reports, without allocating, that bounding r would change
// nothing: its message and each key and value are under their bounds, and
// all of them together under the line's. The values that bounding would
// render to find their size (errors, other values of any type, values that
// resolve themselves) are left to handleBounded, and every other kind counts
// as nonStringSize bytes, more than any of them writes.
func (h boundedHandler) within(r slog.Record) bool {
	if len(r.Message) > h.maxValue/6 && bounded.Size(r.Message) > h.maxValue {
		return false
	}
	total, ok := 0, true
	r.Attrs(func(a slog.Attr) bool {
		size, fits := attrSizeWithin(a, h.maxValue)
		total += size
		ok = fits && total <= h.maxLine
		return ok
	})
	return ok
}

// nonStringSize bounds the text of a number, bool, duration or time value.
const nonStringSize = 64

// attrSizeWithin returns a's size as valueSize counts it (at most, for
// kinds other than strings), and whether boundAttr would leave a as it is.
func attrSizeWithin(a slog.Attr, maxValue int) (size int, within bool) {
	if len(a.Key) > 128/6 && bounded.Size(a.Key) > 128 {
		return 0, false
	}
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		size = bounded.Size(v.String())
		return len(a.Key) + size, size <= maxValue
	case slog.KindGroup, slog.KindAny, slog.KindLogValuer:
		return 0, false
	default:
		return len(a.Key) + nonStringSize, true
	}
}

func (h boundedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.next = h.next.WithAttrs(BoundAttrs(attrs, h.maxValue, h.maxLine))
	return h
}

func (h boundedHandler) WithGroup(name string) slog.Handler {
	h.next = h.next.WithGroup(truncateText(name, 128))
	return h
}
