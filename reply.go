package ftpserver

import (
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log/level"
)

// reply sends one reply; a message of several lines becomes a multi-line reply. It is the
// only way handlers answer, so every reply is formatted the same way and logged in one place.
func (c *clientHandler) reply(code int, msg string) {
	c.write(code, appendReply(make([]byte, 0, len(msg)+8), code, msg))

	if c.Debug() {
		level.Debug(c.logger).Log("event", "reply", "code", code, "msg", msg)
	}
}

// write sends a formatted reply in one write under writeMu, the only place that lock is held
// while writing, so replies never interleave and nothing else waits on the socket.
func (c *clientHandler) write(code int, buf []byte) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	_ = c.conn.SetWriteDeadline(c.writeDeadline())

	if _, err := c.conn.Write(buf); err != nil {
		level.Debug(c.logger).Log("event", "reply_failed", "code", code, "err", err)
	}
}

// appendReply formats a reply as RFC 959 4.2 says: "123 text" on one line, or "123-first",
// continuation lines, and "123 last". Continuation lines are indented by one space so that a
// line starting with digits can never be taken for the end of the reply.
func appendReply(buf []byte, code int, msg string) []byte {
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
	c    *clientHandler
	buf  []byte
	code int
}

// startMultiline begins a reply with "code-first".
func (c *clientHandler) startMultiline(code int, first string) *multilineReply {
	m := &multilineReply{c: c, buf: make([]byte, 0, 512), code: code}
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

	m.c.write(m.code, m.buf)
}

// oneLine keeps a text from breaking the reply framing.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}

	return s
}

// writeDeadline bounds each reply write, so a client that stops reading its control
// connection cannot hold a goroutine forever.
func (c *clientHandler) writeDeadline() time.Time {
	return time.Now().Add(seconds(c.server.settings.ConnectionTimeout))
}

// replyError sends the reply for err: the code from errorCode (fallback when it does not
// know err) and a text that names the operation but not server internals.
func (c *clientHandler) replyError(fallback int, what string, err error) {
	code := errorCode(err, fallback)
	level.Debug(c.logger).Log("event", "command_failed", "cmd", c.GetLastCommand(), "what", what, "err", err)
	c.reply(code, what+": "+clientErrorText(err))
}

// orDefault is s, or def when s is empty: a driver's message or the default text.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}

	return s
}
