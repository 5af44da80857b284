package ftpserver

import (
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
// lock is held only around that write: a reply is built before it is taken.
type replyWriter struct {
	timeout time.Duration // bounds each write: a client that stops reading holds no goroutine
	logger  log.Logger

	mu   sync.Mutex
	conn net.Conn // swapped for a *tls.Conn at AUTH TLS
}

// write sends a formatted reply; a failure is the connection's, and the read side ends the
// session.
func (w *replyWriter) write(code int, buf []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()

	_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))

	if _, err := w.conn.Write(buf); err != nil {
		level.Debug(w.logger).Log("event", "reply_failed", "code", code, "err", err)
	}
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

// multilineReply builds a multi-line reply (STAT, MLST, FEAT, HELP) before sending it whole:
// building calls the driver (a directory walk, GetTLSConfig), and no lock may be held while
// driver code runs, or a slow driver would hold up the replies of a running transfer.
type multilineReply struct {
	w    *replyWriter
	buf  []byte
	code int
}

// startMultiline begins a reply with "code-first".
func (w *replyWriter) startMultiline(code int, first string) *multilineReply {
	m := &multilineReply{w: w, buf: make([]byte, 0, 512), code: code}
	m.buf = strconv.AppendInt(m.buf, int64(code), 10)
	m.buf = append(m.buf, '-')
	m.buf = append(m.buf, oneLine(first)...)
	m.buf = append(m.buf, '\r', '\n')

	return m
}

// line adds a continuation line, indented so that it cannot end the reply.
func (m *multilineReply) line(text string) {
	m.buf = append(m.buf, ' ')
	m.buf = append(m.buf, oneLine(text)...)
	m.buf = append(m.buf, '\r', '\n')
}

// end adds the last line and sends the reply.
func (m *multilineReply) end(text string) {
	m.buf = strconv.AppendInt(m.buf, int64(m.code), 10)
	m.buf = append(m.buf, ' ')
	m.buf = append(m.buf, oneLine(text)...)
	m.buf = append(m.buf, '\r', '\n')

	m.w.write(m.code, m.buf)
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
