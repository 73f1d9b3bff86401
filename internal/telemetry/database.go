package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlapi/mlapi/internal/store"
)

// LogWrites returns the observer of the prediction log's writes, for
// store.Options: their time by result, and their size.
func (m *Metrics) LogWrites() store.LogWriteObserver {
	return logWrites{
		ok:     m.logWriteSeconds.WithLabelValues("ok"),
		failed: m.logWriteSeconds.WithLabelValues("error"),
		size:   m.logBatchSize,
	}
}

type logWrites struct {
	ok, failed, size prometheus.Observer
}

func (w logWrites) ObserveLogWrite(predictions int, took time.Duration, err error) {
	if err != nil {
		w.failed.Observe(took.Seconds())
	} else {
		w.ok.Observe(took.Seconds())
	}
	w.size.Observe(float64(predictions))
}

// pools is the database whose connection pools are exported.
type pools interface {
	PoolStats() []store.PoolStats
}

// CollectPools exports the figures of db's connection pools (database/sql's
// DBStats), read at each scrape, labelled by pool.
func (m *Metrics) CollectPools(db pools) {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("mlapi_db_pool_"+name, help, []string{"pool"}, nil)
	}
	m.registry.MustRegister(poolCollector{
		db:          db,
		maxOpen:     desc("max_open_connections", "The most connections the pool may open."),
		open:        desc("open_connections", "Connections open, in use or idle."),
		inUse:       desc("in_use_connections", "Connections in use."),
		idle:        desc("idle_connections", "Connections idle."),
		waits:       desc("waits_total", "Times a caller waited for a connection, the pool being exhausted."),
		waitSeconds: desc("wait_duration_seconds_total", "Time callers spent waiting for a connection."),
	})
}

type poolCollector struct {
	db                                             pools
	maxOpen, open, inUse, idle, waits, waitSeconds *prometheus.Desc
}

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waits, c.waitSeconds} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.db.PoolStats() {
		for _, v := range []struct {
			desc  *prometheus.Desc
			kind  prometheus.ValueType
			value float64
		}{
			{c.maxOpen, prometheus.GaugeValue, float64(p.MaxOpenConnections)},
			{c.open, prometheus.GaugeValue, float64(p.OpenConnections)},
			{c.inUse, prometheus.GaugeValue, float64(p.InUse)},
			{c.idle, prometheus.GaugeValue, float64(p.Idle)},
			{c.waits, prometheus.CounterValue, float64(p.WaitCount)},
			{c.waitSeconds, prometheus.CounterValue, p.WaitDuration.Seconds()},
		} {
			ch <- prometheus.MustNewConstMetric(v.desc, v.kind, v.value, p.Pool)
		}
	}
}
