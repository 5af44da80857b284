package ftpserver

import (
	"bytes"
	"io"
)

// asciiWriteBufferSize bounds the memory of one TYPE A download: converted bytes are gathered
// here and handed to the data connection in blocks of this size, so a file of short lines does
// not cost one network write per line.
const asciiWriteBufferSize = 8 << 10

// asciiWriter converts the stored form of a text file to the NVT-ASCII form RFC 959 3.1.1.1
// requires on the wire for TYPE A: every end of line is CRLF.
type asciiWriter struct {
	w io.Writer
	// prevCR is true when the last byte consumed, possibly in an earlier Write, was a CR: a LF
	// arriving next is then already the second half of a CRLF.
	prevCR bool
	n      int // bytes pending in buf
	buf    [asciiWriteBufferSize]byte
}

// newASCIIWriter wraps w for a TYPE A download (RETR, LIST output): each LF not already preceded
// by a CR becomes CRLF; existing CRLFs and lone CRs pass unchanged. State is kept across Write
// calls, and every Write hands its whole output to w before returning, so no Flush is needed.
func newASCIIWriter(w io.Writer) io.Writer {
	return &asciiWriter{w: w}
}

// Write converts p and writes it to the underlying writer. The count is of bytes of p, not of
// bytes on the wire, as io.Writer requires. After an error the writer's state is unspecified:
// the transfer is over.
func (a *asciiWriter) Write(p []byte) (int, error) {
	// done is the first byte of p whose output has not reached w yet, doneCR the state before it.
	done, doneCR := 0, a.prevCR

	for i := 0; i < len(p); {
		// Keep room for one byte of data plus the CR and LF of a converted end of line.
		if a.n+2 > len(a.buf) {
			if written, err := a.flush(); err != nil {
				return asciiPartialWrite(p, done, doneCR, written, err)
			}
			done, doneCR = i, a.prevCR
		}

		// Copy the bytes before the next LF, at most the free space less the byte kept for a CR.
		chunk := p[i:min(len(p), i+len(a.buf)-1-a.n)]
		lf := bytes.IndexByte(chunk, '\n')
		if lf >= 0 {
			chunk = chunk[:lf]
		}
		a.n += copy(a.buf[a.n:], chunk)
		i += len(chunk)
		if len(chunk) > 0 {
			a.prevCR = chunk[len(chunk)-1] == '\r'
		}

		if lf >= 0 {
			if !a.prevCR {
				a.buf[a.n] = '\r'
				a.n++
			}
			a.buf[a.n] = '\n'
			a.n++
			a.prevCR = false
			i++
		}
	}

	if written, err := a.flush(); err != nil {
		return asciiPartialWrite(p, done, doneCR, written, err)
	}

	return len(p), nil
}

// flush writes the pending output and returns how many bytes of it reached the underlying
// writer. A short write with no error is reported as io.ErrShortWrite, as io.Copy does.
func (a *asciiWriter) flush() (int, error) {
	if a.n == 0 {
		return 0, nil
	}

	written, err := a.w.Write(a.buf[:a.n])
	if err == nil && written < a.n {
		err = io.ErrShortWrite
	}
	a.n = 0 // after an error the transfer is over: pending output is dropped

	return written, err
}

// asciiPartialWrite builds the result of a Write whose flush failed after writing `written` bytes
// of the output of p[done:]: io.Writer wants the count of bytes of p that were written.
func asciiPartialWrite(p []byte, done int, doneCR bool, written int, err error) (int, error) {
	return done + asciiInputForOutput(p[done:], written, doneCR), err
}

// asciiInputForOutput returns how many leading bytes of p have their whole TYPE A form within the
// first m output bytes; prevCR is the writer state before p[0].
func asciiInputForOutput(p []byte, m int, prevCR bool) int {
	out := 0
	for i, c := range p {
		size := 1
		if c == '\n' && !prevCR {
			size = 2
		}
		if out+size > m {
			return i
		}
		out += size
		prevCR = c == '\r'
	}

	return len(p)
}

// asciiReader converts the NVT-ASCII form of a TYPE A upload back to the stored form: CRLF
// becomes LF (RFC 959 3.1.1.1); a CR not followed by LF is data and is kept.
type asciiReader struct {
	r io.Reader
	// heldCR is true when the last byte read from r was a CR that has not been returned yet:
	// whether it is kept depends on the byte that follows it.
	heldCR bool
	// carry is a byte already read from r that must be returned before anything else; it exists
	// only after a held CR was resolved into a caller buffer of one byte.
	carry    byte
	hasCarry bool
	// err is the error r returned, given back once the bytes read before it are returned.
	err error
}

// newASCIIReader wraps r for a TYPE A upload (STOR, APPE, STOU). Conversion is done in place in
// the caller's buffer; state is kept across Read calls, and a CR that is the last byte of the
// stream is returned as data.
func newASCIIReader(r io.Reader) io.Reader {
	return &asciiReader{r: r}
}

// Read fills p with converted data. It may return fewer bytes than r did, and returns 0, nil
// only when r does.
func (a *asciiReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}

	for {
		if a.heldCR && len(p) == 1 {
			return a.resolveHeldCR(p)
		}

		off, keep := 0, 0 // bytes put in p from state; of those, how many are final
		switch {
		case a.hasCarry:
			p[0], a.hasCarry = a.carry, false
			off, keep = 1, 1
		case a.heldCR:
			// Put back in front of the new data, where the conversion below decides its fate.
			p[0], a.heldCR = '\r', false
			off = 1
		}
		if off == len(p) {
			return off, nil
		}

		n, err := a.fill(p[off:])
		total := off + n
		if err == nil && total > keep && p[total-1] == '\r' {
			// The next byte decides: hold the CR back instead of guessing.
			a.heldCR = true
			total--
		}

		out := keep + dropCRBeforeLF(p[keep:total])
		if out > 0 || err != nil || n == 0 {
			return out, err
		}
		// Only a held CR came in: read again rather than return 0, nil.
	}
}

// fill reads from r into p unless r already failed, remembering r's error.
func (a *asciiReader) fill(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}

	n, err := a.r.Read(p)
	a.err = err

	return n, err //nolint:wrapcheck // io.Reader: io.EOF must reach the caller as itself
}

// resolveHeldCR serves a one-byte read while a CR is held: it reads the next byte into p and
// returns either the LF that ends a CRLF, or the held CR (keeping the new byte for later).
func (a *asciiReader) resolveHeldCR(p []byte) (int, error) {
	n, err := a.fill(p)
	if n == 0 {
		if err == nil {
			return 0, nil
		}
		// End of data: the held CR was a lone CR.
		p[0], a.heldCR = '\r', false

		return 1, err
	}

	switch {
	case p[0] == '\n':
		a.heldCR = false

		return 1, err
	case p[0] == '\r' && err == nil:
		// The held CR was lone; the new one is held in its place.
		return 1, nil
	default:
		// Return the held CR now and the new byte next time; err waits in a.err until then.
		a.carry, a.hasCarry = p[0], true
		p[0], a.heldCR = '\r', false

		return 1, nil
	}
}

// dropCRBeforeLF rewrites b in place with each CRLF replaced by LF and returns the new length.
// A CR at the end of b is kept: the caller holds back a CR whose follower is not known yet.
func dropCRBeforeLF(b []byte) int {
	w, from, scan := 0, 0, 0
	for {
		i := bytes.IndexByte(b[scan:], '\r')
		if i < 0 {
			break
		}
		cr := scan + i
		if cr+1 < len(b) && b[cr+1] == '\n' {
			w += copy(b[w:], b[from:cr])
			from = cr + 1
		}
		scan = cr + 1
	}

	return w + copy(b[w:], b[from:])
}
