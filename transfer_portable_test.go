package ftpserver

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decliningCopy is portableCopy counting how often each path was offered a transfer and
// declined it, so a test knows the transfer went the portable way after the offer.
type decliningCopy struct {
	zeroCopy

	sendFile, mapped, atOnce atomic.Int64
}

func newDecliningCopy() *decliningCopy {
	d := &decliningCopy{}
	d.zeroCopy = zeroCopy{
		sendFile: func(conn *net.TCPConn, file *os.File, pacing *copyPacing) (bool, error) {
			d.sendFile.Add(1)

			return portableCopy.sendFile(conn, file, pacing)
		},
		mapped: func(file *os.File, chunk int, send func([]byte) error) (int64, error) {
			d.mapped.Add(1)

			return portableCopy.mapped(file, chunk, send)
		},
		atOnce: func(conn net.Conn, file io.Reader, counter *atomic.Int64, size int64) (bool, error) {
			d.atOnce.Add(1)

			return portableCopy.atOnce(conn, file, counter, size)
		},
	}

	return d
}

// withZeroCopy gives the server these ways of sending files instead of its platform's.
func withZeroCopy(paths *zeroCopy) testOption {
	return func(d *testDriver) { d.zeroCopy = paths }
}

// withPortableSockets gives the server the socket options of a platform that has none
// (portableSockets, what Windows has), and asks for KeepPassiveListener, which they disable.
func withPortableSockets() testOption {
	return func(d *testDriver) {
		d.sockets = portableSockets
		d.settings.KeepPassiveListener = true
	}
}

// TestPortableTransfers forces, on any platform, the path a platform without the server's own
// zero-copy calls takes (portableCopy, what runs outside Linux): sendfile declined, so
// io.Copy sends a binary download; mapping declined, so a TLS download and a TYPE A one go
// through the pooled buffer; the at-once send declined, so a small download runs in its
// transfer goroutine. The client gets the bytes of the file, by hash, from the start and from
// a REST offset, and uploads land whole. The socket options are portable too, as on Windows.
func TestPortableTransfers(t *testing.T) {
	t.Parallel()

	// Larger than one mapping's minimum and than one transfer chunk; no line ends, so TYPE A
	// sends it unchanged.
	large := bytes.ReplaceAll(testContent(3<<20+4321), []byte{'\n'}, []byte{'x'})
	large = bytes.ReplaceAll(large, []byte{'\r'}, []byte{'y'})
	small := large[:1000]

	sendFile := func(d *decliningCopy) int64 { return d.sendFile.Load() }
	mapped := func(d *decliningCopy) int64 { return d.mapped.Load() }

	// offered, when set, counts the offers the path under test had: the at-once send is
	// offered a download only when its data connection was already queued, which is timing.
	cases := []struct {
		name       string
		tls, ascii bool
		content    []byte
		offered    func(d *decliningCopy) int64
	}{
		{"binary download without sendfile", false, false, large, sendFile},
		{"TLS download without mapping", true, false, large, mapped},
		{"TYPE A download without mapping", false, true, large, mapped},
		{"small download without the at-once send", false, false, small, nil},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			paths := newDecliningCopy()
			opts := []testOption{withOsFs(t), withZeroCopy(&paths.zeroCopy), withPortableSockets()}

			var dialOpts []ftp.DialOption

			if tc.tls {
				opts = append(opts, withTLS(t))
				dialOpts = append(dialOpts, ftp.DialWithExplicitTLS(clientTLSConfig()))
			}

			server := newTestServer(t, opts...)
			client := server.dial(t, dialOpts...)

			require.NoError(t, client.Stor("file.bin", bytes.NewReader(tc.content)), "upload")

			if tc.ascii {
				require.NoError(t, client.Type(ftp.TransferTypeASCII))
			}

			resp, err := client.Retr("file.bin")
			require.NoError(t, err)
			assert.Equal(t, sha256Hex(tc.content), sha256Hex(readAllClose(t, resp)), "whole download")

			if !tc.ascii { // REST is refused in TYPE A
				offset := uint64(len(tc.content) / 3)
				resp, err = client.RetrFrom("file.bin", offset)
				require.NoError(t, err)
				assert.Equal(t, sha256Hex(tc.content[offset:]), sha256Hex(readAllClose(t, resp)), "download from REST")
			}

			if tc.offered != nil {
				assert.Positive(t, tc.offered(paths), "the zero-copy path was offered the download and declined it")
			}
		})
	}
}

// TestPortableActiveTransfers downloads twice in a row over active connections with the
// portable socket options: no SO_REUSEADDR on the dialer, so the second dial from the fixed
// source port may find it waiting out its previous connection and then dials from any port.
// Both downloads arrive whole.
func TestPortableActiveTransfers(t *testing.T) {
	t.Parallel()

	content := testContent(1<<20 + 17)
	server := newTestServer(t, withOsFs(t), withZeroCopy(portableCopy), withPortableSockets())
	require.NoError(t, writeFile(server.driver.fs, "/file.bin", content))

	rc := server.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	for _, command := range []string{"PORT", "EPRT"} {
		got, _ := rc.retrActive(command, "/file.bin")
		assert.Equal(t, sha256Hex(content), sha256Hex(got), command)
	}
}
