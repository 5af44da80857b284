package ftpserver

import (
	"bufio"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net"
)

// deflateBufferSize buffers each side of a MODE Z stream. The compressor hands its output over a
// few hundred bytes at a time; unbuffered, each piece would cost a write, and a TLS record under
// PROT P.
const deflateBufferSize = 32 << 10

// deflateConn is a data connection in MODE Z (draft-preston-ftpext-deflate): what a transfer
// writes to it is compressed, what it reads is decompressed, so RETR, STOR and listings run
// unchanged on top of it, TYPE A conversion included. Each direction is one zlib stream for the
// whole connection: RFC 1950 framing (header, deflate data, Adler-32), which lftp and ProFTPD's
// mod_deflate send and expect (lftp refuses a raw deflate stream). Deadlines and Close reach the
// connection underneath.
//
// The wrapper hides the connection's io.ReaderFrom, so MODE Z never uses sendfile; MODE S
// transfers are not wrapped and keep it.
type deflateConn struct {
	net.Conn

	level   int
	reading bool          // a Read happened: this is an upload, finish has nothing to send
	buf     *bufio.Writer // between the compressor and the connection
	w       *zlib.Writer  // created by the first Write
	r       io.Reader     // created by the first Read
}

// newDeflateConn wraps conn for MODE Z at a flate level; levels above the highest are clamped.
func newDeflateConn(conn net.Conn, level int) *deflateConn {
	return &deflateConn{Conn: conn, level: min(level, flate.BestCompression)}
}

// deflateLevel is the compression level of a transfer in mode: 0 in MODE S.
func deflateLevel(mode TransferMode, s *Settings) int {
	if mode != TransferModeDeflate {
		return 0
	}

	return s.DeflateCompressionLevel
}

// Write compresses p into the stream.
func (d *deflateConn) Write(p []byte) (int, error) {
	if err := d.startWriting(); err != nil {
		return 0, err
	}

	return d.w.Write(p) //nolint:wrapcheck // transparent wrapper, classified by the transfer
}

// startWriting creates the compressor on first use.
func (d *deflateConn) startWriting() error {
	if d.w != nil {
		return nil
	}

	d.buf = bufio.NewWriterSize(d.Conn, deflateBufferSize)

	w, err := zlib.NewWriterLevel(d.buf, d.level)
	if err != nil {
		return err //nolint:wrapcheck // only an invalid level, excluded by newDeflateConn
	}

	d.w = w

	return nil
}

// Read decompresses the stream into p. It returns io.EOF at the end of the zlib stream, whatever
// follows it, and io.ErrUnexpectedEOF when the connection ends before the stream does.
func (d *deflateConn) Read(p []byte) (int, error) {
	d.reading = true

	if d.r == nil {
		br := bufio.NewReaderSize(d.Conn, deflateBufferSize)

		// A client that sends no byte at all stores an empty file, as it would in MODE S; a
		// stream cut anywhere later is an error.
		if _, err := br.Peek(1); err != nil {
			return 0, err //nolint:wrapcheck // io.EOF must stay io.EOF
		}

		r, err := zlib.NewReader(br)
		if err != nil {
			return 0, err //nolint:wrapcheck // a corrupt stream, classified by the transfer
		}

		d.r = r
	}

	return d.r.Read(p) //nolint:wrapcheck // transparent wrapper
}

// FinalizeTransfer implements TransferFinalizer. It ends a complete download's stream: the
// compressor's last block and the checksum are written and flushed. A download that wrote
// nothing still sends a valid, empty stream, so the client can tell it from a broken one. An
// upload has no stream to end. The connection beneath is then finalized in turn.
func (d *deflateConn) FinalizeTransfer() error {
	if err := d.endStream(); err != nil {
		return err
	}

	return finalizeDataConn(d.Conn)
}

// endStream writes the end of a download's zlib stream.
func (d *deflateConn) endStream() error {
	if d.reading {
		return nil
	}

	if err := d.startWriting(); err != nil {
		return err
	}

	if err := d.w.Close(); err != nil {
		return newNetworkError("finishing compressed stream", err)
	}

	if err := d.buf.Flush(); err != nil {
		return newNetworkError("finishing compressed stream", err)
	}

	return nil
}

// finalizeDataConn calls the FinalizeTransfer of conn, if it has one.
func finalizeDataConn(conn net.Conn) error {
	finalizer, ok := conn.(TransferFinalizer)
	if !ok {
		return nil
	}

	if err := finalizer.FinalizeTransfer(); err != nil {
		return fmt.Errorf("finalizing data connection: %w", err)
	}

	return nil
}

// closeDataConn ends a transfer's data connection and returns the transfer's result: err, or
// else the failure to finalize the connection (the end of a MODE Z stream, a driver's
// TransferFinalizer) or to close it.
func closeDataConn(conn net.Conn, err error) error {
	if err == nil {
		err = finalizeDataConn(conn)
	}

	if closeErr := conn.Close(); err == nil && closeErr != nil && !errors.Is(closeErr, net.ErrClosed) {
		err = newNetworkError("closing data connection", closeErr)
	}

	return err
}
