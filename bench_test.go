package ftpserver

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"runtime"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/internal/porttest"
)

// benchFileSize is the size of the file moved by the throughput benchmarks.
const benchFileSize = 64 << 20

func benchmarkRETR(b *testing.B, opts []testOption, dial ...ftp.DialOption) {
	b.Helper()

	s := benchServer(b, opts...)
	require.NoError(b, writeFile(s.driver.fs, "/bench.bin", testContent(benchFileSize)))

	conn := s.dial(b, dial...)

	b.SetBytes(benchFileSize)
	b.ResetTimer()

	for b.Loop() {
		r, err := conn.Retr("bench.bin")
		require.NoError(b, err)

		n, err := io.Copy(io.Discard, r)
		require.NoError(b, err)
		require.EqualValues(b, benchFileSize, n)
		require.NoError(b, r.Close())
	}
}

func benchmarkSTOR(b *testing.B, opts []testOption, dial ...ftp.DialOption) {
	b.Helper()

	s := benchServer(b, opts...)
	conn := s.dial(b, dial...)
	content := testContent(benchFileSize)

	b.SetBytes(benchFileSize)
	b.ResetTimer()

	for b.Loop() {
		require.NoError(b, conn.Stor("bench.bin", bytes.NewReader(content)))
	}
}

func BenchmarkRETR(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchmarkRETR(b, nil) })
	b.Run("PROT_P", func(b *testing.B) {
		benchmarkRETR(b, []testOption{withTLS(b)}, ftp.DialWithExplicitTLS(clientTLSConfig()))
	})
}

func BenchmarkSTOR(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchmarkSTOR(b, nil) })
	b.Run("PROT_P", func(b *testing.B) {
		benchmarkSTOR(b, []testOption{withTLS(b)}, ftp.DialWithExplicitTLS(clientTLSConfig()))
	})
}

// BenchmarkSmallFiles measures the download rate of 4 KiB files over one session, a file per
// op: EPSV, RETR and the 226 reply, from a real directory so each may take the sendfile path.
// Passive ports come from a range, as in a deployment: each transfer leaves a connection in
// TIME_WAIT, and with tens of thousands of them the kernel's search for a free ephemeral port
// made later runs three times slower than the first.
func BenchmarkSmallFiles(b *testing.B) {
	benchmarkSmallFiles(b, withOsFs(b))
}

// BenchmarkSmallFilesRootfs is BenchmarkSmallFiles with the directory served through rootfs,
// which resolves each name one element at a time beneath an os.Root.
func BenchmarkSmallFilesRootfs(b *testing.B) {
	benchmarkSmallFiles(b, withRootFs(b))
}

// BenchmarkSmallFilesKeptListener is BenchmarkSmallFiles with KeepPassiveListener, the range
// having a port for each client.
func BenchmarkSmallFilesKeptListener(b *testing.B) {
	benchmarkSmallFiles(b, withOsFs(b), withKeptListener(b))
}

// withKeptListener turns KeepPassiveListener on, with MaxClients low enough for the range of
// the small-file benchmarks.
func withKeptListener(b *testing.B) testOption {
	b.Helper()

	return withSettings(func(s *Settings) {
		s.KeepPassiveListener = true
		s.MaxClients = 10
	})
}

// benchmarkSmallFiles downloads 4 KiB files from the directory served by the options.
func benchmarkSmallFiles(b *testing.B, opts ...testOption) {
	b.Helper()

	s := smallFilesServer(b, opts...)
	content := testContent(smallFileSize)

	for i := range smallFiles {
		require.NoError(b, writeFile(s.driver.fs, fmt.Sprintf("/small-%03d.bin", i), content))
	}

	conn := s.dial(b)

	b.SetBytes(smallFileSize)

	i := 0
	for b.Loop() {
		r, err := conn.Retr(fmt.Sprintf("small-%03d.bin", i%smallFiles))
		require.NoError(b, err)

		n, err := io.Copy(io.Discard, r)
		require.NoError(b, err)
		require.EqualValues(b, smallFileSize, n)
		require.NoError(b, r.Close())

		i++
	}

	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/file")
}

// BenchmarkSmallFilesSTOR measures the upload rate of 4 KiB files over one session, a file per
// op: EPSV, STOR and the 226 reply, into a real directory, replacing files that exist.
func BenchmarkSmallFilesSTOR(b *testing.B) {
	benchmarkSmallFilesSTOR(b, withOsFs(b))
}

// BenchmarkSmallFilesSTORKeptListener is BenchmarkSmallFilesSTOR with KeepPassiveListener, the
// range having a port for each client.
func BenchmarkSmallFilesSTORKeptListener(b *testing.B) {
	benchmarkSmallFilesSTOR(b, withOsFs(b), withKeptListener(b))
}

// benchmarkSmallFilesSTOR uploads 4 KiB files into the directory served by the options.
func benchmarkSmallFilesSTOR(b *testing.B, opts ...testOption) {
	b.Helper()

	s := smallFilesServer(b, opts...)
	content := testContent(smallFileSize)
	conn := s.dial(b)

	b.SetBytes(smallFileSize)

	i := 0
	for b.Loop() {
		require.NoError(b, conn.Stor(fmt.Sprintf("small-%03d.bin", i%smallFiles), bytes.NewReader(content)))

		i++
	}

	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/file")
}

// The small-file benchmarks move smallFiles files of smallFileSize bytes in turn.
const (
	smallFiles    = 100
	smallFileSize = 4 << 10
)

// smallFilesServer starts the server of the small-file benchmarks with the options, which
// choose its directory.
func smallFilesServer(b *testing.B, opts ...testOption) *testServer {
	b.Helper()

	const ports = 1000

	start := porttest.QuietRange(b, ports)

	return newTestServer(b, append(opts, withSettings(func(s *Settings) {
		s.PassiveTransferPortRange = &PortRange{Start: start, End: start + ports - 1}
	}))...)
}

// BenchmarkLIST measures a LIST of a directory of 10,000 files, read to its end.
func BenchmarkLIST(b *testing.B) {
	const entries = 10000

	s := benchServer(b)
	require.NoError(b, s.driver.fs.Mkdir("/list", 0o755))

	for i := range entries {
		require.NoError(b, writeFile(s.driver.fs, fmt.Sprintf("/list/entry-%05d.txt", i), nil))
	}

	rc := s.rawLoggedIn(b)

	for b.Loop() {
		data := rc.pasv()
		rc.expect("LIST /list", StatusFileStatusOK)

		listing := readAllClose(b, data)
		require.Equal(b, entries, bytes.Count(listing, []byte("\n")))

		code, msg := rc.read()
		require.Equal(b, StatusClosingDataConn, code, msg)
	}
}

// BenchmarkTLSHandshake measures AUTH TLS handshakes per second on the control connection.
func BenchmarkTLSHandshake(b *testing.B) {
	s := newTestServer(b, withTLS(b))
	config := clientTLSConfig()
	config.ClientSessionCache = nil // full handshakes

	for b.Loop() {
		rc := s.raw(b)
		rc.expect("AUTH TLS", StatusAuthAccepted)

		tlsConn := tls.Client(rc.conn, config)
		require.NoError(b, tlsConn.Handshake())

		rc.text = textproto.NewConn(tlsConn)
		rc.expect("QUIT", StatusClosingControlConn)
		_ = tlsConn.Close()
	}
}

// BenchmarkLogin measures connect, greeting, USER, PASS and QUIT.
func BenchmarkLogin(b *testing.B) {
	s := newTestServer(b)

	for b.Loop() {
		conn, err := ftp.Dial(s.Addr())
		require.NoError(b, err)
		require.NoError(b, conn.Login(testUser, testPass))
		require.NoError(b, conn.Quit())
	}
}

// BenchmarkCommandRoundTrip measures one NOOP and its reply.
func BenchmarkCommandRoundTrip(b *testing.B) {
	s := newTestServer(b)
	rc := s.raw(b)

	for b.Loop() {
		rc.expect("NOOP", StatusOK)
	}
}

// BenchmarkIdleSession reports the server memory held by one idle, logged-in session: heap
// and goroutine stacks, measured over many sessions after a GC. The clients are bare
// connections with no buffers of their own, so the figure is the server's.
func BenchmarkIdleSession(b *testing.B) {
	const sessions = 500

	s := newTestServer(b)

	for b.Loop() {
		before := serverMemory()

		conns := make([]net.Conn, 0, sessions)
		for range sessions {
			conn, err := loginBare(s.Addr(), testUser, testPass)
			require.NoError(b, err)

			conns = append(conns, conn)
		}

		after := serverMemory()

		b.ReportMetric(float64(after-before)/sessions, "bytes/session")

		for _, conn := range conns {
			_ = conn.Close()
		}
	}
}

// serverMemory returns the heap in use plus the stacks in use after a GC.
func serverMemory() uint64 {
	runtime.GC()

	var stats runtime.MemStats

	runtime.ReadMemStats(&stats)

	return stats.HeapInuse + stats.StackInuse
}
