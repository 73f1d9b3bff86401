package auth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// SecretFileName is the file LoadOrCreateSecret keeps the JWT secret in.
const SecretFileName = "jwt_secret"

// maxSecretFile bounds what is read from the secret file: a real one is 65
// bytes, anything much larger is not a secret file.
const maxSecretFile = 1024

// LoadOrCreateSecret returns the JWT secret kept in dir/jwt_secret as hex
// (e.g. the output of `openssl rand -hex 32`), creating dir (0700) and the
// file (0600) with 32 fresh random bytes when it does not exist yet. Two
// processes starting at once end up with the same secret. It refuses a file
// that group or others may read, or whose secret ValidateSecret refuses.
func LoadOrCreateSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, SecretFileName)
	secret, err := readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := createSecret(dir, path); err != nil {
		return nil, err
	}
	// Read back what is on disk: when another process won the race, that
	// is its secret, not ours.
	return readSecret(path)
}

func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: open JWT secret: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth: stat JWT secret: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("auth: JWT secret %s is not a regular file", path)
	}
	// Windows has no Unix permission bits to check; its ACLs are its own.
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("auth: JWT secret %s has mode %#o: group and others must have no access (chmod 600 %s)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("auth: read JWT secret: %w", err)
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("auth: JWT secret %s is larger than %d bytes", path, maxSecretFile)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("auth: JWT secret %s is not hex: %w", path, err)
	}
	if err := ValidateSecret(secret); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return secret, nil
}

// createSecret writes a new secret to a temporary file and links it to path.
// Linking, unlike renaming, fails when path exists, so a process that loses
// the race keeps the winner's secret, and no reader ever sees a partial file.
func createSecret(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("auth: create JWT secret directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, SecretFileName+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("auth: create JWT secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	content := hex.EncodeToString(randomBytes(MinSecretLen)) + "\n"
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: write JWT secret: %w", err)
	}
	// Flush before the file becomes visible, so a crash cannot leave an
	// empty secret file behind under the real name.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: sync JWT secret: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("auth: close JWT secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("auth: install JWT secret: %w", err)
	}
	return nil
}
