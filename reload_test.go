package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/model/modeltest"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The served model is reloaded without a restart, by reloadModel or SIGHUP,
// and every model served is recorded in the models table.

const reloadMutation = `mutation { reloadModel { changed previousVersion source message model { id version numTrees } } }`

const modelsQuery = `query($first: Int, $version: String) { models(first: $first, version: $version) {
  version loadedAt source numTrees maxDepth xgboostVersion features } }`

// reloadAnswer is reloadMutation's answer.
type reloadAnswer struct {
	Changed         bool
	PreviousVersion string
	Source          string
	Message         string
	Model           struct {
		ID       string
		Version  string
		NumTrees int
	}
}

// modelLoadAnswer is one entry of modelsQuery's answer.
type modelLoadAnswer struct {
	Version, LoadedAt, Source string
	NumTrees, MaxDepth        int
	XgboostVersion            string
	Features                  []string
}

// seedAnswer is the model in dir's answer to the seed example, printed as the
// API prints yhatProb.
func seedAnswer(t *testing.T, dir string) string {
	t.Helper()
	m, err := model.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	x, err := m.Validate(map[string]any{
		"age": 25, "creatinine_phosphokinase": 1000, "ejection_fraction": 35, "platelets": 500000,
		"serum_creatinine": 8, "serum_sodium": 135, "sex": true, "high_blood_pressure": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatFloat(float64(m.Predict(x).Probability), 'g', -1, 32)
}

// servedVersion is what the model query says is served.
func (e endpoint) servedVersion(t *testing.T) string {
	t.Helper()
	var served struct{ Version string }
	e.post(t, "", `{ model { version } }`).field(t, "model", &served)
	return served.Version
}

// TestReloadModel changes the model directory step by step and reloads
// after each change: predict answers with the model served, a refused model
// leaves the one before it serving, and each model served is a row of the
// models table, which every logged response's version leads to.
func TestReloadModel(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		dir := modeltest.Copy(t, "model")
		api := newTestAPI(t, dialect, func(c *config.Config) { c.ModelDir = dir })
		_, admin := api.createAdmin(t, "root", userPassword)
		_, user := api.user(t, "ada")
		served, answer := modeltest.Version(t, dir), "0.5124506"
		if p := api.predict(t, user); p.ModelVersion != served || p.YhatProb.String() != answer {
			t.Fatalf("before any reload: %s from %s, want %s from %s", p.YhatProb, p.ModelVersion, answer, served)
		}

		steps := []struct {
			name        string
			change      func(t *testing.T)
			wantChanged bool
			// wantRefused, when set, is part of the message refusing the model.
			wantRefused string
		}{
			{name: "another base score", change: func(t *testing.T) { modeltest.LowerBaseScore(t, dir) }, wantChanged: true},
			{name: "the same files", change: func(*testing.T) {}},
			{
				name:        "a model.json that is not JSON",
				change:      func(t *testing.T) { modeltest.Rewrite(t, dir, model.ModelFile, `{"learner"`, `{"learner`) },
				wantRefused: "not an XGBoost JSON model",
			},
			{
				name:        "a model of other features",
				change:      func(t *testing.T) { modeltest.CopyFiles(t, dir, "internal/model/testdata/deep", modeltest.Files...) },
				wantRefused: "has no PredictInput field",
			},
			{name: "the first model again", change: func(t *testing.T) { modeltest.CopyFiles(t, dir, "model", modeltest.Files...) }, wantChanged: true},
		}
		loads := 1
		for _, step := range steps {
			step.change(t)
			resp := api.post(t, admin, reloadMutation)
			if step.wantRefused != "" {
				if resp.code() != "MODEL_REFUSED" || !strings.Contains(resp.Errors[0].Message, step.wantRefused) ||
					!strings.Contains(resp.Errors[0].Message, dir) {
					t.Errorf("%s: %s, want MODEL_REFUSED naming %s and saying %q", step.name, resp.Raw, dir, step.wantRefused)
				}
			} else {
				var reload reloadAnswer
				resp.field(t, "reloadModel", &reload)
				if step.wantChanged {
					loads++
					served, answer = modeltest.Version(t, dir), seedAnswer(t, dir)
				}
				if reload.Changed != step.wantChanged || reload.Model.Version != served || reload.Source != dir ||
					(step.wantChanged == (reload.PreviousVersion == served)) || reload.Model.NumTrees != 30 {
					t.Errorf("%s: %+v, want changed %v, serving %s", step.name, reload, step.wantChanged, served)
				}
				if !step.wantChanged && !strings.Contains(reload.Message, "nothing changed") {
					t.Errorf("%s: message %q, want it to say nothing changed", step.name, reload.Message)
				}
			}
			if p := api.predict(t, user); p.ModelVersion != served || p.YhatProb.String() != answer || len(p.Contributions) != 8 {
				t.Errorf("%s: predict answers %s from %s, want %s from %s", step.name, p.YhatProb, p.ModelVersion, answer, served)
			}
			if got := api.servedVersion(t); got != served {
				t.Errorf("%s: model { version } %s, want %s", step.name, got, served)
			}
			if n := api.count(t, "models"); n != loads {
				t.Errorf("%s: %d rows in models, want %d", step.name, n, loads)
			}
		}

		// Every response's version leads to the loads of its model.
		versions, err := api.tables.Query("SELECT DISTINCT model_version FROM responses")
		if err != nil {
			t.Fatal(err)
		}
		defer versions.Close()
		var answered int
		for versions.Next() {
			var version string
			if err := versions.Scan(&version); err != nil {
				t.Fatal(err)
			}
			answered++
			var loads []modelLoadAnswer
			api.post(t, admin, modelsQuery, client.Var("version", version)).field(t, "models", &loads)
			if len(loads) == 0 {
				t.Errorf("models(version: %s): none, want the loads of the model that answered", version)
			}
			for _, l := range loads {
				if l.Version != version || l.Source != dir || l.NumTrees != 30 || l.MaxDepth == 0 || l.XgboostVersion == "" ||
					len(l.Features) != 8 || l.LoadedAt == "" {
					t.Errorf("models(version: %s): %+v", version, l)
				}
			}
		}
		if err := versions.Err(); err != nil {
			t.Fatal(err)
		}
		if answered != 2 {
			t.Errorf("responses of %d versions, want 2", answered)
		}
		var newest []modelLoadAnswer
		api.post(t, admin, modelsQuery, client.Var("first", 1)).field(t, "models", &newest)
		if len(newest) != 1 || newest[0].Version != served {
			t.Errorf("models(first: 1): %+v, want the load of %s", newest, served)
		}
	})
}

// Only administrators reload the model or read the loads; without a
// MODEL_DIR a reload checks the built-in model again and changes nothing.
func TestReloadBuiltInModel(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, admin := api.createAdmin(t, "root", userPassword)
	_, user := api.user(t, "ada")
	served := api.servedVersion(t)

	for _, tt := range []struct {
		name, token, query, wantCode string
	}{
		{"reload without a token", "", reloadMutation, "UNAUTHENTICATED"},
		{"reload by a user", user, reloadMutation, "FORBIDDEN"},
		{"loads without a token", "", modelsQuery, "UNAUTHENTICATED"},
		{"loads by a user", user, modelsQuery, "FORBIDDEN"},
		{"loads, first 0", admin, `{ models(first: 0) { version } }`, "BAD_USER_INPUT"},
		{"two reloads in one operation", admin, `mutation { a: reloadModel { changed } b: reloadModel { changed } }`, "GRAPHQL_VALIDATION_FAILED"},
	} {
		if resp := api.post(t, tt.token, tt.query); resp.code() != tt.wantCode {
			t.Errorf("%s: %s, want %s", tt.name, resp.Raw, tt.wantCode)
		}
	}

	var reload reloadAnswer
	api.post(t, admin, reloadMutation).field(t, "reloadModel", &reload)
	if reload.Changed || reload.Source != "built-in" || reload.Model.Version != served || reload.PreviousVersion != served ||
		!strings.Contains(reload.Message, "built-in model") || !strings.Contains(reload.Message, "nothing changed") {
		t.Errorf("reload of the built-in model: %+v", reload)
	}
	var loads []modelLoadAnswer
	api.post(t, admin, modelsQuery).field(t, "models", &loads)
	if len(loads) != 1 || loads[0].Version != served || loads[0].Source != "built-in" {
		t.Errorf("models: %+v, want the start-up's load of the built-in model only", loads)
	}
}

// TestReloadKeepsRequestsInFlight holds a prediction after it read the
// model, reloads another model, and releases it: its answer is the model's
// it started with, and the next prediction's the new one's. PostgreSQL
// shows where a statement waits, so the prediction is known to be held
// before the reload; SQLite does not.
func TestReloadKeepsRequestsInFlight(t *testing.T) {
	t.Parallel()
	dir := modeltest.Copy(t, "model")
	api := newTestAPI(t, store.Postgres, func(c *config.Config) { c.ModelDir = dir })
	_, admin := api.createAdmin(t, "root", userPassword)
	_, user := api.user(t, "held")
	first := modeltest.Version(t, dir)

	// The prediction's INSERT checks its foreign key against the user's row,
	// and waits while another transaction holds that row for update.
	hold, err := api.tables.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.Exec("SELECT id FROM users WHERE username = 'held' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		resp gqlResponse
		err  error
	}
	held := make(chan outcome, 1)
	go func() {
		resp, err := api.do(user, predictMutation, client.Var("in", seedInput()))
		held <- outcome{resp, err}
	}()
	for waiting := 0; waiting == 0; {
		select {
		case o := <-held:
			t.Fatalf("the prediction was not held: %s %v", o.resp.Raw, o.err)
		default:
		}
		err := api.tables.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	modeltest.LowerBaseScore(t, dir)
	var reload reloadAnswer
	api.post(t, admin, reloadMutation).field(t, "reloadModel", &reload)
	if !reload.Changed || reload.PreviousVersion != first || api.servedVersion(t) != modeltest.Version(t, dir) {
		t.Fatalf("reload while a prediction is held: %+v", reload)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	o := <-held
	if o.err != nil {
		t.Fatal(o.err)
	}
	var p predictionAnswer
	o.resp.field(t, "predict", &p)
	if p.ModelVersion != first || p.YhatProb.String() != "0.5124506" || len(p.Contributions) != 8 {
		t.Errorf("the held prediction: %s from %s, want the first model's 0.5124506 from %s", p.YhatProb, p.ModelVersion, first)
	}
	if next := api.predict(t, user); next.ModelVersion != modeltest.Version(t, dir) || next.YhatProb.String() != seedAnswer(t, dir) {
		t.Errorf("the next prediction: %s from %s, want the new model's", next.YhatProb, next.ModelVersion)
	}
}

// TestBinarySIGHUPReloads sends SIGHUP to the built binary: it serves the
// changed model in MODEL_DIR, keeps serving it when the next one is
// refused, records both loads, and still exits 0 on SIGTERM.
func TestBinarySIGHUPReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir, modelDir := t.TempDir(), modeltest.Copy(t, "model")
	server := start(t, dir, "MODEL_DIR="+modelDir)
	server.register(t, "hup", "hangup-password")
	token := server.token(t, "hup", "hangup-password")

	modeltest.LowerBaseScore(t, modelDir)
	server.hangUp(t, `msg="model reloaded"`)
	changed, answer := modeltest.Version(t, modelDir), seedAnswer(t, modelDir)
	if p := server.predict(t, token); p.ModelVersion != changed || p.YhatProb.String() != answer {
		t.Errorf("after SIGHUP: %s from %s, want %s from %s", p.YhatProb, p.ModelVersion, answer, changed)
	}

	modeltest.Rewrite(t, modelDir, model.ModelFile, `{"learner"`, `{"learner`)
	server.hangUp(t, `msg="model reload refused"`)
	if p := server.predict(t, token); p.ModelVersion != changed {
		t.Errorf("after SIGHUP with a broken model.json: answered by %s, want %s still", p.ModelVersion, changed)
	}

	tables := openTables(t, "sqlite://"+filepath.Join(dir, "data", "mlapi.db"))
	defer tables.Close()
	var loads int
	if err := tables.QueryRow("SELECT count(*) FROM models").Scan(&loads); err != nil {
		t.Fatal(err)
	}
	if loads != 2 {
		t.Errorf("%d rows in models, want 2: start-up and the reload", loads)
	}
	if err := server.stop(t); err != nil {
		t.Errorf("SIGTERM after SIGHUPs: %v", err)
	}
}

// hangUp sends SIGHUP and waits until the server logs want once more than
// before.
func (p *process) hangUp(t *testing.T, want string) {
	t.Helper()
	before := strings.Count(p.logs.String(), want)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for strings.Count(p.logs.String(), want) == before {
		select {
		case err := <-p.exited:
			t.Fatalf("the server exited after SIGHUP: %v", err)
		case <-ctx.Done():
			t.Fatalf("no %s logged within 30s of SIGHUP", want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
