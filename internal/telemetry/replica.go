package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlapi/mlapi/internal/store"
)

// ReplicaReads registers the routed reads' metrics and returns their
// observer, for store.Options.Reads when a read replica is configured:
// reads by where they were answered, and reads the primary took in the
// replica's place, by reason. Call it once.
func (m *Metrics) ReplicaReads() store.ReadObserver {
	reads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mlapi_db_reads_total",
		Help: "History, stats and performance reads, by where they were answered (primary, replica), with a read replica configured.",
	}, []string{"target"})
	fallbacks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mlapi_db_replica_fallbacks_total",
		Help: "Reads the primary answered in the read replica's place, by reason: unavailable (down or no standby), lagging (behind by more than DATABASE_READ_MAX_LAG), recent_write (the user's last write not replayed yet), failed (the read failed on the replica).",
	}, []string{"reason"})
	m.registry.MustRegister(reads, fallbacks)
	// Every series from the start, so that a rate over them is defined
	// before the first fallback.
	return replicaReads{
		primary:     reads.WithLabelValues(store.ReadPrimary),
		replica:     reads.WithLabelValues(store.ReadReplica),
		unavailable: fallbacks.WithLabelValues(store.FallbackUnavailable),
		lagging:     fallbacks.WithLabelValues(store.FallbackLagging),
		recentWrite: fallbacks.WithLabelValues(store.FallbackRecentWrite),
		failed:      fallbacks.WithLabelValues(store.FallbackFailed),
	}
}

type replicaReads struct {
	primary, replica                          prometheus.Counter
	unavailable, lagging, recentWrite, failed prometheus.Counter
}

func (r replicaReads) ObserveRead(target, fallback string) {
	if target == store.ReadReplica {
		r.replica.Inc()
	} else {
		r.primary.Inc()
	}
	switch fallback {
	case store.FallbackUnavailable:
		r.unavailable.Inc()
	case store.FallbackLagging:
		r.lagging.Inc()
	case store.FallbackRecentWrite:
		r.recentWrite.Inc()
	case store.FallbackFailed:
		r.failed.Inc()
	}
}
