package ftpserver

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// replyWriter writes the replies of one control connection, each in one write under its lock,
// so that replies of the serve goroutine and of a transfer goroutine never interleave. The
// lock is held only around that write: a reply is built before it is taken, and no driver code
// runs under it. A long multi-line reply (STAT of a directory) is written in parts, its entries
// read from the driver between them; from its first part to its last, the replies of other
// goroutines are held and written right after its last line, so that none lands inside it.
type replyWriter struct {
	timeout time.Duration // bounds each write: a client that stops reading holds no goroutine
	logger  log.Logger

	mu        sync.Mutex
	conn      net.Conn    // swapped for a *tls.Conn at AUTH TLS
	streaming bool        // a multi-line reply is partly written
	held      []heldReply // replies that came while streaming, in order
}

// heldReply is a reply of another goroutine that waits for the end of a streamed reply.
type heldReply struct {
	code int
	buf  []byte
}

// write sends a formatted reply, or holds a copy while a multi-line reply is being streamed. A
// failure is the connection's, and the read side ends the session.
func (w *replyWriter) write(code int, buf []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.streaming {
		w.held = append(w.held, heldReply{code: code, buf: bytes.Clone(buf)})

		return
	}

	_ = w.send(code, buf)
}

// writePart sends a part of a multi-line reply. The first part starts the streaming, the last
// ends it and sends the replies held meanwhile.
func (w *replyWriter) writePart(code int, buf []byte, last bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()

	var err error
	if len(buf) > 0 {
		err = w.send(code, buf)
	}

	w.streaming = !last

	if last {
		for _, h := range w.held {
			_ = w.send(h.code, h.buf)
		}

		w.held = nil
	}

	return err
}

// send writes buf within the write timeout; the caller holds mu.
func (w *replyWriter) send(code int, buf []byte) error {
	_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))

	if _, err := w.conn.Write(buf); err != nil {
		level.Debug(w.logger).Log("event", "reply_failed", "code", code, "err", err)

		return fmt.Errorf("writing reply %d: %w", code, err)
	}

	return nil
}

// replyBuffers hold the replies being written, so a reply allocates nothing. A buffer grown
// past maxPooledReply by a long reply is left to the collector rather than kept.
var replyBuffers = sync.Pool{New: func() any {
	buf := make([]byte, 0, 256)

	return &buf
}}

const maxPooledReply = 4 << 10

// reply formats and sends a reply, in a buffer of the pool.
func (w *replyWriter) reply(code int, msg string) {
	buf := replyBuffers.Get().(*[]byte) //nolint:errcheck // the pool holds only these
	*buf = appendReply((*buf)[:0], code, msg)

	w.write(code, *buf)

	if cap(*buf) <= maxPooledReply {
		replyBuffers.Put(buf)
	}
}

// swap makes conn the connection replies go to, from the next reply on.
func (w *replyWriter) swap(conn net.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()

	w.conn = conn
}

// appendReply formats a reply as RFC 959 4.2 says: "123 text" on one line, or "123-first",
// continuation lines, and "123 last". Continuation lines are indented by one space so that a
// line starting with digits can never be taken for the end of the reply.
func appendReply(buf []byte, code int, msg string) []byte {
	if !strings.ContainsAny(msg, "\r\n") {
		buf = strconv.AppendInt(buf, int64(code), 10)
		buf = append(buf, ' ')
		buf = append(buf, msg...)

		return append(buf, '\r', '\n')
	}

	msg = strings.ReplaceAll(msg, "\r", "")
	lines := strings.Split(msg, "\n")

	if len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}

	for i, line := range lines {
		last := i == len(lines)-1

		switch {
		case i == 0 || last:
			buf = strconv.AppendInt(buf, int64(code), 10)
			if last {
				buf = append(buf, ' ')
			} else {
				buf = append(buf, '-')
			}
		default:
			buf = append(buf, ' ')
		}

		buf = append(buf, line...)
		buf = append(buf, '\r', '\n')
	}

	return buf
}

// multiReplyPart is the size past which a multi-line reply sends what it holds and goes on
// in a new part: a reply's memory stays within it whatever the number of lines.
const multiReplyPart = 16 << 10

// multilineReply builds a multi-line reply (STAT, MLST, FEAT, HELP). One that stays within
// multiReplyPart is sent whole by end; a longer one is sent in parts as it grows. Lines are
// added outside any lock, so the driver calls that produce them (a directory read,
// GetTLSConfig) never hold up another goroutine's reply, which waits for the end only once a
// part is out. Once started, a reply must be ended, even when a write failed.
type multilineReply struct {
	w    *replyWriter
	buf  []byte
	code int
	err  error // the first failed write: later lines are dropped
}

// startMultiline begins a reply with "code-first".
func (w *replyWriter) startMultiline(code int, first string) *multilineReply {
	m := &multilineReply{w: w, buf: make([]byte, 0, 512), code: code}
	m.buf = strconv.AppendInt(m.buf, int64(code), 10)
	m.buf = append(m.buf, '-')
	m.buf = appendOneLine(m.buf, first)

	return m
}

// line adds a continuation line, indented so that it cannot end the reply.
func (m *multilineReply) line(text string) {
	m.addLine(appendOneLine(append(m.buf, ' '), text))
}

// lineBytes is line for a text in a byte slice; trailing CR and LF are left out.
func (m *multilineReply) lineBytes(text []byte) {
	m.addLine(appendOneLine(append(m.buf, ' '), bytes.TrimRight(text, "\r\n")))
}

// addLine keeps buf, the reply with a new line, and sends it as a part once it is long enough.
func (m *multilineReply) addLine(buf []byte) {
	m.buf = buf
	if len(m.buf) < multiReplyPart {
		return
	}

	if m.err == nil {
		m.err = m.w.writePart(m.code, m.buf, false)
	}

	m.buf = m.buf[:0]
}

// failed returns the error of a part that could not be sent: the client will not read the
// rest, and whoever produces the lines can stop.
func (m *multilineReply) failed() error {
	return m.err
}

// end adds the last line and sends what is left of the reply.
func (m *multilineReply) end(text string) {
	m.buf = strconv.AppendInt(m.buf, int64(m.code), 10)
	m.buf = append(m.buf, ' ')
	m.buf = appendOneLine(m.buf, text)

	if m.err != nil {
		// The reply is broken: say nothing more, but send what others hold back.
		m.buf = m.buf[:0]
	}

	_ = m.w.writePart(m.code, m.buf, true)
}

// appendOneLine appends a text and CRLF, with CR and LF in the text turned into spaces, so
// that it cannot break the reply framing.
func appendOneLine[T string | []byte](buf []byte, text T) []byte {
	start := len(buf)
	buf = append(buf, text...)

	for i := start; i < len(buf); i++ {
		if buf[i] == '\r' || buf[i] == '\n' {
			buf[i] = ' '
		}
	}

	return append(buf, '\r', '\n')
}

// oneLine keeps a text from breaking the reply framing.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}

	return s
}

// orDefault is s, or def when s is empty: a driver's message or the default text.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}

	return s
}
