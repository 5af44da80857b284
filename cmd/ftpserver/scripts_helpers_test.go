package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildServer builds the bundled server into the test's temporary directory and returns the
// binary's path.
func buildServer(t *testing.T) string {
	t.Helper()

	binary := filepath.Join(t.TempDir(), "ftpserver")
	built, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	require.NoError(t, err, "building the bundled server: %s", built)

	return binary
}

// runDocsScript runs docs/NAME with bash and env added to the environment, within timeout,
// logs its output, and requires it to succeed with passed as its last line.
func runDocsScript(t *testing.T, name, passed string, timeout time.Duration, env ...string) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	//nolint:gosec // G204: a script of this repository's docs/, named by the test
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "docs", name))
	cmd.Env = append(os.Environ(), env...)
	// On SIGTERM the script stops what it started, as when it ends (its EXIT trap).
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second

	out, err := cmd.CombinedOutput()
	t.Log(string(out))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(strings.TrimSpace(string(out)), passed), "the last line is not %q", passed)
}
