package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// The files of docs/deploying.md's "Running the bundled server", relative to this package.
var (
	dockerfilePath  = filepath.Join("..", "..", "Dockerfile")
	systemdUnitPath = filepath.Join("..", "..", "docs", "ftpkit.service")
)

// dockerBuildTimeout bounds docker build, which downloads the Go image and the modules.
const dockerBuildTimeout = 15 * time.Minute

// directives returns the values of each directive of a Dockerfile or a systemd unit, by name:
// "NAME value" lines for a Dockerfile, "Name=value" for a unit. Comments are skipped and
// lines ending with a backslash joined.
func directives(t *testing.T, file, sep string) map[string][]string {
	t.Helper()

	f, err := os.Open(file)
	require.NoError(t, err)

	defer f.Close()

	found := make(map[string][]string)
	scanner := bufio.NewScanner(f)
	pending := ""

	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}

		if more, ok := strings.CutSuffix(line, "\\"); ok {
			pending += more + " "

			continue
		}

		line, pending = pending+line, ""

		if name, value, ok := strings.Cut(line, sep); ok {
			found[name] = append(found[name], strings.TrimSpace(value))
		}
	}

	require.NoError(t, scanner.Err())

	return found
}

// requireValidFlags requires the command line args to be one the server accepts.
func requireValidFlags(t *testing.T, args []string) *config {
	t.Helper()

	cfg, err := parseFlags(args, io.Discard)
	require.NoError(t, err, "%q", args)

	return cfg
}

func TestDockerfile(t *testing.T) {
	t.Parallel()

	file := directives(t, dockerfilePath, " ")

	// The default command is a valid command line serving the volume to the users file.
	require.Len(t, file["CMD"], 1)

	var args []string

	require.NoError(t, json.Unmarshal([]byte(file["CMD"][0]), &args))
	cfg := requireValidFlags(t, args)
	assert.Equal(t, "0.0.0.0:2121", cfg.listen)
	assert.Equal(t, "/etc/ftpkit/users", cfg.usersFile)
	assert.Equal(t, []string{`["/srv/ftp"]`}, file["VOLUME"])
	assert.Equal(t, "/srv/ftp", cfg.root)
	require.NotNil(t, cfg.pasvPorts)

	// Its ports are the ones exposed.
	assert.Equal(t, []string{"2121 30000-30009"}, file["EXPOSE"])
	assert.Equal(t, 30000, cfg.pasvPorts.Start)
	assert.Equal(t, 30009, cfg.pasvPorts.End)

	// Two stages, a static binary, not root.
	assert.Len(t, file["FROM"], 2)
	assert.Contains(t, strings.Join(file["RUN"], "\n"), "CGO_ENABLED=0")
	assert.Contains(t, strings.Join(file["RUN"], "\n"), "go build -trimpath -buildvcs=false")
	assert.Equal(t, []string{"65532:65532"}, file["USER"])

	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skipf("no Docker engine (docker info: %v): docker build skipped", err)
	}

	testDockerImage(t)
}

// testDockerImage builds the image from the repository's root and checks its binary:
// -hash-password in the container prints a hash that verifies.
func testDockerImage(t *testing.T) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), dockerBuildTimeout)
	defer cancel()

	tag := "ftpkit-test-" + strings.ToLower(rand.Text()[:12])

	build := exec.CommandContext(ctx, "docker", "build", "-t", tag, filepath.Join("..", ".."))
	out, err := build.CombinedOutput()
	require.NoError(t, err, "docker build: %s", out)

	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })

	hashCmd := exec.CommandContext(ctx, "docker", "run", "--rm", "-i", tag, "-hash-password")
	hashCmd.Stdin = strings.NewReader("container secret\n")
	out, err = hashCmd.Output()
	require.NoError(t, err)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(string(out))), []byte("container secret")))
}

func TestSystemdUnit(t *testing.T) {
	t.Parallel()

	unit := directives(t, systemdUnitPath, "=")

	// ExecStart is a valid command line; the unit may write only the served root.
	require.Len(t, unit["ExecStart"], 1)

	execStart := strings.Fields(unit["ExecStart"][0])
	assert.Equal(t, "/usr/local/bin/ftpserver", execStart[0])

	cfg := requireValidFlags(t, execStart[1:])
	assert.Equal(t, "/etc/ftpkit/users", cfg.usersFile)
	assert.Equal(t, []string{cfg.root}, unit["ReadWritePaths"])

	for name, value := range map[string]string{
		"ProtectSystem":   "strict",
		"NoNewPrivileges": "yes",
		"User":            "ftpkit",
		"ExecReload":      "/bin/kill -HUP $MAINPID",
	} {
		assert.Equal(t, []string{value}, unit[name], name)
	}

	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed: systemd-analyze verify skipped")
	}

	// systemd-analyze verify checks that ExecStart is executable: point it at the binary built
	// from this package.
	content, err := os.ReadFile(systemdUnitPath)
	require.NoError(t, err)

	unitFile := filepath.Join(t.TempDir(), "ftpkit.service")
	require.NoError(t, os.WriteFile(unitFile, //nolint:gosec // G703: a file of t.TempDir()
		[]byte(strings.ReplaceAll(string(content), "/usr/local/bin/ftpserver", serverBinary(t))), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	out, err := exec.CommandContext(ctx, "systemd-analyze", "verify", unitFile).CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify: %s", out)
	assert.Empty(t, string(out), "systemd-analyze verify has warnings")
}

func TestDeployingUsersExample(t *testing.T) {
	t.Parallel()

	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploying.md"))
	require.NoError(t, err)

	// The example users file of docs/deploying.md loads.
	_, block, found := strings.Cut(string(doc), "```\n# name:bcrypt-hash:home:access[:settings]\n")
	require.True(t, found, "no example users file")

	block, _, found = strings.Cut(block, "```")
	require.True(t, found)

	table, err := parseUsers(strings.NewReader(block), "deploying.md")
	require.NoError(t, err)
	assert.Len(t, table.accounts, 4)
	assert.True(t, table.accounts["guest"].readOnly)
	assert.Equal(t, "/", table.accounts["admin"].home)

	partner := table.accounts["partner"].settings
	assert.Equal(t, time.Hour, partner.IdleTimeout)
	assert.Equal(t, int64(1<<20), partner.MaxUserDownloadRate)
	assert.Equal(t, 2, partner.MaxSessions)
	assert.True(t, partner.ReadOnly)
}
