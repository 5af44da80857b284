package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// checkScript is the -upload-check of the tests: it refuses files that contain checkMarker.
const checkScript = "sh testdata/upload_check.sh"

const checkMarker = "FTPKIT-TEST-MARKER"

// markedBytes returns n random bytes with checkMarker in the middle.
func markedBytes(t *testing.T, n int) []byte {
	t.Helper()

	data := randomBytes(t, n)
	copy(data[n/2:], checkMarker)

	return data
}

func TestUploadCheckFlags(t *testing.T) {
	t.Parallel()

	cfg, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Nil(t, cfg.trust.check)
	assert.Equal(t, defaultUploadCheckTimeout, cfg.trust.checkTimeout)
	assert.True(t, cfg.trust.requireCloseNotify)

	settings, err := newTestDriver(t).GetSettings()
	require.NoError(t, err)
	assert.Equal(t, ftpserver.CloseNotifyRequired, settings.TLSCloseNotify)

	settings, err = newTestDriver(t, "-tls-require-close-notify=false").GetSettings()
	require.NoError(t, err)
	assert.Equal(t, ftpserver.CloseNotifyOptional, settings.TLSCloseNotify)

	cfg, err = parseFlags([]string{"-upload-check", " clamdscan  --no-summary ", "-upload-check-timeout", "30s"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"clamdscan", "--no-summary"}, cfg.trust.check)
	assert.Equal(t, 30*time.Second, cfg.trust.checkTimeout)

	for _, args := range [][]string{
		{"-upload-check", "  "},
		{"-upload-check-timeout", "-1s"},
		{"-upload-check-max-copy", "-5"},
	} {
		var stderr bytes.Buffer

		_, err := parseFlags(args, &stderr)
		require.ErrorIs(t, err, errUsage, "%q", args)
		assert.Contains(t, stderr.String(), args[0]+": ", "%q", args)
	}
}

// TestRunUploadCheck runs -upload-check through jlaffaye/ftp, on a directory (the command reads
// the file itself) and in memory (it reads a local copy): an accepted upload appears with its
// bytes, a refused one gets 550 with the command's first line and leaves the earlier file.
func TestRunUploadCheck(t *testing.T) {
	t.Parallel()

	for _, backEnd := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"directory", func(t *testing.T) []string {
			t.Helper()

			return []string{"-root", t.TempDir()}
		}},
		{"memory", func(*testing.T) []string { return nil }},
		{"directory without atomic uploads", func(t *testing.T) []string {
			t.Helper()

			return []string{"-root", t.TempDir(), "-atomic-uploads=false"}
		}},
	} {
		t.Run(backEnd.name, func(t *testing.T) {
			t.Parallel()

			srv := startRun(t, append(backEnd.args(t), "-upload-check", checkScript)...)
			conn := acceptedThenRefused(t, srv.addr)

			// A name a shell would run is only data: the command gets a path of its own.
			odd := "/x; touch pwned $(id) `id`.bin"
			err := conn.Stor(odd, bytes.NewReader(markedBytes(t, 1000)))
			requireReply(t, err, ftpserver.StatusActionNotTaken, "Upload refused: infected: test marker found in "+odd)

			names, err := conn.NameList("/")
			require.NoError(t, err)
			assert.Equal(t, []string{"f.bin"}, names)
		})
	}
}

// acceptedThenRefused logs in to the server at addr, with checkScript as its -upload-check,
// stores a file that passes, then one that does not under the same name, and checks that the
// first stays. It returns the connection.
func acceptedThenRefused(t *testing.T, addr string) *ftp.ServerConn {
	t.Helper()

	conn := loginAs(t, addr, "test", "test")

	clean := randomBytes(t, 300_000)
	require.NoError(t, conn.Stor("/f.bin", bytes.NewReader(clean)))
	assert.Equal(t, sha256.Sum256(clean), download(t, conn, "/f.bin"))

	err := conn.Stor("/f.bin", bytes.NewReader(markedBytes(t, 200_000)))
	requireReply(t, err, ftpserver.StatusActionNotTaken, "Upload refused: infected: test marker found in /f.bin")
	assert.Equal(t, sha256.Sum256(clean), download(t, conn, "/f.bin"), "the earlier file stays")

	return conn
}

// TestRunUploadCheckWithCurl stores with curl: accepted, the file appears with its bytes;
// refused, curl fails, its verbose output shows the 550 and the file never appears.
func TestRunUploadCheckWithCurl(t *testing.T) {
	t.Parallel()

	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: -upload-check test with curl skipped (apt-get install -y curl)")
	}

	root := t.TempDir()
	srv := startRun(t, "-root", root, "-upload-check", checkScript)
	local := t.TempDir()

	clean := randomBytes(t, 500_000)
	require.NoError(t, os.WriteFile(filepath.Join(local, "clean.bin"), clean, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(local, "marked.bin"), markedBytes(t, 500_000), 0o600))

	out, err := curl(t, "-T", filepath.Join(local, "clean.bin"), "ftp://test:test@"+srv.addr+"/clean.bin")
	require.NoError(t, err, out)

	stored, err := os.ReadFile(filepath.Join(root, "clean.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(clean), sha256.Sum256(stored))

	out, err = curl(t, "-v", "-T", filepath.Join(local, "marked.bin"), "ftp://test:test@"+srv.addr+"/marked.bin")
	require.Error(t, err)
	assert.Contains(t, out, "< 550 Upload refused: infected: test marker found in /marked.bin")

	_, err = os.Stat(filepath.Join(root, "marked.bin"))
	require.ErrorIs(t, err, os.ErrNotExist)

	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left")
}

// curl runs curl with args within probeTimeout and returns its output.
func curl(t *testing.T, args ...string) (string, error) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()

	args = append([]string{"-sS", "--max-time", "30"}, args...)
	out, err := exec.CommandContext(ctx, "curl", args...).CombinedOutput()

	return string(out), err
}

// TestRunUploadCheckFailures: a command that runs too long, a check that cannot copy a file
// this large, a command that exits non-zero in silence and one that cannot start all refuse
// the upload, each with a reply that says why.
func TestRunUploadCheckFailures(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name string
		args []string
		code int
		text string
	}{
		{"timeout", []string{"-upload-check", "sh testdata/slow_check.sh", "-upload-check-timeout", "200ms"},
			ftpserver.StatusActionNotTaken, "Upload refused: upload check timed out"},
		{"too large to copy", []string{"-upload-check", checkScript, "-upload-check-max-copy", "1000"},
			ftpserver.StatusActionNotTakenStorageExceeded, "Upload refused: Storage limit exceeded"},
		{"silent failure", []string{"-upload-check", "false"},
			ftpserver.StatusActionNotTaken, "Upload refused: upload refused by the upload check (exit status 1)"},
		{"missing program", []string{"-upload-check", "/nonexistent/scanner"},
			ftpserver.StatusActionNotTaken, "Upload refused: upload check could not run"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			srv := startRun(t, tt.args...)

			conn := loginAs(t, srv.addr, "test", "test")

			start := time.Now()
			err := conn.Stor("/f.bin", bytes.NewReader(randomBytes(t, 5000)))
			requireReply(t, err, tt.code, tt.text)

			if tt.name == "timeout" {
				assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
			}

			_, err = conn.FileSize("/f.bin")
			require.Error(t, err, "a refused upload never appears")
		})
	}
}

func TestFirstLine(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("é", 150)

	for _, tt := range []struct {
		outputs []string
		want    string
	}{
		{[]string{"", "found\r\nmore"}, "found"},
		{[]string{"\n  \nfirst\rinjected 226 ok\nsecond"}, "first injected 226 ok"},
		{[]string{"tab\there\x00"}, "tab here"},
		{[]string{long}, strings.Repeat("é", 100) + "..."},
		{[]string{"", " \n"}, ""},
	} {
		assert.Equal(t, tt.want, firstLine(tt.outputs...), "%q", tt.outputs)
	}
}

// TestRunUploadCheckOnS3 runs -upload-check with -s3-bucket: the command reads a local copy of
// the temporary object; a refused upload never appears in the bucket, the earlier object stays,
// and nothing temporary is left, in the bucket or on the local disk.
func TestRunUploadCheckOnS3(t *testing.T) {
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)

	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	t.Setenv("TMPDIR", t.TempDir()) // where the local copies go

	srv := startRun(t, "-s3-endpoint", gw.Endpoint, "-s3-bucket", bucket, "-upload-check", checkScript)
	conn := acceptedThenRefused(t, srv.addr)

	err := conn.Stor("/new.bin", bytes.NewReader(markedBytes(t, 1000)))
	requireReply(t, err, ftpserver.StatusActionNotTaken, "Upload refused: infected: test marker found in /new.bin")

	assert.Equal(t, []string{"f.bin"}, gw.Keys(t, bucket))

	spooled, err := os.ReadDir(os.Getenv("TMPDIR"))
	require.NoError(t, err)
	assert.Empty(t, spooled, "the local copies are removed")
}
