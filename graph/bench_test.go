package graph

import "testing"

// BenchmarkDocuments times issue 7's documents through the handler, with
// the documents a client sends every day for comparison:
//
//	go test -run '^$' -bench Documents -benchmem ./graph
func BenchmarkDocuments(b *testing.B) {
	h := newTestHandler(b, DefaultLimits())
	for _, bm := range []struct{ name, query string }{
		{"model", `{ model { version features { name min max } } }`},
		{"introspection", introspectionQuery},
		{"conflicts_550_pairs", conflictDocument(550)},
		{"conflicts_4500_capped", spreadConflictDocument(45, 20)},
		{"fragment_bomb_26", fragmentBomb(26, "model", "ModelInfo", "version")},
		{"fragment_bomb_100", fragmentBomb(100, "model", "ModelInfo", "version")},
		{"fragment_bomb_400", fragmentBomb(400, "model", "ModelInfo", "version")},
		{"fragment_bomb_introspection_40", fragmentBomb(40, "__schema", "__Schema", "description")},
		{"document_27KB", cacheDocument(1, 900, 27000)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				post(b, h, bm.query)
			}
		})
	}
}
