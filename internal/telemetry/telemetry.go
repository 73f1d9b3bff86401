// Package telemetry exports mlapi's figures to Prometheus: HTTP requests by
// operation and outcome, predictions by status and model version, the
// prediction log's writes, the database pools, logins and registrations,
// open subscriptions, and the build and model served.
//
// It owns a registry of its own, never the process-wide default, which
// Handler serves on a listener apart from the API's. The services report
// through small observer interfaces of their own (httpserver, store,
// account) or are read at each scrape; none imports this package. Every
// label takes its values from a bounded set, never from a user id, a
// token or text a client chose, and the series a request touches are
// looked up without allocating.
package telemetry

import (
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets suit mlapi's requests and writes: a predict takes about a
// millisecond, and requests and writes are cut at 10 seconds.
func latencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// Metrics holds the registry and the collectors the request path feeds.
type Metrics struct {
	registry *prometheus.Registry

	requests        *prometheus.CounterVec
	requestSeconds  *prometheus.HistogramVec
	predictions     *prometheus.CounterVec
	logWriteSeconds *prometheus.HistogramVec
	logBatchSize    prometheus.Histogram
	logins          *prometheus.CounterVec
	registrations   *prometheus.CounterVec
}

// New returns the metrics, with the Go runtime's, the process's and the
// build's already registered. The parts read at each scrape are added by
// CollectPools, CollectSubscriptions and CollectModel.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlapi_http_requests_total",
			Help: "HTTP requests answered, by path, GraphQL operation (type/root field), status class and first GraphQL error code.",
		}, []string{"path", "operation", "status", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mlapi_http_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by path and GraphQL operation; subscriptions' streams are left out.",
			Buckets: latencyBuckets(),
		}, []string{"path", "operation"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlapi_predictions_total",
			Help: "Predictions logged, by status (ok, invalid_input) and model version.",
		}, []string{"status", "model_version"}),
		logWriteSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mlapi_prediction_log_write_duration_seconds",
			Help:    "Time one write of the prediction log (one commit) took, by result (ok, error).",
			Buckets: latencyBuckets(),
		}, []string{"result"}),
		logBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mlapi_prediction_log_batch_size",
			Help:    "Predictions written together in one write of the prediction log (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7), // 1 to 64, the largest batch
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlapi_login_attempts_total",
			Help: "Token (login) calls, by result: ok, or the reason of the refusal.",
		}, []string{"result"}),
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlapi_registrations_total",
			Help: "registerUser calls, by result: ok, or the reason of the refusal.",
		}, []string{"result"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
		m.requests, m.requestSeconds, m.predictions, m.logWriteSeconds, m.logBatchSize, m.logins, m.registrations,
	)
	return m
}

// Handler serves the metrics in Prometheus' formats, its failures logged.
func (m *Metrics) Handler(logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
		// Scrapes come every few seconds at most: more at once is a mistake
		// or an attack, and each gathers everything.
		MaxRequestsInFlight: 4,
	})
}

// buildInfo is mlapi_build_info, always 1: the binary's module version and
// VCS revision (as go build recorded them) and the Go version it was built
// with, so that a dashboard can tell which build answered.
func buildInfo() prometheus.Collector {
	version, revision := "unknown", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "mlapi_build_info",
		Help:        "Always 1: the build's module version, VCS revision and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}
