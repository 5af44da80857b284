package ftpserver

import (
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeCounter counts the writes that reach a connection.
type writeCounter struct {
	net.Conn

	writes atomic.Int64
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes.Add(1)

	return w.Conn.Write(p)
}

// protectedPair returns the server side of a protected loopback connection, the TCP
// connection under it (counting its writes) and the client's side.
func protectedPair(t *testing.T) (*batchedTLS, *writeCounter, *tls.Conn) {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	defer listener.Close()

	cert := testCertificate(t, "records")
	serverConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	clientDone := make(chan *tls.Conn, 1)

	go func() {
		conn, dialErr := net.DialTimeout("tcp", listener.Addr().String(), 5*time.Second)
		if dialErr != nil {
			clientDone <- nil

			return
		}

		client := tls.Client(conn, clientTLSConfig())
		_ = client.SetDeadline(time.Now().Add(10 * time.Second))
		_ = client.Handshake()
		clientDone <- client
	}()

	conn, err := listener.Accept()
	require.NoError(t, err)

	counted := &writeCounter{Conn: conn}

	server, err := protectData(counted, func(c net.Conn) (*tls.Conn, error) {
		tlsConn := tls.Server(c, serverConfig)
		handshakeErr := tlsConn.Handshake()

		return tlsConn, handshakeErr
	})
	require.NoError(t, err)

	client := <-clientDone
	require.NotNil(t, client)

	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })

	return server, counted, client
}

func TestProtectedWritesGatherRecords(t *testing.T) {
	server, counted, client := protectedPair(t)

	received := make(chan []byte, 1)

	go func() {
		data, _ := io.ReadAll(client)
		received <- data
	}()

	content := testContent(transferChunk + 7)
	small := testContent(100)

	before := counted.writes.Load()

	n, err := server.Write(content)
	require.NoError(t, err)
	assert.Equal(t, len(content), n)
	assert.Equal(t, before+1, counted.writes.Load(), "the records of a 256 KiB write go out in one write")

	n, err = server.Write(small)
	require.NoError(t, err)
	assert.Equal(t, len(small), n)
	assert.Equal(t, before+2, counted.writes.Load(), "a write of one record is sent as it is")

	require.NoError(t, server.Close())

	select {
	case data := <-received:
		assert.Equal(t, sha256Hex(append(content, small...)), sha256Hex(data),
			"the client reads every byte, then close_notify")
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not see the end of the connection")
	}
}

func TestProtectedWriteFailureSticks(t *testing.T) {
	server, counted, _ := protectedPair(t)

	require.NoError(t, counted.Close())

	n, err := server.Write(testContent(transferChunk))
	require.Error(t, err, "a gathered write to a closed connection fails")
	assert.Zero(t, n, "nothing is reported sent")

	_, err = server.Write(testContent(transferChunk))
	require.Error(t, err, "and so does every later write")

	_, err = server.Write([]byte("x"))
	require.Error(t, err)
}

// TestProtectedDownloadCutShort cuts a PROT P download of a large file (sent from mappings, in
// gathered writes) twice, by a reset from the client and by ABOR, and then downloads it whole
// on the same session.
func TestProtectedDownloadCutShort(t *testing.T) {
	s := newTestServer(t, withTLS(t), withOsFs(t))
	content := testContent(32 << 20)
	require.NoError(t, afero.WriteFile(s.driver.fs, "/big.bin", content, 0o600))

	config := clientTLSConfig()
	rc := s.rawProtected(t, config)
	rc.expect("TYPE I", StatusOK)

	// A reset in the middle: the server's next send fails.
	raw := rc.pasv()
	data := tls.Client(raw, config)
	rc.expect("RETR /big.bin", StatusFileStatusOK)

	_, err := io.ReadFull(data, make([]byte, 1<<20))
	require.NoError(t, err)

	tcp, ok := raw.(*net.TCPConn)
	require.True(t, ok)
	require.NoError(t, tcp.SetLinger(0))
	require.NoError(t, tcp.Close())

	code, msg := rc.read()
	assert.Equal(t, StatusTransferAborted, code, msg)
	rc.expect("NOOP", StatusOK)

	// ABOR in the middle.
	data = rc.pasvTLS(config)
	rc.expect("RETR /big.bin", StatusFileStatusOK)

	_, err = io.ReadFull(data, make([]byte, 1<<20))
	require.NoError(t, err)
	rc.abort("ABOR")
	_ = data.Close()

	// The whole file, after both.
	data = rc.pasvTLS(config)
	rc.expect("RETR /big.bin", StatusFileStatusOK)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)))

	code, msg = rc.read()
	assert.Equal(t, StatusClosingDataConn, code, msg)
}
