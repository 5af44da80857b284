package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/internal/porttest"

	"github.com/ftpkit/ftpserver"
)

func TestProxyFlags(t *testing.T) {
	t.Parallel()

	settings, err := newTestDriver(t).GetSettings()
	require.NoError(t, err)
	assert.Equal(t, ftpserver.ProxyProtocolOff, settings.ProxyProtocol)
	assert.False(t, settings.PassiveTransferPortMultiplexing)

	drv := newTestDriver(t, "-proxy-protocol", "-proxy-allowed", "10.0.0.0/8, 192.0.2.1",
		"-pasv-ports", "30000-30002", "-pasv-multiplex")
	settings, err = drv.GetSettings()
	require.NoError(t, err)
	assert.Equal(t, ftpserver.ProxyProtocolRequired, settings.ProxyProtocol)
	assert.Equal(t, []string{"10.0.0.0/8", "192.0.2.1"}, settings.ProxyAllowedUpstreams)
	assert.Equal(t, ftpserver.ProxyUntrustedRefuse, settings.ProxyUntrusted)
	assert.True(t, settings.PassiveTransferPortMultiplexing)

	settings, err = newTestDriver(t, "-proxy-protocol").GetSettings()
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.0/8", "::1"}, settings.ProxyAllowedUpstreams, "a balancer on this machine")
}

func TestProxyFlagErrors(t *testing.T) {
	t.Parallel()

	for _, args := range [][]string{
		{"-proxy-allowed", "10.0.0.0/33"},
		{"-proxy-allowed", "balancer.example.com"},
		{"-proxy-allowed", ""},
		{"-pasv-multiplex"},
	} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		require.ErrorIs(t, err, errUsage, "%q", args)
	}
}

func TestWrapPassiveListenerOnlyWithProxyProtocol(t *testing.T) {
	t.Parallel()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = listener.Close() })

	wrapped, err := newTestDriver(t).WrapPassiveListener(listener)
	require.NoError(t, err)
	assert.Same(t, listener, wrapped)

	wrapped, err = newTestDriver(t, "-proxy-protocol").WrapPassiveListener(listener)
	require.NoError(t, err)
	assert.NotSame(t, listener, wrapped)
}

// TestRunBehindProxy plays the load balancer at 127.0.0.1 for a client at 127.0.0.9: the
// control connection carries a PROXY header, and passive connections come either from the
// client itself or from the balancer with a header of their own.
func TestRunBehindProxy(t *testing.T) {
	t.Parallel()

	const balancer, client = "127.0.0.1", "127.0.0.9"

	start := porttest.QuietRange(t, 2)
	srv := startRun(t, "-proxy-protocol", "-proxy-allowed", balancer,
		"-pasv-ports", fmt.Sprintf("%d-%d", start, start+1), "-pasv-multiplex")

	for _, throughBalancer := range []bool{false, true} {
		calls := 0
		dial := func(network, address string) (net.Conn, error) {
			calls++
			proxied := calls == 1 || throughBalancer

			from := client
			if proxied {
				from = balancer
			}

			dialer := net.Dialer{Timeout: startTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}

			conn, err := dialer.Dial(network, address)
			if err != nil || !proxied {
				return conn, err
			}

			_, err = fmt.Fprintf(conn, "PROXY TCP4 %s 127.0.0.1 %d 21\r\n", client, 40000+calls)

			return conn, err
		}

		conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout), ftp.DialWithDialFunc(dial))
		require.NoError(t, err)
		require.NoError(t, conn.Login("test", "test"))

		data := randomBytes(t, 200_000)
		name := fmt.Sprintf("/through-balancer-%v.bin", throughBalancer)
		require.NoError(t, conn.Stor(name, bytes.NewReader(data)))
		assert.Equal(t, sha256.Sum256(data), download(t, conn, name))
		require.NoError(t, conn.Quit())
	}

	// The balancer's own address, without a header, is no client.
	conn, err := net.DialTimeout("tcp", srv.addr, startTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(startTimeout)))
	_, err = conn.Write([]byte("USER test\r\n"))
	require.NoError(t, err)
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestPasvKeepFlag(t *testing.T) {
	t.Parallel()

	settings, err := newTestDriver(t).GetSettings()
	require.NoError(t, err)
	assert.False(t, settings.KeepPassiveListener, "off by default")

	settings, err = newTestDriver(t, "-pasv-keep", "-pasv-ports", "30000-30002", "-max-clients", "3").GetSettings()
	require.NoError(t, err)
	assert.True(t, settings.KeepPassiveListener)

	for _, args := range [][]string{
		{"-pasv-keep", "-pasv-ports", "30000-30002"},
		{"-pasv-keep", "-pasv-ports", "30000-30002", "-max-clients", "4"},
		{"-pasv-keep", "-pasv-ports", "30000-30002", "-max-clients", "2", "-pasv-multiplex"},
		{"-pasv-keep", "-proxy-protocol"},
	} {
		var stderr bytes.Buffer

		err := run(context.Background(), args, io.Discard, &stderr)
		require.ErrorIs(t, err, errUsage, "%q", args)
		assert.Contains(t, stderr.String(), "-pasv-keep", "%q", args)
	}
}

// TestRunPasvKeep checks that -pasv-keep reaches the sessions: EPSV announces one port for
// the session's transfers, and another session gets a port of its own.
func TestRunPasvKeep(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-pasv-keep")

	epsvPort := func(conn *textproto.Conn) string {
		code, msg := textCmd(t, conn, "EPSV")
		require.Equal(t, ftpserver.StatusEnteringEPSV, code, msg)

		_, port, found := strings.Cut(msg, "(|||")
		require.True(t, found, msg)

		return strings.TrimSuffix(port, "|)")
	}

	session := func() *textproto.Conn {
		conn := dialText(t, srv.addr)
		code, msg := textCmd(t, conn, "USER test")
		require.Equal(t, ftpserver.StatusUserOK, code, msg)
		code, msg = textCmd(t, conn, "PASS test")
		require.Equal(t, ftpserver.StatusUserLoggedIn, code, msg)

		return conn
	}

	first := session()
	port := epsvPort(first)

	for range 2 {
		data, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), startTimeout)
		require.NoError(t, err)

		code, msg := textCmd(t, first, "NLST")
		require.Equal(t, ftpserver.StatusFileStatusOK, code, msg)
		_, err = io.ReadAll(data)
		require.NoError(t, err)
		require.NoError(t, data.Close())

		_, msg, err = first.ReadResponse(ftpserver.StatusClosingDataConn)
		require.NoError(t, err, msg)

		assert.Equal(t, port, epsvPort(first), "the same listener, announced again")
	}

	assert.NotEqual(t, port, epsvPort(session()), "another session's listener")
}
