// Command benchfloor is the floor of a predict served over HTTP in Go: a
// bare net/http server that answers every POST by writing one prediction
// through mlapi's prediction log (internal/store: the same group commit, the
// same statement, the same audit chain) and a fixed answer, and does
// nothing else: no middleware, no access log, no token, no GraphQL, no
// model. scripts/bench-floor.sh measures it beside pgbench and mlapi, so
// that a lone client's latency splits into what the database takes, what
// any Go HTTP server in front of it adds on the machine, and what mlapi
// adds to that.
//
//	DATABASE_URL=postgres://... ADDR=127.0.0.1:8090 benchfloor -user mlapi-bench
//
// The database must be one mlapi has migrated, holding the user named. It
// logs, as mlapi does, a JSON line "serving" with the address it listens
// on (ADDR may name port 0), and answers GET /readyz.
// benchfloor is a measuring instrument, not a server to deploy.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mlapi/mlapi/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchfloor:", err)
		os.Exit(1)
	}
}

// logger is the part of *store.DB the handler uses.
type logger interface {
	LogPrediction(ctx context.Context, p store.PredictionLog) (store.LoggedPrediction, error)
}

func run() error {
	username := flag.String("user", "", "the user the predictions are logged for (required)")
	flag.Parse()
	if *username == "" {
		return errors.New("-user is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := store.Open(ctx, os.Getenv("DATABASE_URL"), store.Options{})
	if err != nil {
		return fmt.Errorf("open the database: %w", err)
	}
	defer db.Close()
	user, err := db.UserByUsername(ctx, *username)
	if err != nil {
		return fmt.Errorf("user %q: %w", *username, err)
	}
	ln, err := net.Listen("tcp", cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8090"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(db, user.ID), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.New(slog.NewJSONHandler(os.Stderr, nil)).Info("serving", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// The prediction every request logs: the seed's example, its input as mlapi
// stores it and the answer the served model gives it.
var (
	floorInput  = json.RawMessage(`{"age":25,"creatinine_phosphokinase":1000,"ejection_fraction":35,"high_blood_pressure":false,"platelets":500000,"serum_creatinine":8,"serum_sodium":135,"sex":true}`)
	floorOutput = json.RawMessage(`{"yhat_prob":"0.5124506","yhat":"1"}`)
	floorAnswer = []byte(`{"data":{"predict":{"yhatProb":0.5124506,"yhat":true}}}`)
)

// handler answers GET /readyz, and any POST by reading its body, logging
// the prediction, and answering once it is committed, as mlapi does.
func handler(db logger, userID int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/readyz":
			return
		case r.Method != http.MethodPost:
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 64<<10)); err != nil {
			http.Error(w, "the body could not be read", http.StatusBadRequest)
			return
		}
		prob, yhat := 0.5124506, 1
		_, err := db.LogPrediction(r.Context(), store.PredictionLog{
			UserID: userID, Input: floorInput, Output: floorOutput,
			YhatProb: &prob, Yhat: &yhat, ModelVersion: "benchfloor", Status: store.StatusOK,
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(floorAnswer)
	})
}
