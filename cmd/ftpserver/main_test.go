package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

func TestRunServesMemory(t *testing.T) {
	t.Parallel()

	srv := startRun(t)
	conn := login(t, srv.addr)

	data := randomBytes(t, 300_000)
	require.NoError(t, conn.Stor("/upload.bin", bytes.NewReader(data)))

	entries, err := conn.List("/")
	require.NoError(t, err)
	require.Len(t, entries, 2, "MLSD lists the directory itself (\".\"), then the file")
	assert.Equal(t, ".", entries[0].Name)
	assert.Equal(t, "upload.bin", entries[1].Name)
	assert.Equal(t, uint64(len(data)), entries[1].Size)

	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/upload.bin"))

	// The client is still logged in: shutdown must close it and return.
	require.NoError(t, srv.stop(t))
}

func TestRunServesRoot(t *testing.T) {
	t.Parallel()

	root := filepath.Join(t.TempDir(), "missing", "root")
	srv := startRun(t, "-root", root, "-root-create")
	conn := login(t, srv.addr)

	data := randomBytes(t, 70_000)
	require.NoError(t, conn.MakeDir("/dir"))
	require.NoError(t, conn.Stor("/dir/file.bin", bytes.NewReader(data)))

	onDisk, err := os.ReadFile(filepath.Join(root, "dir", "file.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(onDisk))
	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/dir/file.bin"))

	require.NoError(t, conn.Quit())
	require.NoError(t, srv.stop(t))
}

// TestRunAtomicUploadsFlag holds an upload open over an existing file and looks at the file on
// disk: by default the old content stays until the upload is complete; with
// -atomic-uploads=false the file is truncated when the upload starts.
func TestRunAtomicUploadsFlag(t *testing.T) {
	t.Parallel()

	for _, atomic := range []bool{true, false} {
		root := t.TempDir()
		target := filepath.Join(root, "f.bin")
		old := randomBytes(t, 50_000)
		require.NoError(t, os.WriteFile(target, old, 0o600))

		srv := startRun(t, "-root", root, fmt.Sprintf("-atomic-uploads=%t", atomic))
		conn := login(t, srv.addr)

		reader, writer := io.Pipe()
		stored := make(chan error, 1)

		go func() { stored <- conn.Stor("/f.bin", reader) }()

		first := randomBytes(t, 1000)
		_, err := writer.Write(first)
		require.NoError(t, err)

		if atomic {
			require.Eventually(t, func() bool {
				temps, _ := filepath.Glob(filepath.Join(root, ftpserver.AtomicUploadPrefix+"*"))

				return len(temps) == 1
			}, startTimeout, 10*time.Millisecond, "the upload writes a temporary file")

			during, readErr := os.ReadFile(target)
			require.NoError(t, readErr)
			assert.Equal(t, sha256.Sum256(old), sha256.Sum256(during), "the old file while the upload runs")
		} else {
			// The server fills its buffer before writing: the file is empty until the end.
			require.Eventually(t, func() bool {
				info, statErr := os.Stat(target)

				return statErr == nil && info.Size() == 0
			}, startTimeout, 10*time.Millisecond, "the old file is truncated at once")
		}

		rest := randomBytes(t, 2000)
		_, err = writer.Write(rest)
		require.NoError(t, err)
		require.NoError(t, writer.Close())
		require.NoError(t, <-stored)

		onDisk, err := os.ReadFile(target)
		require.NoError(t, err)
		assert.Equal(t, sha256.Sum256(append(first, rest...)), sha256.Sum256(onDisk), "atomic %t", atomic)

		require.NoError(t, conn.Quit())
		require.NoError(t, srv.stop(t))
	}
}

// TestRunRootKeepsLinksInside moves a relative link that points inside the root to where its
// text names a file outside: -root resolves it beneath the root and refuses it.
func TestRunRootKeepsLinksInside(t *testing.T) {
	t.Parallel()

	if runtime.GOOS == "windows" {
		t.Skip("needs Unix symbolic links")
	}

	outside := t.TempDir()
	root := filepath.Join(outside, "root")
	secret := filepath.Join(outside, "secret.txt")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "mirror", "w"), 0o755))
	require.NoError(t, os.WriteFile(secret, []byte("outside"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "secret.txt"), []byte("inside"), 0o600))
	require.NoError(t, os.Symlink("../../secret.txt", filepath.Join(root, "mirror", "w", "latest")))

	srv := startRun(t, "-root", root)
	conn := login(t, srv.addr)

	assert.Equal(t, sha256.Sum256([]byte("inside")), download(t, conn, "/mirror/w/latest"))
	require.NoError(t, conn.Rename("/mirror/w/latest", "/latest"))

	_, err := conn.Retr("/latest")
	// The client's error is the reply: its code, then its text quoted.
	require.EqualError(t, err, `550 "Could not access file: permission denied"`)
	require.EqualError(t, conn.Append("/latest", strings.NewReader("appended")),
		`550 "Could not access file: permission denied"`)

	data, err := os.ReadFile(secret)
	require.NoError(t, err)
	assert.Equal(t, "outside", string(data))
}

func TestRunRefusesWrongPassword(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-user", "alice", "-pass", "secret", "-login-failure-delay", "1ms")

	conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })

	require.Error(t, conn.Login("alice", "wrong"))
	require.NoError(t, conn.Login("alice", "secret"))
}

func TestRunLogging(t *testing.T) {
	t.Parallel()

	for _, debug := range []bool{false, true} {
		var stderr bytes.Buffer

		args := []string{}
		if debug {
			args = append(args, "-debug")
		}

		srv := startRunLogging(t, &stderr, args...)
		conn := login(t, srv.addr)
		_, err := conn.List("/")
		require.NoError(t, err)
		require.NoError(t, conn.Quit())
		require.NoError(t, srv.stop(t))

		if debug {
			assert.NotEmpty(t, stderr.String(), "-debug logged nothing")
		} else {
			// Quiet but for one line per transfer: here the listing's.
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			require.Len(t, lines, 1, "a server without -debug logs only its transfers:\n%s", stderr.String())
			assert.True(t, strings.HasPrefix(lines[0], "level=info "), lines[0])
			assert.Contains(t, lines[0], " msg=transfer client=1 remote=127.0.0.1:")
			assert.Contains(t, lines[0], " user=test cmd=MLSD path=/ direction=download bytes=")
			assert.Contains(t, lines[0], " err=null")
		}
	}
}

func TestRunWithoutTransferLog(t *testing.T) {
	t.Parallel()

	var stderr bytes.Buffer

	srv := startRunLogging(t, &stderr, "-no-transfer-log")
	conn := login(t, srv.addr)
	_, err := conn.List("/")
	require.NoError(t, err)
	require.NoError(t, conn.Quit())
	require.NoError(t, srv.stop(t))

	assert.Empty(t, stderr.String(), "-no-transfer-log logged a transfer")
}

func TestRunFlagErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		args []string
	}{
		{"pasv ports not a range", []string{"-pasv-ports", "2000"}},
		{"pasv ports not numbers", []string{"-pasv-ports", "a-b"}},
		{"pasv ports reversed", []string{"-pasv-ports", "3000-2000"}},
		{"pasv port zero", []string{"-pasv-ports", "0-10"}},
		{"pasv port too high", []string{"-pasv-ports", "60000-70000"}},
		{"public host not an IP", []string{"-public-host", "ftp.example.com"}},
		{"public host IPv6", []string{"-public-host", "::1"}},
		{"negative max clients", []string{"-max-clients", "-1"}},
		{"negative max clients per IP", []string{"-max-clients-per-ip", "-2"}},
		{"empty user", []string{"-user", ""}},
		{"negative upload rate", []string{"-max-upload-rate", "-1"}},
		{"negative download rate", []string{"-max-download-rate", "-1"}},
		{"download rate not a number", []string{"-max-download-rate", "1M"}},
		{"negative hash size", []string{"-max-hash-size", "-1"}},
		{"hash size not a number", []string{"-max-hash-size", "16G"}},
		{"unknown flag", []string{"-nope"}},
		{"stray argument", []string{"extra"}},
		{"missing root", []string{"-root", filepath.Join(t.TempDir(), "typo")}},
		{"root a file", []string{"-root", "main_test.go"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			requireFlagError(t, tt.args...)
		})
	}
}

// TestRunRootMustExist refuses a -root that does not exist, naming it and the flag that would
// create it; -root-create creates it.
func TestRunRootMustExist(t *testing.T) {
	t.Parallel()

	root := filepath.Join(t.TempDir(), "srv", "ftp")

	assert.Equal(t, "ftpserver: -root: "+root+" does not exist (create it, or add -root-create)",
		requireFlagError(t, "-root", root))
	assert.NoDirExists(t, root, "nothing created")

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.Equal(t, "ftpserver: -root: "+file+" is not a directory", requireFlagError(t, "-root", file))

	srv := startRun(t, "-root", root, "-root-create")
	conn := login(t, srv.addr)
	require.NoError(t, conn.Stor("/f.txt", strings.NewReader("created")))

	data, err := os.ReadFile(filepath.Join(root, "f.txt"))
	require.NoError(t, err)
	assert.Equal(t, "created", string(data))
}

func TestRunHelp(t *testing.T) {
	t.Parallel()

	var stderr bytes.Buffer

	err := run(context.Background(), []string{"-h"}, io.Discard, &stderr)
	require.ErrorIs(t, err, flag.ErrHelp)

	for _, name := range []string{
		"-listen", "-root", "-user", "-pass", "-pasv-ports", "-public-host",
		"-idle-timeout", "-debug", "-max-clients", "-max-clients-per-ip",
		"-max-login-failures", "-login-failure-delay", "-ban-window", "-ban-duration", "-ban-exempt", "-tls-session-reuse",
		"-metrics", "-max-upload-rate", "-max-download-rate", "-atomic-uploads", "-pasv-keep",
		"-root-create", "-pid-file", "-cpuprofile", "-max-hash-size",
	} {
		assert.Regexp(t, `(?m)^  `+name+`( |$)`, stderr.String())
	}
}

func TestParsePortRange(t *testing.T) {
	t.Parallel()

	ports, err := parsePortRange("2122-2130")
	require.NoError(t, err)
	assert.Equal(t, 2122, ports.Start)
	assert.Equal(t, 2130, ports.End)

	ports, err = parsePortRange("5000-5000")
	require.NoError(t, err)
	assert.Equal(t, ports.Start, ports.End)

	_, err = parsePortRange("-5")
	require.Error(t, err)
}

// TestRunListenErrors fails at start when an address cannot be listened on, the FTP one or the
// metrics one, with an error that is not a command-line error.
func TestRunListenErrors(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name string
		args []string
		want string // in the error, when not empty
	}{
		{"-listen", []string{"-listen", "127.0.0.1:99999"}, ""},
		{"-metrics", []string{"-listen", "127.0.0.1:0", "-metrics", "127.0.0.1:99999"}, "-metrics"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			err := run(context.Background(), tt.args, io.Discard, io.Discard)
			require.Error(t, err)
			require.NotErrorIs(t, err, errUsage, "a listen failure is not a usage error")

			if tt.want != "" {
				assert.Contains(t, err.Error(), tt.want)
			}
		})
	}
}

// TestRunUnwritableFileFlags stops the server at start when a file that a flag names cannot be
// created (its directory is missing), with an error that names the flag and the file and is
// not a command-line error.
func TestRunUnwritableFileFlags(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		flag, file string
		want       string // the error's text before the file's path
	}{
		{"-pid-file", "ftpserver.pid", "-pid-file: open "},
		{"-audit-log", "audit.log", "-audit-log: opening log: open "},
		{"-xferlog", "audit.log", "-xferlog: opening log: open "},
		{"-cpuprofile", "cpu.pprof", "-cpuprofile: open "},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			t.Parallel()

			missing := filepath.Join(t.TempDir(), "missing", tt.file)

			err := run(context.Background(), []string{"-listen", "127.0.0.1:0", tt.flag, missing}, io.Discard, io.Discard)
			require.ErrorIs(t, err, os.ErrNotExist)
			require.ErrorContains(t, err, tt.want+missing)
			require.NotErrorIs(t, err, errUsage, "not a command-line error")
		})
	}
}
