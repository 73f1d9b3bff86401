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

func (h boundedHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	bounded := slog.NewRecord(r.Time, r.Level, truncateText(r.Message, h.maxValue), r.PC)
	bounded.AddAttrs(BoundAttrs(attrs, h.maxValue, h.maxLine)...)
	return h.next.Handle(ctx, bounded)
}

func (h boundedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.next = h.next.WithAttrs(BoundAttrs(attrs, h.maxValue, h.maxLine))
	return h
}

func (h boundedHandler) WithGroup(name string) slog.Handler {
	h.next = h.next.WithGroup(truncateText(name, 128))
	return h
}
