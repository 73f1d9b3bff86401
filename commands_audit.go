package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mlapi/mlapi/internal/audit"
	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
)

// auditCommand verifies the audit log: every chain from its start to its
// head, over the checkpoints retention and user deletions left. It prints
// what it checked and each chain's head, or the problems found, and then
// fails.
//
//	mlapi audit verify [--database-url URL] [--expect CHAIN:SEQ:HASH ...]
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: mlapi audit verify [--database-url URL] [--expect CHAIN:SEQ:HASH ...]\n" +
		"  verifies the audit log with the server's key (AUDIT_KEY, or derived from JWT_SECRET):\n" +
		"  names the first rows changed, deleted or inserted out of band, and exits non-zero"
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintln(stderr, usage)
			return flag.ErrHelp
		}
		return errors.New(usage)
	}
	fs := newFlagSet("mlapi audit verify", usage, stderr)
	var expected []audit.Head
	fs.Func("expect", "a chain's head logged before (the server logs its own at shutdown), which the chain must still pass through; repeatable", func(s string) error {
		h, err := audit.ParseHead(s)
		expected = append(expected, h)
		return err
	})
	databaseURL := config.DatabaseURLFlag(fs, getenv)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	db, key, err := openKeyed(ctx, *databaseURL, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	report, err := audit.Verify(ctx, db, key, expected...)
	if err != nil {
		return err
	}
	printAuditReport(stdout, report)
	if !report.OK() {
		return fmt.Errorf("audit: the log is not as it was written (%d problems%s)", len(report.Problems), more(report.MoreProblems))
	}
	return nil
}

// printAuditReport prints what a verification checked, each chain's head,
// and the problems it found.
func printAuditReport(w io.Writer, r audit.Report) {
	verdict := "OK"
	if !r.OK() {
		verdict = "NOT OK"
	}
	fmt.Fprintf(w, "audit log %s: %d chains, %d entries verified, %d deleted on purpose (%d checkpoints), %d from before the audit log; key %s; %v\n",
		verdict, r.Chains, r.Rows, r.PrunedRows, r.Checkpoints, r.UnchainedRows, r.KeyID, r.Took.Round(time.Millisecond))
	for _, h := range r.Heads {
		fmt.Fprintf(w, "head %s\n", h)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	if r.MoreProblems {
		fmt.Fprintf(w, "problem: more, past the first %d\n", audit.MaxProblems)
	}
}

func more(left bool) string {
	if left {
		return " and more"
	}
	return ""
}

// openKeyed opens and migrates the database at databaseURL for a command
// that writes or reads the audit log, keyed as the server is (from the
// environment's AUDIT_KEY or JWT_SECRET).
func openKeyed(ctx context.Context, databaseURL string, getenv func(string) string) (*store.DB, audit.Key, error) {
	cfg := commandConfig(databaseURL, getenv)
	key, err := auditKey(cfg)
	if err != nil {
		return nil, audit.Key{}, err
	}
	db, err := openDatabase(ctx, cfg, key, store.Options{})
	return db, key, err
}

// commandConfig is the configuration of a command that opens the database
// at databaseURL: the server's secrets from the environment, and a small
// pool.
func commandConfig(databaseURL string, getenv func(string) string) config.Config {
	return config.Config{DatabaseURL: databaseURL, DBMaxConns: 2, JWTSecret: getenv("JWT_SECRET"), AuditKey: getenv("AUDIT_KEY")}
}
