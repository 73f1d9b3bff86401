package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/audit"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/score"
	"github.com/mlapi/mlapi/internal/store"
)

// scoreCommand scores a CSV file offline: mlapi score --input in.csv
// --output out.csv [--model-dir DIR] [--explain].
func scoreCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlapi score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model-dir", "", "directory with model.json and input_schema.json (default: the built-in model)")
	input := fs.String("input", "-", "CSV to score, with a header of feature names; - for standard input")
	output := fs.String("output", "-", "where to write the scored CSV; - for standard output")
	explain := fs.Bool("explain", false, "add a contrib_<feature> column per feature and contrib_bias (TreeSHAP, log-odds)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	in := stdin
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return fmt.Errorf("score: %w", err)
		}
		defer f.Close()
		in = f
	}
	if *output == "-" {
		return score.Run(ctx, m, in, stdout, score.Options{Explain: *explain})
	}
	// Score into a temporary file and rename it, so a failed run never leaves
	// a half-written output behind.
	tmp, err := os.CreateTemp(dirOf(*output), ".score-*.csv")
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := score.Run(ctx, m, in, tmp, score.Options{Explain: *explain}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("score: write %s: %w", *output, err)
	}
	if err := os.Rename(tmp.Name(), *output); err != nil {
		return fmt.Errorf("score: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, os.PathSeparator); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// migrateCommand applies pending migrations ("up", the default), lists them
// ("status"), or reverts the group the last "up" applied ("down").
//
//	mlapi migrate [up|status|down] [--database-url URL]
func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: mlapi migrate [up|status|down] [--database-url URL]\n" +
		"  up      apply pending migrations (the default; the server does it at start-up too)\n" +
		"  status  list applied and pending migrations\n" +
		"  down    revert the group of migrations the last up applied"
	action := "up"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	if action != "up" && action != "status" && action != "down" {
		return fmt.Errorf("migrate: unknown action %q\n%s", action, usage)
	}
	fs := newFlagSet("mlapi migrate "+action, usage, stderr)
	databaseURL := config.DatabaseURLFlag(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := store.Open(ctx, *databaseURL, store.Options{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	switch action {
	case "up":
		if err := db.Migrate(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "down":
		reverted, err := db.Rollback(ctx)
		if err != nil {
			return err
		}
		for _, name := range reverted {
			fmt.Fprintln(stdout, "reverted", name)
		}
		if len(reverted) == 0 {
			fmt.Fprintln(stdout, "nothing to revert")
		}
		return nil
	}
	applied, pending, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied ", name)
	}
	for _, name := range pending {
		fmt.Fprintln(stdout, "pending ", name)
	}
	return nil
}

// newFlagSet returns a sub-command's flag set, whose -h prints usage and the
// flags to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a sub-command's flags, refusing stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments: %s", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return nil
}

// userCommand manages users from the command line, the only way to create
// an administrator or to act on one: the API refuses an administrator's
// operations on another administrator.
//
//	mlapi user create [--admin] --username U --email E   (password from stdin or a prompt)
//	mlapi user disable|enable|delete|revoke-tokens --username U
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	const usage = "usage: mlapi user create [--admin] --username U --email E (password from stdin or a prompt)\n" +
		"       mlapi user disable|enable|delete|revoke-tokens --username U"
	if len(args) == 0 {
		return errors.New(usage)
	}
	action := args[0]
	switch action {
	case "create", "disable", "enable", "delete", "revoke-tokens":
	default:
		return errors.New(usage)
	}
	fs := newFlagSet("mlapi user "+action, usage, stderr)
	admin := fs.Bool("admin", false, "create an administrator (create only)")
	username := fs.String("username", "", "the user's name")
	email := fs.String("email", "", "the new user's email address (create only)")
	databaseURL := config.DatabaseURLFlag(fs, getenv)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *username == "" {
		return errors.New(usage)
	}
	var password string
	if action == "create" {
		var err error
		if password, err = readPassword(stdin, stderr); err != nil {
			return err
		}
	}
	// Deleting a user seals the audit log's checkpoints for their
	// requests, with the server's key; the other actions write no log,
	// and need no key.
	open := func() (*store.DB, error) {
		return openDatabase(ctx, commandConfig(*databaseURL, getenv), audit.Key{}, store.Options{})
	}
	if action == "delete" {
		open = func() (*store.DB, error) {
			db, _, err := openKeyed(ctx, *databaseURL, getenv)
			return db, err
		}
	}
	db, err := open()
	if err != nil {
		return err
	}
	defer db.Close()
	if action == "create" {
		return createUser(ctx, db, account.Registration{Username: *username, Password: password, Email: *email}, *admin, stdout)
	}
	user, err := db.UserByUsername(ctx, *username)
	if err != nil {
		return fmt.Errorf("%s %q: %w", action, *username, err)
	}
	switch action {
	case "disable", "enable":
		// Disabling also ends every token the user holds.
		user, err = db.SetUserEnabled(ctx, user.ID, action == "enable")
	case "revoke-tokens":
		user, err = db.RevokeUserTokens(ctx, user.ID)
	case "delete":
		err = db.DeleteUser(ctx, user.ID)
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", action, *username, err)
	}
	fmt.Fprintf(stdout, "%s: %s %q (id %d)\n", action, user.Role, user.Username, user.ID)
	return nil
}

// createUser registers a user or an administrator.
func createUser(ctx context.Context, db *store.DB, r account.Registration, admin bool, stdout io.Writer) error {
	// One hash at a time: the command line creates one user.
	passwords, err := auth.NewPasswords(auth.PasswordConfig{MaxConcurrent: 1})
	if err != nil {
		return err
	}
	registry := account.NewRegistry(db, passwords)
	create := registry.Register
	if admin {
		create = registry.CreateAdmin
	}
	user, err := create(ctx, r)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	fmt.Fprintf(stdout, "created %s %q (id %d)\n", user.Role, user.Username, user.ID)
	return nil
}

// readPassword prompts without echo on a terminal, and otherwise reads the
// first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
