package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/model"
)

// modelDirWith copies the served model into a directory of its own, with
// reference.json holding reference unless it is empty.
func modelDirWith(t *testing.T, reference string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{model.ModelFile, model.SchemaFile} {
		data, err := os.ReadFile(filepath.Join("testdata", "served", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if reference != "" {
		if err := os.WriteFile(filepath.Join(dir, model.ReferenceFile), []byte(reference), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadReference(t *testing.T) {
	t.Parallel()
	shipped, err := os.ReadFile("../../model/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.LoadDir(modelDirWith(t, string(shipped)))
	if err != nil {
		t.Fatal(err)
	}
	ref := m.Info().Reference
	if ref == nil || len(ref.Features) != len(m.Features()) {
		t.Fatalf("reference %+v", ref)
	}
	for i, f := range m.Features() {
		if ref.Features[i].Name != f.Name {
			t.Errorf("reference feature %d is %s, want the model's order (%s)", i, ref.Features[i].Name, f.Name)
		}
	}

	// Without the file: no reference, no error.
	if m, err := model.LoadDir(modelDirWith(t, "")); err != nil || m.Info().Reference != nil {
		t.Fatalf("no reference.json: %v, %v", m, err)
	}

	// A reference of other features, or a broken one, stops the load
	// naming the file.
	for _, bad := range []string{
		`{"features": [{"name": "age", "cuts": [], "shares": [1]}]}`,
		strings.Replace(string(shipped), `"serum_sodium"`, `"sodium"`, 1),
		`{"features": [`,
	} {
		_, err := model.LoadDir(modelDirWith(t, bad))
		if err == nil || !strings.Contains(err.Error(), model.ReferenceFile) {
			t.Errorf("bad reference: %v", err)
		}
	}
}
