package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// BenchmarkPredictHandler runs the seed example's predict through the whole
// handler, as the binary wires it (middleware, token, GraphQL, model, log),
// without the network: the server's CPU per predict, and what a profile of
// it shows.
//
//	go test -run '^$' -bench PredictHandler -benchmem -cpuprofile cpu.out .
//	go tool pprof -top -nodecount 40 cpu.out
//
// PostgreSQL runs when TEST_DATABASE_URL is set.
func BenchmarkPredictHandler(b *testing.B) {
	dialects := []string{store.SQLite}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dialects = append(dialects, store.Postgres)
	}
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			cfg := defaultConfig(b)
			cfg.DatabaseURL = storetest.URL(b, dialect)
			cfg.JWTSecret = randomSecret(b)
			a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.close() })
			server := httptest.NewServer(a.handler)
			b.Cleanup(server.Close)
			api := endpoint{base: server.URL, client: server.Client()}
			_, token := api.user(b, "bench")
			// What a client of the seed's API asks for: the answer, not its
			// explanation.
			const predict = `mutation($in: PredictInput!) { predict(input: $in) { id requestId yhatProb yhat modelVersion createdAt } }`
			body := mustJSON(map[string]any{"query": predict, "variables": map[string]any{"in": seedInput()}})

			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+token)
					req.RemoteAddr = "127.0.0.1:1234"
					rec := httptest.NewRecorder()
					a.handler.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"yhatProb":0.5124506`) {
						panic(fmt.Sprintf("predict: %d %s", rec.Code, rec.Body.String()))
					}
				}
			})
		})
	}
}
