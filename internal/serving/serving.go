// Package serving holds the model being served and swaps in another without
// a restart. A reload reads the model again, checks it as start-up does,
// records the load, and only then serves it, in one atomic store. A reader
// loads the served model once per request and keeps what it loaded, so a
// request in flight during a reload finishes on the model it started with,
// and a model refused leaves the one before it serving.
package serving

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/store"
)

// BuiltIn is the source of the model built into the binary.
const BuiltIn = "built-in"

// Served is a model being served, with what the server made of it.
type Served[V any] struct {
	Model *model.Model
	// Info is Model.Info(), made once.
	Info model.Info
	// View is what Options.Bind made of Model: the services that answer
	// with it.
	View V
}

// Options configure a Holder.
type Options[V any] struct {
	// Dir is the model directory; empty serves the built-in model.
	Dir string
	// Load reads the model in dir, or the built-in model when dir is empty.
	Load func(dir string) (*model.Model, error)
	// Bind checks that a model fits the server, the same check at start-up
	// and at every reload, and makes what serves it. A model it refuses is
	// not served.
	Bind func(*model.Model) (V, error)
	// Log records every model served.
	Log LoadLog
	// Logger gets a line for every model served and every reload.
	Logger *slog.Logger
}

// LoadLog is where loads are recorded: the models table.
type LoadLog interface {
	RecordModelLoad(ctx context.Context, version string, metadata json.RawMessage) (store.ModelLoad, error)
	ModelLoads(ctx context.Context, q store.ModelLoadQuery) ([]store.ModelLoad, error)
}

// Holder serves one model at a time, and is safe for concurrent use.
type Holder[V any] struct {
	current atomic.Pointer[Served[V]]
	// turn is held by the reload under way: SIGHUP and an administrator may
	// ask for one at the same time, and each must compare what it read with
	// what the other served.
	turn chan struct{}
	opts Options[V]
}

// New serves first, the model opts.Load read at start-up, once opts.Bind
// accepted it and its load is recorded.
func New[V any](ctx context.Context, first *model.Model, opts Options[V]) (*Holder[V], error) {
	h := &Holder[V]{turn: make(chan struct{}, 1), opts: opts}
	served, err := h.bind(first)
	if err != nil {
		return nil, err
	}
	if err := h.record(ctx, served); err != nil {
		return nil, err
	}
	h.current.Store(served)
	info := served.Info
	opts.Logger.InfoContext(ctx, "model loaded", "version", info.Version, "source", h.Source(),
		"trees", info.NumTrees, "max_depth", info.MaxDepth, "xgboost", info.XGBoostVersion)
	return h, nil
}

// Current returns the model served now. A request reads it once and keeps
// it for everything it does.
func (h *Holder[V]) Current() *Served[V] {
	return h.current.Load()
}

// Source is where every reload reads the model: the model directory, or
// BuiltIn.
func (h *Holder[V]) Source() string {
	if h.opts.Dir == "" {
		return BuiltIn
	}
	return h.opts.Dir
}

// Reload is what a reload did.
type Reload[V any] struct {
	// Served is the model served now: the one read, or when Changed is false
	// the one served before, which the one read equals.
	Served *Served[V]
	// Previous is the model served before the reload.
	Previous *Served[V]
	// Changed reports whether the model read differs from the one served
	// before (its trees, input schema or reference) and so is served now.
	Changed bool
	// Source is where the model was read: the model directory, or BuiltIn.
	Source string
}

// Summary says what the reload did, in words.
func (r Reload[V]) Summary() string {
	switch {
	case r.Changed:
		return fmt.Sprintf("model %s from %s is served now, in place of model %s", r.Served.Info.Version, r.Source, r.Previous.Info.Version)
	case r.Source == BuiltIn:
		return "no model directory is set (MODEL_DIR), so the built-in model is served: it was checked again and nothing changed"
	}
	return fmt.Sprintf("%s holds the model already served (%s): nothing changed", r.Source, r.Served.Info.Version)
}

// RefusedError says why a reload served no new model.
type RefusedError struct {
	// Source is where the model was read: the model directory, or BuiltIn.
	Source string
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the model in %s was refused, and the model served before is still served: %v", e.Source, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Reload reads the model again from Source and checks it as start-up does.
// A model that differs from the one served is recorded, then served:
// requests under way finish on the model they started with. A model that
// cannot be read or does not fit is refused with a MODEL_REFUSED error
// wrapping a *RefusedError that says why, and the model served before
// stays; a failure to record the load leaves it too. Reloads take turns,
// each waiting for the one before within ctx.
func (h *Holder[V]) Reload(ctx context.Context) (Reload[V], error) {
	select {
	case h.turn <- struct{}{}:
		defer func() { <-h.turn }()
	case <-ctx.Done():
		return Reload[V]{}, fmt.Errorf("wait for the reload under way: %w", ctx.Err())
	}
	r := Reload[V]{Previous: h.current.Load(), Source: h.Source()}
	read, err := h.opts.Load(h.opts.Dir)
	var served *Served[V]
	if err == nil {
		served, err = h.bind(read)
	}
	if err != nil {
		refused := &RefusedError{Source: r.Source, Err: err}
		h.opts.Logger.WarnContext(ctx, "model reload refused", "source", r.Source, "served", r.Previous.Info.Version, "err", err)
		return Reload[V]{}, apperr.Wrap(apperr.ModelRefused, refused.Error(), refused)
	}
	if reflect.DeepEqual(served.Info, r.Previous.Info) {
		r.Served = r.Previous
		h.opts.Logger.InfoContext(ctx, "model reload: nothing changed", "version", r.Served.Info.Version, "source", r.Source)
		return r, nil
	}
	if err := h.record(ctx, served); err != nil {
		h.opts.Logger.ErrorContext(ctx, "model reload failed", "source", r.Source, "served", r.Previous.Info.Version, "err", err)
		return Reload[V]{}, err
	}
	h.current.Store(served)
	r.Served, r.Changed = served, true
	info := served.Info
	h.opts.Logger.InfoContext(ctx, "model reloaded", "version", info.Version, "previous", r.Previous.Info.Version, "source", r.Source,
		"trees", info.NumTrees, "max_depth", info.MaxDepth, "xgboost", info.XGBoostVersion)
	return r, nil
}

// bind has opts.Bind make what serves m, or say why m does not fit.
func (h *Holder[V]) bind(m *model.Model) (*Served[V], error) {
	info := m.Info()
	view, err := h.opts.Bind(m)
	if err != nil {
		return nil, fmt.Errorf("model %s does not fit the API: %w", info.Version, err)
	}
	return &Served[V]{Model: m, Info: info, View: view}, nil
}

// record adds the load of served to the models table.
func (h *Holder[V]) record(ctx context.Context, served *Served[V]) error {
	info := served.Info
	metadata := Metadata{
		Source:         h.Source(),
		ModelSHA256:    info.Version,
		NumTrees:       info.NumTrees,
		MaxDepth:       info.MaxDepth,
		XGBoostVersion: info.XGBoostVersion,
		Features:       make([]string, len(info.Features)),
	}
	for i, f := range info.Features {
		metadata.Features[i] = f.Name
	}
	encoded, err := json.Marshal(metadata)
	if err != nil {
		return fmt.Errorf("model %s: metadata: %w", info.Version, err)
	}
	_, err = h.opts.Log.RecordModelLoad(ctx, info.Version, encoded)
	return err
}
