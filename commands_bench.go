package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mlapi/mlapi/internal/loadgen"
)

// benchCommand drives a running server with the predict mutation and
// checks every answer and the log:
//
//	mlapi bench [--url URL] [--connections N] [--duration D] [--warmup D]
//	            [--username U --password P] [--input JSON] [--json]
//
// It exits non-zero on any error answer, and when the rows the server
// logged are not the answers it gave.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mlapi bench", "usage: mlapi bench [--url URL] [--connections N] [--duration D] [--warmup D] "+
		"[--username U --password P] [--input JSON] [--json]\n"+
		"Sends predict back to back over N keep-alive connections, checks every answer, prints throughput and\n"+
		"latency, and checks that the user's history grew by the predictions answered.", stderr)
	url := fs.String("url", "http://127.0.0.1:8080/query", "the GraphQL endpoint")
	connections := fs.Int("connections", 16, "clients, each on a keep-alive connection of its own")
	duration := fs.Duration("duration", 30*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 2*time.Second, "how long to send before measuring")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on one request")
	username := fs.String("username", "", "an existing user to send as (default: register a fresh bench-<random> user)")
	password := fs.String("password", "", "the password of --username")
	input := fs.String("input", "", "the PredictInput as JSON (default: the seed example, whose answer must be yhatProb "+
		loadgen.DefaultYhatProb+")")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := loadgen.Run(ctx, loadgen.Config{
		URL: *url, Connections: *connections, Duration: *duration, Warmup: *warmup, Timeout: *timeout,
		Username: *username, Password: *password, Input: json.RawMessage(*input),
	})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	return res.Err()
}
