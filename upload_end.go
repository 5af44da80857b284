package ftpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// closeNotifyRequired tells whether the uploads of a server with settings s must end with
// close_notify under TLS.
func closeNotifyRequired(s *Settings) bool {
	switch s.TLSCloseNotify {
	case CloseNotifyRequired:
		return true
	case CloseNotifyOptional:
		return false
	default:
		return s.AtomicUploads
	}
}

// errNoCloseNotify is the error of an upload whose protected data connection ended without the
// client's close_notify, when Settings.TLSCloseNotify requires it.
var errNoCloseNotify = fmt.Errorf("%w: the data connection ended without TLS close_notify", ErrUploadTruncated)

// uploadTruncatedText is the text of the 426 that answers such an upload.
const uploadTruncatedText = "Upload cut short: the data connection ended without TLS close_notify; transfer aborted"

// maxTrailingBytes bounds what is read of a protected upload's connection after its data ended,
// to reach the close_notify alert: in MODE Z the data ends with the zlib stream, before the
// alert; anything more than this is not the clean end of an upload.
const maxTrailingBytes = 64 << 10

// errTrailingData fails an upload whose connection carried more than maxTrailingBytes after the
// end of its data.
var errTrailingData = errors.New("data after the end of the upload")

// eofRecorder is the TCP connection under a protected data connection, recording whether a read
// met the end of the TCP stream. crypto/tls answers io.EOF both to the close_notify alert and
// to a TCP FIN at a record boundary (a FIN within a record is io.ErrUnexpectedEOF), but it reads
// nothing more once the alert has come: the TCP stream's end is read only when the alert never
// came.
type eofRecorder struct {
	net.Conn

	eof atomic.Bool
}

// Read reads the TCP connection and records its end.
func (r *eofRecorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if errors.Is(err, io.EOF) {
		r.eof.Store(true)
	}

	return n, err //nolint:wrapcheck // crypto/tls expects the connection's own errors
}

// uploadEnder is a data connection that can tell how an upload over it ended: batchedTLS, and
// a MODE Z stream over one.
type uploadEnder interface {
	// endOfUpload is called once the upload's data has been read to its end. It reads what
	// remains up to the end of the connection, waiting at most wait (0: no limit), and returns
	// nil when the client closed it cleanly.
	endOfUpload(wait time.Duration) error
}

// endOfUpload implements uploadEnder: the end is clean when the client sent close_notify.
func (t *batchedTLS) endOfUpload(wait time.Duration) error {
	if wait > 0 {
		_ = t.SetReadDeadline(time.Now().Add(wait))
	}

	// After a MODE S upload, TLS has met its end already and answers at once; after the end
	// of a MODE Z stream, the alert is still to be read.
	n, err := io.Copy(io.Discard, io.LimitReader(t.Conn, maxTrailingBytes+1))

	switch {
	case err != nil:
		return newNetworkError("reading the end of the upload", err)
	case n > maxTrailingBytes:
		return newNetworkError("reading the end of the upload", errTrailingData)
	case t.end.eof.Load():
		return errNoCloseNotify
	}

	return nil
}

// endOfUpload implements uploadEnder for the connection beneath the stream.
func (d *deflateConn) endOfUpload(wait time.Duration) error {
	return checkUploadEnd(d.Conn, wait)
}

// checkUploadEnd tells whether an upload over conn ended cleanly: on a protected connection,
// whether the client sent close_notify; a clear connection has no other end than its FIN.
func checkUploadEnd(conn net.Conn, wait time.Duration) error {
	ender, ok := conn.(uploadEnder)
	if !ok {
		return nil
	}

	return ender.endOfUpload(wait)
}
