// Package migrations holds mlapi's versioned schema, embedded in the binary.
//
// One timeline serves PostgreSQL and SQLite. A migration is a pair of files
// named VERSION_NAME.up.sql and VERSION_NAME.down.sql, VERSION being 14
// digits (a UTC timestamp, yyyymmddhhmmss) and NAME lower-case snake case.
// Where the two databases need different SQL, VERSION_NAME.pg.up.sql and
// VERSION_NAME.sqlite.up.sql (likewise for down) take the portable file's
// place for their dialect; a direction without a portable file must have
// both. Statements in a file are separated by a line reading "--bun:split",
// bun's own convention, and each file runs in one transaction, so a failed
// migration leaves nothing half done on either database.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var files embed.FS

// New returns the embedded migrations, oldest first.
func New() (*migrate.Migrations, error) {
	return load(files)
}

const (
	up   = "up"
	down = "down"

	// portable marks a file that serves every dialect.
	portable = ""
)

// dialects are the names bun gives the databases mlapi runs on
// (dialect.PG.String() and dialect.SQLite.String()).
func dialects() []string { return []string{"pg", "sqlite"} }

// fileKey says which direction and dialect a file serves.
type fileKey struct {
	direction string
	dialect   string
}

// source is one migration as found on disk.
type source struct {
	version string
	name    string
	files   map[fileKey]string
}

func load(fsys fs.FS) (*migrate.Migrations, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := make(map[string]*source)
	for _, entry := range entries {
		if entry.IsDir() {
			return nil, fmt.Errorf("migration %s: directories are not supported", entry.Name())
		}
		version, name, key, err := parseFileName(entry.Name())
		if err != nil {
			return nil, err
		}
		src := byVersion[version]
		if src == nil {
			src = &source{version: version, name: name, files: make(map[fileKey]string)}
			byVersion[version] = src
		}
		if src.name != name {
			return nil, fmt.Errorf("migration %s: version used by both %q and %q", version, src.name, name)
		}
		if other, ok := src.files[key]; ok {
			return nil, fmt.Errorf("migration %s: %s and %s serve the same dialect and direction", version, other, entry.Name())
		}
		src.files[key] = entry.Name()
	}

	versions := make([]string, 0, len(byVersion))
	for version := range byVersion {
		versions = append(versions, version)
	}
	slices.Sort(versions)

	ms := migrate.NewMigrations()
	for _, version := range versions {
		src := byVersion[version]
		if err := src.validate(); err != nil {
			return nil, err
		}
		ms.Add(migrate.Migration{
			Name:    src.version,
			Comment: src.name,
			Up:      src.step(fsys, up),
			Down:    src.step(fsys, down),
		})
	}
	return ms, nil
}

// parseFileName splits VERSION_NAME[.DIALECT].DIRECTION.sql.
func parseFileName(fname string) (version, name string, key fileKey, err error) {
	bad := func(why string) error {
		return fmt.Errorf("migration file %s: %s (want VERSION_NAME[.pg|.sqlite].up.sql or .down.sql)", fname, why)
	}
	base, ok := strings.CutSuffix(fname, ".sql")
	if !ok {
		return "", "", fileKey{}, bad("not a .sql file")
	}
	parts := strings.Split(base, ".")
	switch len(parts) {
	case 2:
		key.dialect = portable
	case 3:
		key.dialect = parts[1]
		if !slices.Contains(dialects(), key.dialect) {
			return "", "", fileKey{}, bad(fmt.Sprintf("unknown dialect %q", key.dialect))
		}
	default:
		return "", "", fileKey{}, bad("unexpected dots")
	}
	key.direction = parts[len(parts)-1]
	if key.direction != up && key.direction != down {
		return "", "", fileKey{}, bad(fmt.Sprintf("unknown direction %q", key.direction))
	}
	version, name, ok = strings.Cut(parts[0], "_")
	if !ok || len(version) != 14 || strings.Trim(version, "0123456789") != "" {
		return "", "", fileKey{}, bad("the version must be 14 digits followed by an underscore")
	}
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return "", "", fileKey{}, bad("the name must be lower-case letters, digits and underscores")
	}
	return version, name, key, nil
}

// validate checks that both directions have SQL for every dialect, so a
// missing file fails at start-up rather than halfway through a rollback.
func (s *source) validate() error {
	for _, direction := range []string{up, down} {
		for _, d := range dialects() {
			if _, err := s.file(direction, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// file names the SQL for direction on dialect d: its own file, else the
// portable one.
func (s *source) file(direction, d string) (string, error) {
	if fname, ok := s.files[fileKey{direction, d}]; ok {
		return fname, nil
	}
	if fname, ok := s.files[fileKey{direction, portable}]; ok {
		return fname, nil
	}
	return "", fmt.Errorf("migration %s_%s: no %s SQL for %s", s.version, s.name, direction, d)
}

// step returns the function bun runs for direction. It is a Go migration
// rather than bun's own SQL loader because only at run time is the dialect
// known, and so which of the files applies.
func (s *source) step(fsys fs.FS, direction string) func(context.Context, *migrate.Migrator, *migrate.Migration) error {
	return func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
		db := m.DB()
		fname, err := s.file(direction, db.Dialect().Name().String())
		if err != nil {
			return err
		}
		body, err := fs.ReadFile(fsys, fname)
		if err != nil {
			return fmt.Errorf("read %s: %w", fname, err)
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for i, stmt := range statements(string(body)) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s, statement %d: %w", fname, i+1, err)
				}
			}
			return nil
		})
	}
}

// statements splits a file at its "--bun:split" lines, dropping empty parts.
func statements(body string) []string {
	var stmts []string
	var current strings.Builder
	flush := func() {
		if stmt := strings.TrimSpace(current.String()); stmt != "" {
			stmts = append(stmts, stmt)
		}
		current.Reset()
	}
	for line := range strings.Lines(body) {
		if strings.TrimSpace(line) == "--bun:split" {
			flush()
			continue
		}
		current.WriteString(line)
	}
	flush()
	return stmts
}
