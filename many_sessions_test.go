package ftpserver

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manySessions is how many logged-in clients TestManySessions holds at once.
const manySessions = 10_000

// TestManySessions holds 10,000 logged-in sessions on the bundled server, a separate process
// so that each side stays within its own file descriptor limit, checks that a transfer is
// still served while they are all open, and reports the server's memory per session. It runs
// in CI (CI=true) or with FTPKIT_MANY=1, never with -short.
func TestManySessions(t *testing.T) {
	if testing.Short() || (os.Getenv("CI") != "true" && os.Getenv("FTPKIT_MANY") != "1") {
		t.Skip("10,000 sessions: runs in CI or with FTPKIT_MANY=1")
	}

	root := t.TempDir()
	content := testContent(8 << 20)
	require.NoError(t, os.WriteFile(filepath.Join(root, "f.bin"), content, 0o600))

	server := startServerBinary(t, bundledServerBinary(t), root, "-idle-timeout", "120",
		"-max-clients", "0", "-max-clients-per-ip", "0")
	addr := server.addrs[0]
	before := processRSS(t, server.pid)

	conns := loginMany(t, addr, manySessions)

	defer func() {
		for _, conn := range conns {
			_ = conn.Close()
		}
	}()

	after := processRSS(t, server.pid)
	t.Logf("%d sessions: server RSS %d KiB before, %d KiB after: %d bytes per idle session",
		len(conns), before>>10, after>>10, (after-before)/int64(len(conns)))

	// Everyone is still logged in, and a new client is served.
	client, err := ftp.Dial(addr, ftp.DialWithTimeout(10*time.Second))
	require.NoError(t, err)
	require.NoError(t, client.Login("test", "test"))

	r, err := client.Retr("f.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)))
	require.NoError(t, client.Stor("up.bin", bytes.NewReader(content)))
	require.NoError(t, client.Quit())

	for _, i := range []int{0, len(conns) / 2, len(conns) - 1} {
		_, err := conns[i].Write([]byte("NOOP\r\n"))
		require.NoError(t, err)
		require.Equal(t, "200 OK\r\n", readReplyLine(t, conns[i]))
	}
}

// loginMany opens n sessions and logs each in, a few at a time in parallel.
func loginMany(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()

	const workers = 8

	conns := make([]net.Conn, n)

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)

	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				conn, err := loginBare(addr, "test", "test")
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()

					return
				}

				conns[i] = conn
			}
		})
	}

	wg.Wait()
	require.NoError(t, firstErr)

	return conns
}

// readReplyLine reads one reply line from a bare connection.
func readReplyLine(t *testing.T, conn net.Conn) string {
	t.Helper()

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))

	var line []byte

	b := make([]byte, 1)
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		_, err := conn.Read(b)
		require.NoError(t, err)

		line = append(line, b[0])
	}

	return string(line)
}

// processRSS returns the resident memory of a process, from /proc.
func processRSS(t *testing.T, pid int) int64 {
	t.Helper()

	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}

	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)

			return kib << 10
		}
	}

	t.Fatal("no VmRSS in /proc status")

	return 0
}
