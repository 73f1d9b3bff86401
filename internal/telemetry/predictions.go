package telemetry

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

// PredictionLog returns log, counting each prediction it logs (once
// committed) by status, under version: the model version of the
// prediction service log serves. The server makes one for every model it
// serves, so the versions counted are those this process has served, and
// the series of a version exist, at zero, from the moment it is served.
func (m *Metrics) PredictionLog(log prediction.Log, version string) prediction.Log {
	return countingLog{
		Log:     log,
		ok:      m.predictions.WithLabelValues(string(store.StatusOK), version),
		refused: m.predictions.WithLabelValues(string(store.StatusInvalidInput), version),
	}
}

type countingLog struct {
	prediction.Log
	ok, refused prometheus.Counter
}

func (l countingLog) LogPrediction(ctx context.Context, entry store.PredictionLog) (store.LoggedPrediction, error) {
	logged, err := l.Log.LogPrediction(ctx, entry)
	if err == nil {
		// A response is either answered or refused (store.Status).
		if entry.Status == store.StatusOK {
			l.ok.Inc()
		} else {
			l.refused.Inc()
		}
	}
	return logged, err
}

// CollectModel exports mlapi_model_info{version} 1 for the model served
// at each scrape, as version names it; a reload that swaps the model
// changes the series.
func (m *Metrics) CollectModel(version func() string) {
	m.registry.MustRegister(modelInfo{
		desc:    prometheus.NewDesc("mlapi_model_info", "Always 1: the version (the SHA-256 of model.json) of the model served now.", []string{"version"}, nil),
		version: version,
	})
}

type modelInfo struct {
	desc    *prometheus.Desc
	version func() string
}

func (c modelInfo) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c modelInfo) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, c.version())
}

// CollectSubscriptions exports mlapi_subscriptions_open, read from open at
// each scrape.
func (m *Metrics) CollectSubscriptions(open func() int) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mlapi_subscriptions_open",
		Help: "Subscriptions (requestLogged) open in this process, over websockets and event streams.",
	}, func() float64 { return float64(open()) }))
}
