// Package modeltest makes model directories for tests: copies of a model's
// files that a test may change, as an operator changes MODEL_DIR.
package modeltest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/model"
)

// ReferenceFile is the optional drift reference beside a model.
const ReferenceFile = "reference.json"

// Files are the files of a model directory.
var Files = []string{model.ModelFile, model.SchemaFile, ReferenceFile}

// Copy copies the model files in from into a new directory of t's and
// returns it.
func Copy(t testing.TB, from string) string {
	t.Helper()
	dir := t.TempDir()
	CopyFiles(t, dir, from, Files...)
	return dir
}

// CopyFiles copies the named files of the model in from into dir, removing
// from dir each that from lacks.
func CopyFiles(t testing.TB, dir, from string, names ...string) {
	t.Helper()
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(from, name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			Remove(t, dir, name)
			continue
		case err != nil:
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Remove removes the file name from dir, if it is there.
func Remove(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// Rewrite replaces the first old with new in the file name in dir, failing
// t when old is not there.
func Rewrite(t testing.TB, dir, name, old, new string) {
	t.Helper()
	path := filepath.Join(dir, name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), old) {
		t.Fatalf("test premise: %q not in %s", old, path)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Version is the version of the model in dir: the SHA-256 of its
// model.json.
func Version(t testing.TB, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, model.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// LowerBaseScore turns the served model's base score (0.5) in dir into 0.3:
// another model, of another version, whose every answer is lower.
func LowerBaseScore(t testing.TB, dir string) {
	t.Helper()
	Rewrite(t, dir, model.ModelFile, `"base_score":"5E-1"`, `"base_score":"3E-1"`)
}
