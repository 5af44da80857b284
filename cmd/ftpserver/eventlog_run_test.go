package main

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readLines returns the lines of file.
func readLines(t *testing.T, file string) []string {
	t.Helper()

	data, err := os.ReadFile(file)
	require.NoError(t, err)

	return strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
}

// waitLines waits until file holds a line containing want, and returns its lines. The logs are
// written by a goroutine of their own, a moment after the reply the client saw.
func waitLines(t *testing.T, file, want string) []string {
	t.Helper()

	deadline := time.Now().Add(startTimeout)

	for {
		data, err := os.ReadFile(file)
		if err == nil && strings.Contains(string(data), want) {
			return readLines(t, file)
		}

		require.True(t, time.Now().Before(deadline), "no line with %q in %s:\n%s", want, file, data)
		time.Sleep(20 * time.Millisecond)
	}
}

// auditKinds returns the kind of each record.
func auditKinds(records []map[string]any) []string {
	kinds := make([]string, 0, len(records))
	for _, r := range records {
		kind, _ := r["kind"].(string)
		kinds = append(kinds, kind)
	}

	return kinds
}

// parseAuditLines decodes every line of an -audit-log.
func parseAuditLines(t *testing.T, lines []string) []map[string]any {
	t.Helper()

	records := make([]map[string]any, 0, len(lines))
	for _, line := range lines {
		records = append(records, parseAudit(t, line))
	}

	return records
}

// TestRunEventLogs runs one jlaffaye/ftp session against a server with -audit-log and -xferlog:
// a failed and a good login, a directory, an ASCII upload with a space in its name, a download,
// a rename, a failed delete and an aborted download. The audit log has one record per event, in
// order; the xferlog has the three file transfers, field by field.
func TestRunEventLogs(t *testing.T) {
	t.Parallel()

	root, logs := t.TempDir(), t.TempDir()
	audit, xferlog := filepath.Join(logs, "audit.log"), filepath.Join(logs, "xferlog")
	require.NoError(t, os.WriteFile(filepath.Join(root, "big.bin"), randomBytes(t, 1<<20), 0o600))

	before := time.Now()
	// The rate limit keeps the big download running until the client gives it up.
	srv := startRun(t, "-root", root, "-audit-log", audit, "-xferlog", xferlog,
		"-max-download-rate", "65536", "-login-failure-delay", "1ms")

	conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	require.Error(t, conn.Login("test", "wrong"))
	require.NoError(t, conn.Login("test", "test"))

	require.NoError(t, conn.MakeDir("/d"))
	require.NoError(t, conn.Type(ftp.TransferTypeASCII))
	require.NoError(t, conn.Stor("/d/my file.txt", strings.NewReader("a\r\nb\r\n")))
	require.NoError(t, conn.Type(ftp.TransferTypeBinary))
	assert.Equal(t, sha256.Sum256([]byte("a\nb\n")), download(t, conn, "/d/my file.txt"))
	require.NoError(t, conn.Rename("/d/my file.txt", "/d/renamed.txt"))
	require.Error(t, conn.Delete("/nothing"))

	resp, err := conn.Retr("/big.bin")
	require.NoError(t, err)
	_, err = io.ReadFull(resp, make([]byte, 1000))
	require.NoError(t, err)
	_ = resp.Close() // the server answers 426, or 451: the transfer was cut

	require.NoError(t, conn.Quit())
	require.NoError(t, srv.stop(t)) // the logs are written and closed when run returns

	after := time.Now()

	records := parseAuditLines(t, readLines(t, audit))
	require.Equal(t, []string{
		"connected", "login_failed", "login_succeeded", "dir_created", "transfer_ended", "transfer_ended",
		"renamed", "file_deleted", "transfer_ended", "disconnected",
	}, auditKinds(records))

	for _, r := range records {
		assert.Equal(t, records[0]["session"], r["session"], "one session")
		assert.Regexp(t, `^127\.0\.0\.1:\d+$`, r["remote"])
		assert.GreaterOrEqual(t, r["duration_ms"], 0.0)
	}

	want := []struct {
		command, path, target, direction, result string
		bytes                                    float64
	}{
		3: {"MKD", "/d", "", "", "ok", 0},
		4: {"STOR", "/d/my file.txt", "", "upload", "ok", 4}, // the file's bytes, line ends converted
		5: {"RETR", "/d/my file.txt", "", "download", "ok", 4},
		6: {"RNTO", "/d/my file.txt", "/d/renamed.txt", "", "ok", 0},
		7: {"DELE", "/nothing", "", "", "", 0},
		8: {"RETR", "/big.bin", "", "download", "", -1},
	}

	for i := 3; i <= 8; i++ {
		r, w := records[i], want[i]
		assert.Equal(t, "test", r["user"], i)
		assert.Equal(t, []any{w.command, w.path, w.target, w.direction},
			[]any{r["command"], r["path"], r["target"], r["direction"]}, i)

		if w.result == "" {
			assert.NotEqual(t, "ok", r["result"], "%d: a failure says why", i)
		} else {
			assert.Equal(t, w.result, r["result"], i)
		}

		if w.bytes >= 0 {
			assert.InDelta(t, w.bytes, r["bytes"], 0, i)
		}
	}

	assert.Equal(t, "test", records[1]["user"], "the user name that failed")

	lines := readLines(t, xferlog)
	require.Len(t, lines, 3, "the file transfers only")

	upload, retrieved, aborted := parseXferlog(t, lines[0]), parseXferlog(t, lines[1]), parseXferlog(t, lines[2])

	for _, f := range []xferlogFields{upload, retrieved, aborted} {
		assert.False(t, f.time.Before(before.Truncate(time.Second)), "current-time %s", f.time)
		assert.False(t, f.time.After(after), "current-time %s", f.time)
		seconds, atoiErr := strconv.Atoi(f.seconds)
		require.NoError(t, atoiErr)
		assert.GreaterOrEqual(t, seconds, 1)
		assert.Equal(t, []string{"127.0.0.1", "_", "r", "test", "ftp", "0", "*"},
			[]string{f.host, f.action, f.access, f.user, f.service, f.method, f.authID})
	}

	assert.Equal(t, []string{"4", "/d/my_file.txt", "a", "i", "c"},
		[]string{upload.size, upload.name, upload.transferType, upload.direction, upload.end})
	assert.Equal(t, []string{"4", "/d/my_file.txt", "b", "o", "c"},
		[]string{retrieved.size, retrieved.name, retrieved.transferType, retrieved.direction, retrieved.end})
	assert.Equal(t, []string{"/big.bin", "b", "o", "i"},
		[]string{aborted.name, aborted.transferType, aborted.direction, aborted.end})

	size, err := strconv.Atoi(aborted.size)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, size, 1000, "the bytes the client read")
	assert.Less(t, size, 1<<20)
}

// TestProcessEventLogsRotate runs the bundled server with both logs, has curl upload, change a
// mode and delete a missing file, rotates the logs as logrotate does (rename, then SIGHUP) and
// uploads again: the lines before the rotation are in the renamed files, those after it in new
// files of the old names.
func TestProcessEventLogsRotate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}

	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: test skipped (apt-get install -y curl)")
	}

	t.Parallel()

	root, logs := t.TempDir(), t.TempDir()
	audit, xferlog := filepath.Join(logs, "audit.log"), filepath.Join(logs, "xferlog")
	proc := startProcess(t, "-root", root, "-audit-log", audit, "-xferlog", xferlog)

	local := filepath.Join(t.TempDir(), "local.bin")
	content := randomBytes(t, 50_000)
	require.NoError(t, os.WriteFile(local, content, 0o600))

	curl := func(args ...string) {
		t.Helper()

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		args = append([]string{"-sS", "-u", "test:test"}, args...)
		out, err := exec.CommandContext(ctx, "curl", args...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}

	curl("-T", local, "ftp://"+proc.addr+"/up%20load.bin")
	// "*": curl goes on when the command fails, as DELE of a missing file does.
	curl("-Q", "SITE CHMOD 600 /up load.bin", "-Q", "*DELE /missing", "ftp://"+proc.addr+"/")

	onDisk, err := os.ReadFile(filepath.Join(root, "up load.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(content), sha256.Sum256(onDisk))

	info, err := os.Stat(filepath.Join(root, "up load.bin"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	records := parseAuditLines(t, waitLines(t, audit, `"file_deleted"`))

	var chmod, dele map[string]any

	for _, r := range records {
		switch r["kind"] {
		case "mode_changed":
			chmod = r
		case "file_deleted":
			dele = r
		}
	}

	require.NotNil(t, chmod)
	assert.Equal(t, []any{"SITE CHMOD", "/up load.bin", "test", "ok"},
		[]any{chmod["command"], chmod["path"], chmod["user"], chmod["result"]})
	require.NotNil(t, dele)
	assert.Equal(t, []any{"DELE", "/missing"}, []any{dele["command"], dele["path"]})
	assert.NotEqual(t, "ok", dele["result"])

	first := waitLines(t, xferlog, "/up_load.bin")
	require.Len(t, first, 1)
	assert.Equal(t, []string{"50000", "/up_load.bin", "b", "i", "c"}, func() []string {
		f := parseXferlog(t, first[0])

		return []string{f.size, f.name, f.transferType, f.direction, f.end}
	}())

	// logrotate: rename, then SIGHUP; each file logs its reopening.
	require.NoError(t, os.Rename(audit, audit+".1"))
	require.NoError(t, os.Rename(xferlog, xferlog+".1"))
	proc.reload(t, "log reopened")
	proc.waitLog(t, "log reopened")

	curl("-T", local, "ftp://"+proc.addr+"/second.bin")

	second := waitLines(t, xferlog, "/second.bin")
	require.Len(t, second, 1, "the new file has the lines after the rotation only")
	assert.Equal(t, first, readLines(t, xferlog+".1"), "the old file keeps its line")

	after := parseAuditLines(t, waitLines(t, audit, `"/second.bin"`))
	assert.Equal(t, "connected", after[0]["kind"], "a new file, from the next session on")
	assert.NotContains(t, strings.Join(readLines(t, audit+".1"), ""), "second.bin")

	info, err = os.Stat(audit)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(logFileMode), info.Mode().Perm()&^0o022, "created 0640, less the umask")
}
