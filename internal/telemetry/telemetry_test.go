package telemetry

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// samples gathers g into one value per series, named as Prometheus writes
// them (name{label="value",...}, labels in name order): a counter's or a
// gauge's value, a histogram's count and sum as name_count and name_sum.
func samples(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			series := "{" + strings.Join(labels, ",") + "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[f.GetName()+series] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[f.GetName()+series] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[f.GetName()+"_count"+series] = float64(m.GetHistogram().GetSampleCount())
				out[f.GetName()+"_sum"+series] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// withPrefix keeps the samples whose name starts with prefix.
func withPrefix(all map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range all {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func wantSamples(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s = %v", k, v)
		}
	}
}

var (
	testPaths      = []string{"/query", "/graphql", "/export", "/", "/app/"}
	testOperations = []string{"mutation/predict", "query/me", "subscription/requestLogged"}
)

// Each request counts under its path class, operation, status class and
// first error code; whatever lies outside the known sets counts as other,
// and a stream's lifetime is not taken for a latency.
func TestRequests(t *testing.T) {
	t.Parallel()
	m := New()
	observer := m.Requests(testPaths, testOperations)
	predict := httpserver.RequestSummary{Method: "POST", Path: "/query", Status: 200, Elapsed: time.Millisecond, OperationType: "mutation", RootField: "predict"}
	with := func(s httpserver.RequestSummary, change func(*httpserver.RequestSummary)) httpserver.RequestSummary {
		change(&s)
		return s
	}
	for _, s := range []httpserver.RequestSummary{
		predict,
		predict,
		with(predict, func(s *httpserver.RequestSummary) { s.ErrorCode = "BAD_USER_INPUT" }),
		with(predict, func(s *httpserver.RequestSummary) {
			s.Path = "/graphql"
			s.Status = 503
			s.ErrorCode = "SERVICE_UNAVAILABLE"
		}),
		with(predict, func(s *httpserver.RequestSummary) { s.RootField = "predictEverything" }),
		with(predict, func(s *httpserver.RequestSummary) { s.OperationType = "banana" }),
		with(predict, func(s *httpserver.RequestSummary) { s.ErrorCode = "a code no server writes" }),
		{Method: "GET", Path: "/app/main.js", Status: 200, Elapsed: time.Millisecond},
		{Method: "GET", Path: "/app", Status: 301, Elapsed: time.Millisecond},
		{Method: "GET", Path: "/", Status: 200, Elapsed: time.Millisecond},
		{Method: "GET", Path: "/export/../../etc/passwd", Status: 404, Elapsed: time.Millisecond},
		{Method: "GET", Path: "/wp-admin", Status: 404, Elapsed: time.Millisecond},
		{Method: "GET", Path: "/query", Status: 999, Elapsed: time.Millisecond},
		{Method: "POST", Path: "/query", Status: 200, Elapsed: time.Hour, Stream: true, OperationType: "subscription", RootField: "requestLogged"},
	} {
		observer.ObserveRequest(s)
	}
	got := samples(t, m.registry)
	series := func(path, operation, status, code string) string {
		return fmt.Sprintf(`mlapi_http_requests_total{code=%q,operation=%q,path=%q,status=%q}`, code, operation, path, status)
	}
	wantSamples(t, withPrefix(got, "mlapi_http_requests_total"), map[string]float64{
		series("/query", "mutation/predict", "2xx", "none"):                  2,
		series("/query", "mutation/predict", "2xx", "BAD_USER_INPUT"):        1,
		series("/graphql", "mutation/predict", "5xx", "SERVICE_UNAVAILABLE"): 1,
		series("/query", "other", "2xx", "none"):                             2,
		series("/query", "mutation/predict", "2xx", "other"):                 1,
		series("/app", "none", "2xx", "none"):                                1,
		series("/app", "none", "3xx", "none"):                                1,
		series("/", "none", "2xx", "none"):                                   1,
		series("other", "none", "4xx", "none"):                               2,
		series("/query", "none", "other", "none"):                            1,
		series("/query", "subscription/requestLogged", "2xx", "none"):        1,
	})
	latency := func(path, operation string) string {
		return fmt.Sprintf(`mlapi_http_request_duration_seconds_count{operation=%q,path=%q}`, operation, path)
	}
	wantSamples(t, withPrefix(got, "mlapi_http_request_duration_seconds_count"), map[string]float64{
		latency("/query", "mutation/predict"):   4,
		latency("/graphql", "mutation/predict"): 1,
		latency("/query", "other"):              2,
		latency("/app", "none"):                 2,
		latency("/", "none"):                    1,
		latency("other", "none"):                2,
		latency("/query", "none"):               1,
	})
}

// However many distinct codes requests carry, the code label takes at most
// maxErrorCodes values besides none and other.
func TestErrorCodesAreBounded(t *testing.T) {
	t.Parallel()
	m := New()
	observer := m.Requests(testPaths, testOperations)
	for i := range 10 * maxErrorCodes {
		observer.ObserveRequest(httpserver.RequestSummary{Path: "/query", Status: 200, OperationType: "query", RootField: "me", ErrorCode: fmt.Sprintf("CODE_%d", i)})
	}
	got := withPrefix(samples(t, m.registry), "mlapi_http_requests_total")
	if len(got) != maxErrorCodes+1 {
		t.Errorf("%d series, want %d: one per admitted code, and other", len(got), maxErrorCodes+1)
	}
	if other := got[`mlapi_http_requests_total{code="other",operation="query/me",path="/query",status="2xx"}`]; other != 9*maxErrorCodes {
		t.Errorf("other counts %v, want %d", other, 9*maxErrorCodes)
	}
}

// Predictions count once logged, by status under the version served; a
// log that fails counts nothing. The log writes count with their size.
func TestPredictionsAndLogWrites(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		m := New()
		db, err := store.Open(t.Context(), storetest.URL(t, dialect), store.Options{LogWrites: m.LogWrites()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		user, err := db.CreateUser(t.Context(), store.NewUser{Username: "ada", Email: "ada@example.com", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"})
		if err != nil {
			t.Fatal(err)
		}
		log := m.PredictionLog(db, "v1")
		m.PredictionLog(db, "v2") // served, never used
		prob, yhat, code := 0.5, 1, "BAD_USER_INPUT"
		entries := []struct {
			entry  store.PredictionLog
			logged bool
		}{
			{store.PredictionLog{UserID: user.ID, Input: json.RawMessage(`{"age": 1}`), Output: json.RawMessage(`{"yhat_prob": "0.5", "yhat": "1"}`), YhatProb: &prob, Yhat: &yhat, ModelVersion: "v1", Status: store.StatusOK}, true},
			{store.PredictionLog{UserID: user.ID, Input: json.RawMessage(`{"age": 2}`), Output: json.RawMessage(`{"yhat_prob": "0.5", "yhat": "1"}`), YhatProb: &prob, Yhat: &yhat, ModelVersion: "v1", Status: store.StatusOK}, true},
			{store.PredictionLog{UserID: user.ID, Input: json.RawMessage(`{"age": -1}`), Output: json.RawMessage(`{"error": "age out of range"}`), ModelVersion: "v1", Status: store.StatusInvalidInput, ErrorCode: &code}, true},
			{store.PredictionLog{UserID: user.ID + 1000, Input: json.RawMessage(`{"age": 3}`), Output: json.RawMessage(`{"yhat_prob": "0.5", "yhat": "1"}`), YhatProb: &prob, Yhat: &yhat, ModelVersion: "v1", Status: store.StatusOK}, false},
		}
		for i, e := range entries {
			if _, err := log.LogPrediction(t.Context(), e.entry); (err == nil) != e.logged {
				t.Fatalf("entry %d: %v", i, err)
			}
		}
		got := samples(t, m.registry)
		wantSamples(t, withPrefix(got, "mlapi_predictions_total"), map[string]float64{
			`mlapi_predictions_total{model_version="v1",status="ok"}`:            2,
			`mlapi_predictions_total{model_version="v1",status="invalid_input"}`: 1,
			`mlapi_predictions_total{model_version="v2",status="ok"}`:            0,
			`mlapi_predictions_total{model_version="v2",status="invalid_input"}`: 0,
		})
		// Every call was written alone, the refused user's too (its write
		// succeeds and writes nothing for it).
		wantSamples(t, withPrefix(got, "mlapi_prediction_log_"), map[string]float64{
			`mlapi_prediction_log_batch_size_count{}`:                           4,
			`mlapi_prediction_log_batch_size_sum{}`:                             4,
			`mlapi_prediction_log_write_duration_seconds_count{result="ok"}`:    4,
			`mlapi_prediction_log_write_duration_seconds_sum{result="ok"}`:      got[`mlapi_prediction_log_write_duration_seconds_sum{result="ok"}`],
			`mlapi_prediction_log_write_duration_seconds_count{result="error"}`: 0,
			`mlapi_prediction_log_write_duration_seconds_sum{result="error"}`:   0,
		})
	})
}

// The pools, the subscriptions and the model are read at each scrape.
func TestCollectedAtScrape(t *testing.T) {
	t.Parallel()
	m := New()
	db, err := store.Open(t.Context(), storetest.URL(t, store.SQLite), store.Options{MaxOpenConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m.CollectPools(db)
	open, version := 2, "v1"
	m.CollectSubscriptions(func() int { return open })
	m.CollectModel(func() string { return version })

	got := samples(t, m.registry)
	for series, want := range map[string]float64{
		`mlapi_db_pool_max_open_connections{pool="read_write"}`: 1,
		`mlapi_db_pool_max_open_connections{pool="read_only"}`:  3,
		`mlapi_db_pool_waits_total{pool="read_only"}`:           0,
		`mlapi_subscriptions_open{}`:                            2,
		`mlapi_model_info{version="v1"}`:                        1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present: %v), want %v", series, v, ok, want)
		}
	}
	open, version = 0, "v2"
	got = samples(t, m.registry)
	wantSamples(t, withPrefix(got, "mlapi_model_info"), map[string]float64{`mlapi_model_info{version="v2"}`: 1})
	if got[`mlapi_subscriptions_open{}`] != 0 {
		t.Errorf("subscriptions open %v after they closed", got[`mlapi_subscriptions_open{}`])
	}
}

// Every series follows Prometheus' naming conventions.
func TestLint(t *testing.T) {
	t.Parallel()
	m := New()
	db, err := store.Open(t.Context(), storetest.URL(t, store.SQLite), store.Options{LogWrites: m.LogWrites()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m.CollectPools(db)
	m.CollectSubscriptions(func() int { return 0 })
	m.CollectModel(func() string { return "v1" })
	m.PredictionLog(db, "v1")
	m.Requests(testPaths, testOperations).ObserveRequest(httpserver.RequestSummary{Path: "/query", Status: 200})
	m.Accounts().ObserveLogin(account.ResultBadCredentials)
	m.Accounts().ObserveRegistration(account.ResultOK)
	m.LogWrites().ObserveLogWrite(1, time.Millisecond, nil)
	problems, err := testutil.GatherAndLint(m.registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "mlapi_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// Counting a request of a kind seen before allocates nothing.
func TestObserveRequestAllocatesNothing(t *testing.T) {
	m := New()
	observer := m.Requests(testPaths, testOperations)
	s := httpserver.RequestSummary{Method: "POST", Path: "/query", Status: 200, Elapsed: time.Millisecond, OperationType: "mutation", RootField: "predict"}
	observer.ObserveRequest(s)
	if allocs := testing.AllocsPerRun(100, func() { observer.ObserveRequest(s) }); allocs != 0 {
		t.Errorf("%v allocations per request", allocs)
	}
}

// BenchmarkObserveRequest is what the metrics add to a predict's path.
func BenchmarkObserveRequest(b *testing.B) {
	m := New()
	observer := m.Requests(testPaths, testOperations)
	s := httpserver.RequestSummary{Method: "POST", Path: "/query", Status: 200, Elapsed: time.Millisecond, OperationType: "mutation", RootField: "predict"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			observer.ObserveRequest(s)
		}
	})
}
