package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestScoreCommand(t *testing.T) {
	t.Parallel()
	header := "sex,age,creatinine_phosphokinase,ejection_fraction,platelets,serum_creatinine,serum_sodium,high_blood_pressure\n"
	tests := []struct {
		name    string
		input   string
		args    []string
		wantErr string
		check   func(t *testing.T, rows [][]string)
	}{
		{
			name:  "seed example, columns in another order, with explanations",
			input: header + "1,25,1000,35,500000,8,135,0\n",
			args:  []string{"--explain"},
			check: func(t *testing.T, rows [][]string) {
				col := map[string]int{}
				for i, name := range rows[0] {
					col[name] = i
				}
				if rows[1][col["yhat_prob"]] != "0.5124506" || rows[1][col["yhat"]] != "1" || rows[1][col["sex"]] != "1" {
					t.Errorf("scored row %v (header %v)", rows[1], rows[0])
				}
				if _, ok := col["contrib_serum_creatinine"]; !ok {
					t.Errorf("no contribution columns: %v", rows[0])
				}
			},
		},
		{name: "a bad row names its line and writes nothing", input: header + "1,25,1000,35,500000,8,135,0\n1,abc,1000,35,500000,8,135,0\n", wantErr: "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.csv")
			if err := os.WriteFile(in, []byte(tt.input), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"score", "--input", in, "--output", out}, tt.args...)
			err := run(context.Background(), args, func(string) string { return "" }, nil, io.Discard, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tt.wantErr)
				}
				if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
					t.Errorf("a failed run left %s behind", out)
				}
				leftovers, _ := filepath.Glob(filepath.Join(dir, ".score-*"))
				if len(leftovers) > 0 {
					t.Errorf("temporary files left: %v", leftovers)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, rows)
		})
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		url := storetest.URL(t, dialect)
		getenv := func(k string) string {
			if k == "DATABASE_URL" {
				return url
			}
			return ""
		}
		// Each step runs after the ones before it, on the same database.
		steps := []struct {
			args        []string
			env         func(string) string
			want, never string // in the output, and never in it
		}{
			{args: []string{"migrate", "status"}, want: "pending", never: "applied"},
			{args: []string{"migrate"}, want: "migrations applied"},
			{args: []string{"migrate", "status"}, want: "applied", never: "pending"},
			// down reverts the group the last up applied: here, every
			// migration. The flag serves as $DATABASE_URL does.
			{args: []string{"migrate", "down", "--database-url", url}, env: func(string) string { return "" }, want: "reverted "},
			{args: []string{"migrate", "status"}, want: "pending", never: "applied"},
			{args: []string{"migrate", "down"}, want: "nothing to revert"},
		}
		for _, step := range steps {
			env := getenv
			if step.env != nil {
				env = step.env
			}
			var out bytes.Buffer
			if err := run(context.Background(), step.args, env, nil, &out, io.Discard); err != nil {
				t.Fatalf("%v: %v", step.args, err)
			}
			if !strings.Contains(out.String(), step.want) || (step.never != "" && strings.Contains(out.String(), step.never)) {
				t.Errorf("%v printed %q, want %q and no %q", step.args, out.String(), step.want, step.never)
			}
		}
	})
}

// TestSubcommandUsage: each sub-command's -h prints its own usage, and
// stray or unknown arguments are refused with it.
func TestSubcommandUsage(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	tests := []struct {
		args      []string
		wantHelp  bool   // -h: flag.ErrHelp, usage on stderr
		wantUsage string // in stderr, or in the error
	}{
		{args: []string{"migrate", "-h"}, wantHelp: true, wantUsage: "usage: mlapi migrate [up|status|down]"},
		{args: []string{"migrate", "status", "-h"}, wantHelp: true, wantUsage: "-database-url"},
		{args: []string{"user", "create", "-h"}, wantHelp: true, wantUsage: "usage: mlapi user create"},
		{args: []string{"migrate", "sideways"}, wantUsage: "usage: mlapi migrate"},
		{args: []string{"migrate", "up", "extra"}, wantUsage: "unexpected arguments: extra"},
		{args: []string{"user", "promote", "--username", "ada"}, wantUsage: "usage: mlapi user create"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, noEnv, strings.NewReader(""), io.Discard, &stderr)
			if tt.wantHelp != errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want ErrHelp: %v", err, tt.wantHelp)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if got := stderr.String() + err.Error(); !strings.Contains(got, tt.wantUsage) {
				t.Errorf("stderr and error %q, want %q", got, tt.wantUsage)
			}
		})
	}
}

// TestUserCommand: the command line creates administrators and acts on
// them, which the API refuses to do.
func TestUserCommand(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		url := storetest.URL(t, dialect)
		// The server's secret: deleting a user seals the audit log's
		// checkpoints with its key.
		secret := randomSecret(t)
		getenv := func(k string) string {
			switch k {
			case "DATABASE_URL":
				return url
			case "JWT_SECRET":
				return secret
			}
			return ""
		}
		user := func(args ...string) string {
			t.Helper()
			var out bytes.Buffer
			stdin := strings.NewReader("plum-violet-17-harbour\n")
			if err := run(context.Background(), append([]string{"user"}, args...), getenv, stdin, &out, io.Discard); err != nil {
				t.Fatalf("user %v: %v", args, err)
			}
			return out.String()
		}
		user("create", "--admin", "--username", "root", "--email", "root@example.com")
		user("create", "--admin", "--username", "deputy", "--email", "deputy@example.com")

		db, err := store.Open(context.Background(), url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		read := func() store.User {
			t.Helper()
			u, err := db.UserByUsername(context.Background(), "deputy")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		created := read()
		steps := []struct {
			args  []string
			check func(u store.User) bool
		}{
			{args: []string{"disable"}, check: func(u store.User) bool { return !u.Enabled && u.TokenGeneration > created.TokenGeneration }},
			{args: []string{"enable"}, check: func(u store.User) bool { return u.Enabled }},
			{args: []string{"revoke-tokens"}, check: func(u store.User) bool { return u.TokenGeneration > created.TokenGeneration+1 }},
		}
		for _, step := range steps {
			if out := user(append(step.args, "--username", "deputy")...); !strings.Contains(out, `"deputy"`) {
				t.Errorf("%v said %q", step.args, out)
			}
			if u := read(); !step.check(u) {
				t.Errorf("after %v: %+v", step.args, u)
			}
		}
		user("delete", "--username", "deputy")
		if _, err := db.UserByUsername(context.Background(), "deputy"); err == nil {
			t.Error("deputy still exists after delete")
		}
		err = run(context.Background(), []string{"user", "disable", "--username", "nobody"}, getenv, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "nobody") {
			t.Errorf("disable of an unknown user: %v", err)
		}
	})
}
