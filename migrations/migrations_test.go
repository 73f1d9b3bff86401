package migrations

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestNewLoadsEveryMigration(t *testing.T) {
	t.Parallel()
	ms, err := New()
	if err != nil {
		t.Fatal(err)
	}
	sorted := ms.Sorted()
	if len(sorted) == 0 || sorted[0].String() != "20261125000001_initial" {
		t.Fatalf("migrations %v, want 20261125000001_initial first", sorted)
	}
	for _, m := range sorted {
		if m.Up == nil || m.Down == nil {
			t.Fatalf("migration %s lacks a direction", m)
		}
	}
}

// Every embedded file must be one New accepted: a typo in a name would
// otherwise only show when the migration went missing.
func TestEmbeddedFileNamesParse(t *testing.T) {
	t.Parallel()
	entries, err := files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		if _, _, _, err := parseFileName(entry.Name()); err != nil {
			t.Error(err)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("SELECT 1")}
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"missing down", []string{"20260101000000_a.up.sql"}, "no down SQL"},
		{"one dialect only", []string{"20260101000000_a.pg.up.sql", "20260101000000_a.down.sql"}, "no up SQL for sqlite"},
		{"unknown dialect", []string{"20260101000000_a.mysql.up.sql"}, `unknown dialect "mysql"`},
		{"unknown direction", []string{"20260101000000_a.sideways.sql"}, `unknown direction "sideways"`},
		{"short version", []string{"2026_a.up.sql"}, "14 digits"},
		{"no name", []string{"20260101000000_.up.sql"}, "the name must be"},
		{"upper-case name", []string{"20260101000000_Init.up.sql"}, "the name must be"},
		{"not SQL", []string{"20260101000000_a.up.txt"}, "not a .sql file"},
		{"too many dots", []string{"20260101000000_a.pg.x.up.sql"}, "unexpected dots"},
		{"version reused", []string{
			"20260101000000_a.up.sql", "20260101000000_a.down.sql",
			"20260101000000_b.up.sql", "20260101000000_b.down.sql",
		}, "version used by both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, name := range tt.files {
				fsys[name] = file
			}
			_, err := load(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load(%v) = %v, want an error containing %q", tt.files, err, tt.want)
			}
		})
	}
}

func TestLoadAcceptsPortableAndDialectFiles(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("SELECT 1")}
	fsys := fstest.MapFS{
		"20260102000000_second.up.sql":         file,
		"20260102000000_second.down.sql":       file,
		"20260101000000_first.pg.up.sql":       file,
		"20260101000000_first.sqlite.up.sql":   file,
		"20260101000000_first.down.sql":        file,
		"20260103000000_third.up.sql":          file,
		"20260103000000_third.sqlite.up.sql":   file,
		"20260103000000_third.pg.down.sql":     file,
		"20260103000000_third.sqlite.down.sql": file,
	}
	ms, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms.Sorted() {
		names = append(names, m.String())
	}
	want := []string{"20260101000000_first", "20260102000000_second", "20260103000000_third"}
	if !slices.Equal(names, want) {
		t.Fatalf("loaded %v, want %v", names, want)
	}
}

func TestSourceFilePrefersTheDialect(t *testing.T) {
	t.Parallel()
	src := &source{version: "20260101000000", name: "a", files: map[fileKey]string{
		{up, portable}: "portable.up.sql",
		{up, "pg"}:     "pg.up.sql",
	}}
	tests := []struct{ dialect, want string }{
		{"pg", "pg.up.sql"},
		{"sqlite", "portable.up.sql"},
	}
	for _, tt := range tests {
		if got, err := src.file(up, tt.dialect); err != nil || got != tt.want {
			t.Errorf("file(up, %s) = %q, %v; want %q", tt.dialect, got, err, tt.want)
		}
	}
	if _, err := src.file(down, "pg"); err == nil {
		t.Error("file(down, pg) found SQL that does not exist")
	}
}

func TestStatements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       []string
	}{
		{"one", "CREATE TABLE a (id int);\n", []string{"CREATE TABLE a (id int);"}},
		{"split", "CREATE TABLE a (id int);\n\n--bun:split\n\nCREATE INDEX b ON a (id);\n",
			[]string{"CREATE TABLE a (id int);", "CREATE INDEX b ON a (id);"}},
		{"empty parts dropped", "--bun:split\n\n--bun:split\nSELECT 1\n--bun:split\n", []string{"SELECT 1"}},
		{"comments kept", "-- why\nSELECT 1", []string{"-- why\nSELECT 1"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		if got := statements(tt.body); !slices.Equal(got, tt.want) {
			t.Errorf("%s: statements = %q, want %q", tt.name, got, tt.want)
		}
	}
}
