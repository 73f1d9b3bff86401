package serving_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/model/modeltest"
	"github.com/mlapi/mlapi/internal/serving"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// servedModelDir is the model the server is built with.
const servedModelDir = "../../model"

// fitsEightFeatures stands for the API's check: the served model's eight
// features, by name. The view it makes is the model's version.
func fitsEightFeatures(m *model.Model) (string, error) {
	info := m.Info()
	if len(info.Features) != 8 || info.Features[0].Name != "age" {
		return "", fmt.Errorf("%d features, the first %q", len(info.Features), info.Features[0].Name)
	}
	return info.Version, nil
}

// newHolder serves the model in dir, loaded as start-up loads it, recording
// loads in db.
func newHolder(t *testing.T, db serving.LoadLog, dir string, load func(string) (*model.Model, error)) *serving.Holder[string] {
	t.Helper()
	first, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := serving.New(t.Context(), first, serving.Options[string]{
		Dir: dir, Load: load, Bind: fitsEightFeatures, Log: db, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// servedCopy serves a copy of the served model's directory, recording loads
// in db, and returns the holder and the directory.
func servedCopy(t *testing.T, db serving.LoadLog) (*serving.Holder[string], string) {
	t.Helper()
	dir := modeltest.Copy(t, servedModelDir)
	return newHolder(t, db, dir, model.LoadDir), dir
}

func loadCount(t *testing.T, h *serving.Holder[string]) int {
	t.Helper()
	first := 100
	loads, err := h.Loads(t.Context(), &first, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(loads)
}

// TestReload changes the model directory step by step and reloads after
// each change: what differs is served and recorded, what does not is left
// alone, and what is refused leaves the model before it serving.
func TestReload(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		h, dir := servedCopy(t, db)
		first := modeltest.Version(t, dir)
		if got := h.Current().View; got != first {
			t.Fatalf("serving %s at start-up, want %s", got, first)
		}
		if n := loadCount(t, h); n != 1 {
			t.Fatalf("%d loads recorded at start-up, want 1", n)
		}
		steps := []struct {
			name        string
			change      func(t *testing.T)
			wantChanged bool
			// wantRefused, when set, is part of why the model is refused.
			wantRefused string
		}{
			{name: "the same files", change: func(*testing.T) {}},
			{
				name:        "another base score",
				change:      func(t *testing.T) { modeltest.LowerBaseScore(t, dir) },
				wantChanged: true,
			},
			{
				name:        "another bound in the input schema, the same model.json",
				change:      func(t *testing.T) { modeltest.Rewrite(t, dir, model.SchemaFile, `"max": 130`, `"max": 120`) },
				wantChanged: true,
			},
			{
				name:        "no reference any more",
				change:      func(t *testing.T) { modeltest.Remove(t, dir, modeltest.ReferenceFile) },
				wantChanged: true,
			},
			{
				name:        "a model.json that is not JSON",
				change:      func(t *testing.T) { modeltest.Rewrite(t, dir, model.ModelFile, `{"learner"`, `{"learner`) },
				wantRefused: "not an XGBoost JSON model",
			},
			{
				name: "a model of other features",
				change: func(t *testing.T) {
					modeltest.CopyFiles(t, dir, "../model/testdata/deep", model.ModelFile, model.SchemaFile)
				},
				wantRefused: "does not fit the API: 12 features",
			},
			{
				name:        "no input schema",
				change:      func(t *testing.T) { modeltest.Remove(t, dir, model.SchemaFile) },
				wantRefused: "input_schema.json",
			},
			{
				name:        "the first model again",
				change:      func(t *testing.T) { modeltest.CopyFiles(t, dir, servedModelDir, modeltest.Files...) },
				wantChanged: true,
			},
		}
		loads := 1
		for _, step := range steps {
			step.change(t)
			before := h.Current()
			reload, err := h.Reload(t.Context())
			if step.wantRefused != "" {
				var refused *serving.RefusedError
				if apperr.CodeOf(err) != apperr.ModelRefused || !errors.As(err, &refused) || refused.Source != dir ||
					!strings.Contains(apperr.MessageOf(err), step.wantRefused) {
					t.Fatalf("%s: Reload = %v, want MODEL_REFUSED from %s saying %q", step.name, err, dir, step.wantRefused)
				}
				if h.Current() != before {
					t.Errorf("%s: refused, and yet the model served changed", step.name)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: Reload: %v", step.name, err)
			}
			if reload.Changed != step.wantChanged || reload.Previous != before || reload.Served != h.Current() || reload.Source != dir {
				t.Errorf("%s: Reload = %+v, want changed %v from %p, now serving %p", step.name, reload, step.wantChanged, before, h.Current())
			}
			if step.wantChanged {
				loads++
				if h.Current() == before || h.Current().View != modeltest.Version(t, dir) {
					t.Errorf("%s: serving %s, want the new %s", step.name, h.Current().View, modeltest.Version(t, dir))
				}
			} else if h.Current() != before || !strings.Contains(reload.Summary(), "nothing changed") {
				t.Errorf("%s: nothing changed, and yet %q", step.name, reload.Summary())
			}
			if n := loadCount(t, h); n != loads {
				t.Errorf("%s: %d loads recorded, want %d", step.name, n, loads)
			}
		}
		if got := h.Current().View; got != first {
			t.Errorf("serving %s at the end, want the first model %s again", got, first)
		}
	})
}

// The built-in model cannot change: a reload checks it again, keeps it, and
// says why nothing changed.
func TestReloadBuiltIn(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		builtIn := func(dir string) (*model.Model, error) {
			if dir != "" {
				return nil, fmt.Errorf("the built-in model has no directory, got %q", dir)
			}
			return model.LoadDir(servedModelDir)
		}
		h := newHolder(t, db, "", builtIn)
		before := h.Current()
		reload, err := h.Reload(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if reload.Changed || h.Current() != before || reload.Source != serving.BuiltIn || h.Source() != serving.BuiltIn ||
			!strings.Contains(reload.Summary(), "built-in model") {
			t.Errorf("Reload = %+v (%q), want the built-in model kept", reload, reload.Summary())
		}
		if n := loadCount(t, h); n != 1 {
			t.Errorf("%d loads recorded, want the start-up's only", n)
		}
	})
}

// A model that does not fit stops start-up, and is not recorded.
func TestNewRefusesAModelThatDoesNotFit(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		const dir = "../model/testdata/deep"
		m, err := model.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, err = serving.New(t.Context(), m, serving.Options[string]{
			Dir: dir, Load: model.LoadDir, Bind: fitsEightFeatures, Log: db, Logger: slog.New(slog.DiscardHandler),
		})
		if err == nil || !strings.Contains(err.Error(), "does not fit the API") {
			t.Fatalf("New = %v, want the model refused", err)
		}
		if loads, err := db.ModelLoads(t.Context(), store.ModelLoadQuery{Size: 10}); err != nil || len(loads) != 0 {
			t.Errorf("loads recorded: %v, %v; want none", loads, err)
		}
	})
}

// A load that cannot be recorded is not served: every response's version
// must lead to a row.
func TestReloadUnrecordedIsNotServed(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, err := store.Open(t.Context(), storetest.URL(t, dialect), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		h, dir := servedCopy(t, db)
		before := h.Current()
		modeltest.LowerBaseScore(t, dir)
		db.Close()
		if _, err := h.Reload(t.Context()); err == nil || apperr.CodeOf(err) == apperr.ModelRefused {
			t.Errorf("Reload with the database closed = %v, want a failure to record", err)
		}
		if h.Current() != before {
			t.Error("a load that was not recorded is served")
		}
	})
}

// Reloads take turns: one waits for the one under way, within its context.
func TestReloadsTakeTurns(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		dir := modeltest.Copy(t, servedModelDir)
		entered, release := make(chan struct{}), make(chan struct{})
		blocking := false
		h := newHolder(t, db, dir, func(dir string) (*model.Model, error) {
			if blocking {
				entered <- struct{}{}
				<-release
			}
			return model.LoadDir(dir)
		})
		blocking = true
		modeltest.LowerBaseScore(t, dir)
		first := make(chan error, 1)
		go func() {
			_, err := h.Reload(context.Background())
			first <- err
		}()
		<-entered // the first reload is reading the model

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := h.Reload(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("a reload while another is under way, its context ended: %v, want it to give up waiting", err)
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		blocking = false
		reload, err := h.Reload(t.Context())
		if err != nil || reload.Changed {
			t.Errorf("the next reload: %+v, %v; want it to find the first one's model served", reload, err)
		}
	})
}

func TestLoads(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		h, dir := servedCopy(t, db)
		first := modeltest.Version(t, dir)
		modeltest.LowerBaseScore(t, dir)
		if _, err := h.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		second := modeltest.Version(t, dir)
		features := []string{"age", "creatinine_phosphokinase", "ejection_fraction", "platelets", "serum_creatinine", "serum_sodium", "sex", "high_blood_pressure"}

		one, zero, tooMany := 1, 0, 101
		tests := []struct {
			name     string
			first    *int
			version  string
			want     []string // versions, newest first
			wantCode apperr.Code
		}{
			{name: "every load, newest first", want: []string{second, first}},
			{name: "one version's", version: first, want: []string{first}},
			{name: "the newest", first: &one, want: []string{second}},
			{name: "a version never served", version: strings.Repeat("0", 64), want: []string{}},
			{name: "first 0", first: &zero, wantCode: apperr.Invalid},
			{name: "first over 100", first: &tooMany, wantCode: apperr.Invalid},
			{name: "an overlong version", version: strings.Repeat("0", serving.MaxVersion+1), wantCode: apperr.Invalid},
		}
		for _, tt := range tests {
			loads, err := h.Loads(t.Context(), tt.first, tt.version)
			if apperr.CodeOf(err) != tt.wantCode {
				t.Errorf("%s: %v, want code %q", tt.name, err, tt.wantCode)
				continue
			}
			var got []string
			for _, l := range loads {
				got = append(got, l.Version)
				if l.ModelSHA256 != l.Version || l.Source != dir || l.NumTrees != 30 || l.MaxDepth == 0 || l.XGBoostVersion == "" ||
					!slices.Equal(l.Features, features) || l.LoadedAt.IsZero() {
					t.Errorf("%s: %+v, want the served model's metadata", tt.name, l)
				}
			}
			if tt.wantCode == "" && !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("%s: versions %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}
