//go:build linux

package ftpserver

import (
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPair returns the two ends of a loopback TCP connection: the accepted one and the dialed one.
func tcpPair(tb testing.TB) (*net.TCPConn, net.Conn) {
	tb.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)

	defer listener.Close()

	client, err := net.Dial("tcp", listener.Addr().String())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = client.Close() })

	server, err := listener.Accept()
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = server.Close() })

	require.NoError(tb, client.SetDeadline(time.Now().Add(10*time.Second)))

	return server.(*net.TCPConn), client //nolint:errcheck // a TCP listener's
}

func TestSendWithoutWaiting(t *testing.T) {
	t.Run("a small file is sent whole", func(t *testing.T) {
		server, client := tcpPair(t)
		content := testContent(4096)

		var counter atomic.Int64

		done, err := sendWithoutWaiting(server, mappedFile(t, content, 0), &counter, int64(len(content)))
		require.NoError(t, err)
		assert.True(t, done)
		assert.EqualValues(t, len(content), counter.Load())

		require.NoError(t, server.Close())
		assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, client)))
	})

	// The size a stat gave may be out of date by the time the file is sent: a file that grew is
	// sent to its new end, and one that shrank to its end too.
	for _, stated := range []int64{-1, 0, 100, 4095, 5000} {
		t.Run(fmt.Sprintf("a file stat-ed at %d bytes is sent to its end", stated), func(t *testing.T) {
			server, client := tcpPair(t)
			content := testContent(4096)

			var counter atomic.Int64

			done, err := sendWithoutWaiting(server, mappedFile(t, content, 0), &counter, stated)
			require.NoError(t, err)
			assert.True(t, done)
			assert.EqualValues(t, len(content), counter.Load())

			require.NoError(t, server.Close())
			assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, client)))
		})
	}

	t.Run("a large file is left to the transfer goroutine", func(t *testing.T) {
		server, client := tcpPair(t)
		content := testContent(16 << 20)
		file := mappedFile(t, content, 0)

		var counter atomic.Int64

		// The client reads nothing yet: the socket's buffers fill, or the limit is reached.
		done, err := sendWithoutWaiting(server, file, &counter, int64(len(content)))
		require.NoError(t, err)
		assert.False(t, done)
		assert.Positive(t, counter.Load())
		assert.LessOrEqual(t, counter.Load(), int64(atOnceLimit))

		offset, err := file.Seek(0, io.SeekCurrent)
		require.NoError(t, err)
		assert.Equal(t, counter.Load(), offset, "the rest goes on from the file's offset")

		go func() {
			_, _ = io.Copy(server, file)
			_ = server.Close()
		}()

		assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, client)))
	})

	t.Run("only a file to a TCP socket", func(t *testing.T) {
		server, _ := tcpPair(t)
		pipe, other := net.Pipe()

		defer pipe.Close()
		defer other.Close()

		var counter atomic.Int64

		for _, tc := range []struct {
			conn net.Conn
			src  io.Reader
		}{{pipe, mappedFile(t, []byte("x"), 0)}, {server, io.LimitReader(mappedFile(t, []byte("x"), 0), 1)}} {
			done, err := sendWithoutWaiting(tc.conn, tc.src, &counter, 1)
			require.NoError(t, err)
			assert.False(t, done)
		}

		assert.Zero(t, counter.Load())
	})
}

func TestOpenQueued(t *testing.T) {
	passive := func(t *testing.T, clientIP string, theft *atomic.Int32) *passiveTransferHandler {
		t.Helper()

		listener, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)

		p := &passiveTransferHandler{
			listener: listener, timeout: 5 * time.Second, clientIP: net.ParseIP(clientIP), queued: connectionQueued,
			onTheft: func(net.Addr) { theft.Add(1) },
		}
		t.Cleanup(func() { _ = p.Close() })

		return p
	}

	t.Run("nothing queued", func(t *testing.T) {
		var theft atomic.Int32

		p := passive(t, "127.0.0.1", &theft)
		conn, ok := p.openQueued()
		assert.False(t, ok)
		assert.Nil(t, conn)
	})

	t.Run("the client's connection is queued", func(t *testing.T) {
		var theft atomic.Int32

		p := passive(t, "127.0.0.1", &theft)
		dialData(t, "", tcpPort(t, p.listener.Addr()))

		conn, ok := p.openQueued()
		require.True(t, ok)
		require.NotNil(t, conn)
		assert.Zero(t, theft.Load())

		// One connection per PASV: the listener is closed, and Close reaches the connection.
		require.NoError(t, p.Close())
		_, err := conn.Write([]byte("x"))
		require.ErrorIs(t, err, net.ErrClosed)
	})

	t.Run("another host's connection is refused", func(t *testing.T) {
		var theft atomic.Int32

		p := passive(t, "127.0.0.1", &theft)
		thief := dialData(t, "127.0.0.2", tcpPort(t, p.listener.Addr()))

		conn, ok := p.openQueued()
		assert.False(t, ok)
		assert.Nil(t, conn)
		assert.EqualValues(t, 1, theft.Load())

		_, err := io.ReadAll(thief)
		require.NoError(t, err, "the thief's connection is closed")

		// The listener still waits for the client's connection.
		dialData(t, "", tcpPort(t, p.listener.Addr()))

		conn, err = p.Open()
		require.NoError(t, err)
		assert.NotNil(t, conn)
	})
}

// TestRETRAtOnce downloads files from a real directory over a data connection opened before
// RETR, as most clients do: small ones end in the serve goroutine, larger ones are handed to a
// transfer goroutine after the first part.
func TestRETRAtOnce(t *testing.T) {
	s := newTestServer(t, withOsFs(t))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	for _, size := range []int{0, 1, 4096, atOnceLimit - 1, atOnceLimit, atOnceLimit + 1, 16 << 20} {
		content := testContent(size)
		require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

		data := rc.pasv()
		require.NoError(t, data.SetDeadline(time.Now().Add(10*time.Second)))
		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(data, "/f.bin")), "size %d", size)
	}

	t.Run("REST", func(t *testing.T) {
		content := testContent(10000)
		require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

		rc.expect("REST 9000", StatusFileActionPending)

		data := rc.pasv()
		assert.Equal(t, sha256Hex(content[9000:]), sha256Hex(rc.retrOver(data, "/f.bin")))
	})

	t.Run("data connection reset before RETR", func(t *testing.T) {
		require.NoError(t, writeFile(s.driver.fs, "/f.bin", testContent(4096)))

		data := rc.pasv()
		require.NoError(t, data.(*net.TCPConn).SetLinger(0)) //nolint:errcheck // a TCP dial
		require.NoError(t, data.Close())

		rc.expect("RETR /f.bin", StatusFileStatusOK)

		code, msg := rc.read()
		assert.Equal(t, StatusTransferAborted, code, msg)
		rc.expect("NOOP", StatusOK)
	})

	t.Run("ABOR once handed off", func(t *testing.T) {
		require.NoError(t, writeFile(s.driver.fs, "/big.bin", testContent(64<<20)))

		rc.startRETR("/big.bin")
		rc.abort("ABOR")
		rc.expect("NOOP", StatusOK)
	})
}

// panickyEventsDriver panics in the event that ends a transfer: a driver bug in the serve
// goroutine once a download ended there.
type panickyEventsDriver struct {
	*testDriver
}

func (panickyEventsDriver) HandleEvent(_ ClientContext, event Event) {
	if event.Kind == EventTransferEnded {
		panic(errTestPanic)
	}
}

func TestRETRAtOncePanic(t *testing.T) {
	s := newTestServerMain(t, func(d *testDriver) MainDriver { return panickyEventsDriver{d} }, withOsFs(t))
	content := testContent(4096)
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	for range 2 {
		data := rc.pasv()
		rc.expect("RETR /f.bin", StatusFileStatusOK)
		assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)))

		code, msg := rc.read()
		assert.Equal(t, statusLocalError, code)
		assert.Equal(t, "Internal error, transfer aborted", msg)
	}

	// The session goes on, and the server stops without waiting for a transfer (goleak).
	rc.expect("NOOP", StatusOK)
}

// BenchmarkSendWithoutWaiting sends a 4 KiB file at once, its size known from a stat, as RETR
// knows it, or unknown.
func BenchmarkSendWithoutWaiting(b *testing.B) {
	for name, known := range map[string]bool{"size known": true, "size unknown": false} {
		b.Run(name, func(b *testing.B) {
			server, client := tcpPair(b)
			content := testContent(4096)
			file := mappedFile(b, content, 0)

			received := make([]byte, len(content))

			size := int64(-1)
			if known {
				size = int64(len(content))
			}

			var counter atomic.Int64

			for b.Loop() {
				_, err := file.Seek(0, io.SeekStart)
				require.NoError(b, err)

				done, err := sendWithoutWaiting(server, file, &counter, size)
				require.NoError(b, err)
				require.True(b, done)

				_, err = io.ReadFull(client, received)
				require.NoError(b, err)
			}
		})
	}
}
