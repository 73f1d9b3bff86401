package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/config"
)

// TestDeploymentFiles checks what deploy/ ships: the example environment
// sets only settings the server knows, to values it accepts, and the
// systemd unit passes systemd-analyze verify (where systemd is installed).
func TestDeploymentFiles(t *testing.T) {
	t.Parallel()
	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		env := readEnvFile(t, filepath.Join("deploy", "mlapi.env.example"))
		// The secrets are read from the environment only, without a flag.
		known := map[string]bool{"JWT_SECRET": true, "AUDIT_KEY": true}
		var help strings.Builder
		if _, err := config.Parse([]string{"-h"}, func(string) string { return "" }, &help); err == nil {
			t.Fatal("-h did not stop Parse")
		}
		for name := range env {
			if strings.Contains(help.String(), "($"+name+")") {
				known[name] = true
			}
			if !known[name] {
				t.Errorf("deploy/mlapi.env.example sets %s, which the server does not read", name)
			}
		}
		cfg, err := config.Parse(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("the example environment is refused: %v", err)
		}
		if cfg.GraphiQL || cfg.Introspection || len(cfg.TrustedProxies) == 0 || !strings.HasPrefix(cfg.Addr, "127.0.0.1:") {
			t.Errorf("the example is not the production setup it claims: %+v", cfg)
		}
	})
	t.Run("systemd unit", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the binary")
		}
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed")
		}
		unit, err := os.ReadFile(filepath.Join("deploy", "mlapi.service"))
		if err != nil {
			t.Fatal(err)
		}
		// The unit names the installed binary; verify it against the one
		// just built.
		dir := t.TempDir()
		text := strings.ReplaceAll(string(unit), "/usr/local/bin/mlapi", binary(t))
		text = strings.ReplaceAll(text, "/etc/mlapi/mlapi.env", filepath.Join(dir, "mlapi.env"))
		if err := os.WriteFile(filepath.Join(dir, "mlapi.env"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "mlapi.service")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", path).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
}

// readEnvFile reads NAME=VALUE lines, skipping blanks and comments.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=VALUE", path, line)
		}
		env[name] = value
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}
