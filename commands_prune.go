package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
)

// pruneCommand deletes, on demand, what RETENTION deletes in the server:
// the logged requests older than --older-than, with their responses and
// outcomes, in batches; --dry-run counts them instead.
//
//	mlapi prune --older-than 365d [--database-url URL] [--batch N] [--dry-run]
func pruneCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: mlapi prune --older-than AGE [--database-url URL] [--batch N] [--dry-run]\n" +
		"  deletes the logged requests created more than AGE ago (365d, 720h; at least 1h),\n" +
		"  with their responses and outcomes, a batch of requests a transaction"
	fs := newFlagSet("mlapi prune", usage, stderr)
	olderThan := fs.String("older-than", "", "delete what was created longer ago than this: days (365d) or a duration (720h)")
	batch := fs.Int("batch", store.DefaultPruneBatch, fmt.Sprintf("requests deleted a transaction (1 to %d)", store.MaxPruneBatch))
	dryRun := fs.Bool("dry-run", false, "count what would be deleted, and delete nothing")
	databaseURL := config.DatabaseURLFlag(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	age, err := config.ParseRetention(*olderThan)
	if err != nil {
		return fmt.Errorf("prune: --older-than %w", err)
	}
	if age == 0 {
		return errors.New(usage)
	}
	if *batch < 1 || *batch > store.MaxPruneBatch {
		return fmt.Errorf("prune: --batch %d: want 1 to %d", *batch, store.MaxPruneBatch)
	}
	// Migrated, as the server would be: the prune reads by the index a
	// migration adds. Keyed as the server's: the prune seals the audit
	// log's checkpoints.
	db, _, err := openKeyed(ctx, *databaseURL, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	before := time.Now().Add(-age).UTC()
	if *dryRun {
		counts, err := db.CountLogBefore(ctx, before)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "would delete %d requests, %d responses and %d outcomes created before %s\n",
			counts.Requests, counts.Responses, counts.Outcomes, before.Format(time.RFC3339))
		return nil
	}
	began := time.Now()
	report, err := db.PruneLog(ctx, before, store.PruneOptions{BatchSize: *batch})
	// What was deleted stays deleted, error or not.
	fmt.Fprintf(stdout, "deleted %d requests, %d responses and %d outcomes created before %s, in %d batches (%v)\n",
		report.Requests, report.Responses, report.Outcomes, before.Format(time.RFC3339), report.Batches,
		time.Since(began).Round(time.Millisecond))
	return err
}
