package ftpserver

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syscallLine matches a completed sendfile or splice call in strace's output and its result.
var syscallLine = regexp.MustCompile(`(sendfile|splice)\(.*\)\s+=\s+(\d+)`)

// TestZeroCopyPaths runs the bundled server, which serves -root through rootfs (os.Root),
// under strace, and checks that a plain download reaches the kernel's sendfile for every
// byte (nothing on the path hides io.ReaderFrom), and that an upload takes the buffered copy
// that BenchmarkUploadCopy measured faster than splice.
func TestZeroCopyPaths(t *testing.T) {
	requireTool(t, "strace")

	root := t.TempDir()
	content := testContent(3<<20 + 4321)
	require.NoError(t, os.WriteFile(filepath.Join(root, "f.bin"), content, 0o600))

	server := startServerBinary(t, bundledServerBinary(t), root)
	trace := filepath.Join(t.TempDir(), "strace.log")

	// Attach to the server only: the test's own calls are not traced. strace says on stderr
	// when it is attached; the transfers start after that.
	strace := exec.Command("strace", "-f", "-e", "trace=sendfile,splice", "-o", trace,
		"-p", strconv.Itoa(server.pid))
	stderr, err := strace.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, strace.Start())

	attached := make(chan bool, 1)

	go func() {
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			if strings.Contains(scanner.Text(), "attached") {
				attached <- true

				break
			}
		}

		_, _ = io.Copy(io.Discard, stderr)
		attached <- false
	}()

	select {
	case ok := <-attached:
		if !ok {
			_ = strace.Wait()
			t.Skip("strace cannot attach to a process here")
		}
	case <-time.After(10 * time.Second):
		_ = strace.Process.Kill()
		_ = strace.Wait()
		t.Skip("strace did not attach within 10 s")
	}

	addr := server.addrs[0]

	conn, err := ftp.Dial(addr, ftp.DialWithTimeout(10*time.Second))
	require.NoError(t, err)
	require.NoError(t, conn.Login("test", "test"))

	r, err := conn.Retr("f.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)))
	require.NoError(t, conn.Stor("up.bin", bytes.NewReader(content)))
	require.NoError(t, conn.Quit())

	// strace detaches on SIGINT and flushes its log.
	require.NoError(t, strace.Process.Signal(os.Interrupt))
	_ = strace.Wait()

	server.stop()

	log, err := os.ReadFile(trace)
	require.NoError(t, err)

	moved := map[string]int{}

	for _, m := range syscallLine.FindAllStringSubmatch(string(log), -1) {
		n, err := strconv.Atoi(m[2])
		require.NoError(t, err)

		moved[m[1]] += n
	}

	assert.Equal(t, len(content), moved["sendfile"], "every byte of the download went through sendfile")
	assert.Zero(t, moved["splice"], "the upload went through the buffer, not splice")
}
