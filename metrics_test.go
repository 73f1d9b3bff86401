package main

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store/storetest"
)

// scrape reads the metrics as Prometheus would, in its text format: each
// sample by its series as written, name{label="value",...} (labels in
// name order) or the bare name.
func (a *testAPI) scrape(t testing.TB) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	a.metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	samples := map[string]float64{}
	lines := bufio.NewScanner(rec.Body)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// total adds up the samples of name whose labels include every one of
// labels (`key="value"`).
func total(samples map[string]float64, name string, labels ...string) float64 {
	sum := 0.0
	for series, v := range samples {
		rest, ok := strings.CutPrefix(series, name)
		if !ok || rest != "" && rest[0] != '{' {
			continue
		}
		if !slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(rest, l) }) {
			sum += v
		}
	}
	return sum
}

// After a predict, a refused predict and a failed login, their series
// exist with the right labels and have moved by exactly what was done.
func TestMetrics(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "ada")
		before := api.scrape(t)

		// Twice: the first through gqlgen's executor, the second compiled.
		const predict = `mutation($in: PredictInput!) { predict(input: $in) { yhatProb modelVersion } }`
		var version string
		for range 2 {
			resp := api.post(t, token, predict, client.Var("in", seedInput()))
			var p struct{ ModelVersion string }
			resp.field(t, "predict", &p)
			version = p.ModelVersion
		}
		refused := seedInput()
		refused["age"] = -1
		if resp := api.post(t, token, predict, client.Var("in", refused)); resp.code() != "BAD_USER_INPUT" {
			t.Fatalf("a refused input: %s", resp.Raw)
		}
		if resp := api.post(t, "", predict, client.Var("in", seedInput())); resp.code() != "UNAUTHENTICATED" {
			t.Fatalf("predict without a token: %s", resp.Raw)
		}
		if resp := api.post(t, "", tokenMutation, client.Var("u", "ada"), client.Var("p", "not her password")); resp.code() != "UNAUTHENTICATED" {
			t.Fatalf("a wrong password: %s", resp.Raw)
		}
		after := api.scrape(t)

		moved := func(name string, labels ...string) float64 {
			return total(after, name, labels...) - total(before, name, labels...)
		}
		predictOp := `operation="mutation/predict"`
		for _, tt := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"mlapi_http_requests_total", []string{predictOp, `path="/query"`, `code="none"`, `status="2xx"`}, 2},
			{"mlapi_http_requests_total", []string{predictOp, `code="BAD_USER_INPUT"`}, 1},
			{"mlapi_http_requests_total", []string{predictOp, `code="UNAUTHENTICATED"`}, 1},
			{"mlapi_http_requests_total", []string{`operation="mutation/token"`, `code="UNAUTHENTICATED"`}, 1},
			{"mlapi_http_requests_total", []string{`operation="other"`}, 0},
			{"mlapi_http_request_duration_seconds_count", []string{predictOp, `path="/query"`}, 4},
			{"mlapi_predictions_total", []string{`status="ok"`, `model_version="` + version + `"`}, 2},
			{"mlapi_predictions_total", []string{`status="invalid_input"`, `model_version="` + version + `"`}, 1},
			{"mlapi_prediction_log_batch_size_sum", nil, 3},
			{"mlapi_login_attempts_total", []string{`result="bad_credentials"`}, 1},
			{"mlapi_login_attempts_total", []string{`result="ok"`}, 0},
		} {
			if got := moved(tt.name, tt.labels...); got != tt.want {
				t.Errorf("%s%v moved by %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		}
		// One write per prediction logged, each timed.
		if writes := moved("mlapi_prediction_log_write_duration_seconds_count", `result="ok"`); writes != moved("mlapi_prediction_log_batch_size_count") || writes < 1 {
			t.Errorf("%v writes timed, %v sized", writes, moved("mlapi_prediction_log_batch_size_count"))
		}
		for _, tt := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"mlapi_model_info", []string{`version="` + version + `"`}, 1},
			{"mlapi_build_info", []string{`goversion="` + runtime.Version() + `"`}, 1},
			{"mlapi_subscriptions_open", nil, 0},
			{"mlapi_registrations_total", []string{`result="ok"`}, 1},
			{"mlapi_login_attempts_total", []string{`result="ok"`}, 1},
		} {
			if got := total(after, tt.name, tt.labels...); got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		}
		if open := total(after, "mlapi_db_pool_open_connections", `pool="read_write"`); open < 1 {
			t.Errorf("%v connections open in the read_write pool", open)
		}
		if total(after, "go_goroutines") < 1 {
			t.Error("no Go runtime metrics")
		}

		// Never beside the API.
		if resp, _ := api.fetch(t, api.newRequest(t, http.MethodGet, "/metrics", "", nil)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("the API answers /metrics with %d, want 404", resp.StatusCode)
		}
	})
}

// No label carries a user: however many users register, log in, predict
// and fail, the series are those of one user, and no label value names
// any of them or their tokens.
func TestMetricsLabelsAreBounded(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, "sqlite")
	var names []string
	act := func(username string) {
		id, token := api.user(t, username)
		names = append(names, username, id, token)
		api.predict(t, token)
		api.post(t, "", tokenMutation, client.Var("u", username), client.Var("p", "not the password"))
		api.post(t, token, `query($id: ID!) { node(id: $id) { id } }`, client.Var("id", id))
	}
	act("user0")
	series := len(api.scrape(t))
	for i := 1; i < 12; i++ {
		act("user" + strconv.Itoa(i))
	}
	samples := api.scrape(t)
	if len(samples) != series {
		var grown []string
		for s := range samples {
			grown = append(grown, s)
		}
		slices.Sort(grown)
		t.Errorf("%d series after one user, %d after twelve:\n%s", series, len(samples), strings.Join(grown, "\n"))
	}
	for s := range samples {
		for _, name := range names {
			if strings.Contains(s, `"`+name+`"`) {
				t.Errorf("series %s names %q", s, name)
			}
		}
	}
}
