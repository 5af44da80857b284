package ftpserver

import (
	"crypto/tls"
	"net"
	"sync"
)

// maxRecordPayload is the most plaintext one TLS record carries; a smaller write is sent as one
// record, so there is nothing to gather.
const maxRecordPayload = 16 << 10

// largestKeptBatch bounds the buffers recordBatches keeps: one chunk of a download and the
// records' overhead fit, and a rare larger write does not stay in the pool.
const largestKeptBatch = 2 * transferChunk

// recordBatches are the buffers that gather a write's TLS records, shared by all servers: one is
// held only for the length of one write.
var recordBatches = sync.Pool{New: func() any {
	buf := make([]byte, 0, transferChunk+transferChunk/16)

	return &buf
}}

// batchedTLS is a protected data connection whose large writes reach the TCP connection in
// one write each. crypto/tls writes every record (16 KiB at most) to the connection on its
// own, so a 256 KiB chunk of a download would cost 16 system calls and as many wake-ups of the
// client; gathered, it costs one.
type batchedTLS struct {
	*tls.Conn

	raw *recordGatherer
	end *eofRecorder // the TCP connection, which tells whether TLS read its end (upload_end.go)
}

// protectData runs the TLS handshake of a data connection over a gatherer of its records.
func protectData(conn net.Conn, handshake func(net.Conn) (*tls.Conn, error)) (*batchedTLS, error) {
	end := &eofRecorder{Conn: conn}
	raw := &recordGatherer{Conn: end}

	tlsConn, err := handshake(raw)
	if err != nil {
		return nil, err
	}

	return &batchedTLS{Conn: tlsConn, raw: raw, end: end}, nil
}

// Write encrypts p and sends its records in one write when there are several.
func (t *batchedTLS) Write(p []byte) (int, error) {
	if len(p) <= maxRecordPayload {
		return t.Conn.Write(p) //nolint:wrapcheck // a connection's errors, as the transfer checks them
	}

	t.raw.gather()

	n, err := t.Conn.Write(p)
	if sendErr := t.raw.send(); sendErr != nil {
		// What the peer received of p is unknown.
		return 0, sendErr
	}

	return n, err //nolint:wrapcheck // as above
}

// recordGatherer is the TCP connection under a batchedTLS. Between gather and send it keeps
// what TLS writes instead of writing it. The TLS connection's lock serialises its writes, and
// only the transfer goroutine writes to a data connection and closes it (an abort closes the
// TCP connection beneath, which writes nothing), so it needs no lock of its own.
type recordGatherer struct {
	net.Conn

	pending *[]byte // set between gather and send
	err     error   // the first failed send: the connection is then unusable
}

// gather starts keeping writes.
func (g *recordGatherer) gather() {
	g.pending = recordBatches.Get().(*[]byte) //nolint:errcheck // the pool holds only these
}

// Write keeps p while gathering, and otherwise writes it (the handshake, alerts).
func (g *recordGatherer) Write(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}

	if g.pending == nil {
		return g.Conn.Write(p) //nolint:wrapcheck // crypto/tls expects the connection's own errors
	}

	*g.pending = append(*g.pending, p...)

	return len(p), nil
}

// send writes what was gathered and stops gathering.
func (g *recordGatherer) send() error {
	pending := g.pending
	g.pending = nil

	defer func() {
		if cap(*pending) <= largestKeptBatch {
			*pending = (*pending)[:0]
			recordBatches.Put(pending)
		}
	}()

	if g.err != nil {
		return g.err
	}

	// A net.Conn writes everything or fails.
	if _, err := g.Conn.Write(*pending); err != nil {
		g.err = err

		return err //nolint:wrapcheck // as above
	}

	return nil
}
