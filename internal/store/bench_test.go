package store_test

import (
	"testing"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// BenchmarkLogPrediction measures one client logging predictions back to
// back: the latency of the check-and-two-inserts.
func BenchmarkLogPrediction(b *testing.B) {
	for _, d := range storetest.Open(b) {
		// Outside b.Run, which calls its function once per b.N it tries.
		p := okLog(createUser(b, d.DB, "ada").ID, 1)
		b.Run(d.Name, func(b *testing.B) {
			for b.Loop() {
				if _, err := d.DB.LogPrediction(b.Context(), p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkLogPredictionParallel measures throughput with 8 clients per
// GOMAXPROCS (16 on two cores, as pgbench's reference figure had), all
// logging for one user. logs/write is how many predictions shared a write
// (and so a commit) on average.
func BenchmarkLogPredictionParallel(b *testing.B) {
	for _, d := range storetest.Open(b) {
		// Outside b.Run, which calls its function once per b.N it tries.
		p := okLog(createUser(b, d.DB, "ada").ID, 1)
		b.Run(d.Name, func(b *testing.B) {
			b.SetParallelism(8)
			writes := store.LogWrites(d.DB)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := d.DB.LogPrediction(b.Context(), p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			b.ReportMetric(float64(b.N)/float64(max(store.LogWrites(d.DB)-writes, 1)), "logs/write")
		})
	}
}
