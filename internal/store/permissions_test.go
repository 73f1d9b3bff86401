package store_test

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/mlapi/mlapi/internal/store"
)

// A new SQLite database is the owner's alone: its directory 0700, and the
// database file with the -wal and -shm files SQLite makes beside it 0600,
// whatever the umask lets through. (The mode bits are checked, which holds
// for root too.)
func TestSQLiteFilesAreTheOwners(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	// A permissive umask must not matter; it is process-wide, so no t.Parallel.
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	tests := []struct {
		name   string
		prefix string
		dir    string // under the temporary directory; created by Open
	}{
		{"sqlite URL, new directories", "sqlite://", "a/b"},
		{"file URL, existing directory", "file:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, tt.dir)
			path := filepath.Join(dir, "mlapi.db")
			db := openWith(t, tt.prefix+path, store.Options{})
			// A write, so that the -wal and -shm files exist.
			createUser(t, db, "perm")
			want := map[string]os.FileMode{path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600}
			if tt.dir != "" {
				want[dir] = 0o700
				want[filepath.Dir(dir)] = 0o700
			}
			for file, mode := range want {
				info, err := os.Stat(file)
				if err != nil {
					t.Fatal(err)
				}
				if got := info.Mode().Perm(); got != mode {
					t.Errorf("%s: mode %#o, want %#o", filepath.Base(file), got, mode)
				}
			}
		})
	}
}

// An existing database file keeps the mode its operator gave it.
func TestSQLiteExistingFileKeepsItsMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mlapi.db")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	db := openWith(t, "sqlite://"+path, store.Options{})
	createUser(t, db, "perm")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o640 {
		t.Errorf("mode %#o, want the existing 0640", got)
	}
}
