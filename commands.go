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

// migrateCommand applies pending migrations ("up", the default) or lists
// them ("status").
func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	action := "up"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxOpenConns: 2})
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
	case "status":
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
	return fmt.Errorf("migrate: unknown action %q (want up or status)", action)
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
	fs := flag.NewFlagSet("mlapi user "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.Bool("admin", false, "create an administrator (create only)")
	username := fs.String("username", "", "the user's name")
	email := fs.String("email", "", "the new user's email address (create only)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "database ($DATABASE_URL)")
	if err := fs.Parse(args[1:]); err != nil {
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
	db, err := store.Open(ctx, *databaseURL, store.Options{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
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

// createUser registers a user or an administrator. It needs no tokens: the
// service's token half stays unused.
func createUser(ctx context.Context, db *store.DB, r account.Registration, admin bool, stdout io.Writer) error {
	accounts := account.NewService(db, auth.NewPasswords(auth.DefaultPasswordParams(), 1), nil, nil)
	create := accounts.Register
	if admin {
		create = accounts.CreateAdmin
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
