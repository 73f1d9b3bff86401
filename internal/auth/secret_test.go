package auth

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateSecretCreatesAndReuses(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "auth") // parents do not exist yet
	first, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if len(first) != MinSecretLen {
		t.Errorf("secret is %d bytes, want %d", len(first), MinSecretLen)
	}
	if runtime.GOOS != "windows" {
		assertMode(t, dir, 0o700)
		assertMode(t, filepath.Join(dir, SecretFileName), 0o600)
	}
	second, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Error("second call returned a different secret")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only %s (temporary files left behind?)", len(entries), SecretFileName)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}

func TestLoadOrCreateSecretRace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 8
	secrets := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { secrets[i], errs[i] = LoadOrCreateSecret(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Fatalf("callers 0 and %d got different secrets", i)
		}
	}
}

func TestLoadOrCreateSecretReadsExisting(t *testing.T) {
	t.Parallel()
	want := randomBytes(48)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"hex with newline", hex.EncodeToString(want) + "\n", 0o600, ""},
		{"owner read-only", hex.EncodeToString(want), 0o400, ""},
		{"group readable", hex.EncodeToString(want), 0o640, "group and others"},
		{"world readable", hex.EncodeToString(want), 0o644, "group and others"},
		{"short", hex.EncodeToString(want[:31]), 0o600, "want at least 32"},
		{"empty", "", 0o600, "want at least 32"},
		{"not hex", strings.Repeat("z", 64), 0o600, "not hex"},
		{"not random", strings.Repeat("ab", 48), 0o600, "not random"},
		{"huge", strings.Repeat("ab", maxSecretFile), 0o600, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.mode&0o077 != 0 && runtime.GOOS == "windows" {
				t.Skip("no Unix permission bits on Windows")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, SecretFileName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // WriteFile's mode is masked by umask
				t.Fatal(err)
			}
			got, err := LoadOrCreateSecret(dir)
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("LoadOrCreateSecret = %x, %v; want %x", got, err, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadOrCreateSecret error = %v, want one mentioning %q", err, tt.wantErr)
			}
			// A refused file is left for the operator to fix, never replaced.
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Errorf("the refused secret file was changed")
			}
		})
	}
}

func TestLoadOrCreateSecretRefusesDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, SecretFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSecret(dir); err == nil {
		t.Error("a directory named jwt_secret was accepted")
	}
}

// TestCreateSecretKeepsWinner plays the losing side of a start-up race: the
// file appeared after this process found it missing. Its content must stay.
func TestCreateSecretKeepsWinner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, SecretFileName)
	winner := hex.EncodeToString(bytes.Repeat([]byte{1}, MinSecretLen))
	if err := os.WriteFile(path, []byte(winner), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := createSecret(dir, path); err != nil {
		t.Fatalf("createSecret: %v", err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != winner {
		t.Errorf("secret file now holds %q, %v; want the winner's %q", data, err, winner)
	}
}
