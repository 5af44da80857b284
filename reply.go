package ftpserver

import (
	"bufio"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log/level"
)

// reply sends one reply; a message of several lines becomes a multi-line reply. It is the
// only way handlers answer, so every reply is formatted the same way and logged in one place.
func (c *clientHandler) reply(code int, msg string) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	_ = c.conn.SetWriteDeadline(c.writeDeadline())

	buf := appendReply(make([]byte, 0, len(msg)+8), code, msg)
	if _, err := c.conn.Write(buf); err != nil {
		level.Debug(c.logger).Log("event", "reply_failed", "code", code, "err", err)
	}

	if c.Debug() {
		level.Debug(c.logger).Log("event", "reply", "code", code, "msg", msg)
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

// multilineReply streams a long multi-line reply (STAT of a directory, FEAT, HELP) without
// building it in memory. Lines written with line are indented; end writes the last line.
type multilineReply struct {
	c    *clientHandler
	w    *bufio.Writer
	code int
}

// startMultiline writes "code-first" and holds the reply lock until end is called.
func (c *clientHandler) startMultiline(code int, first string) *multilineReply {
	c.writeMu.Lock()

	_ = c.conn.SetWriteDeadline(c.writeDeadline())

	m := &multilineReply{c: c, w: bufio.NewWriter(c.conn), code: code}
	m.w.WriteString(strconv.Itoa(code) + "-" + oneLine(first) + "\r\n")

	return m
}

// line writes a continuation line.
func (m *multilineReply) line(text string) {
	_ = m.c.conn.SetWriteDeadline(m.c.writeDeadline())
	m.w.WriteString(" " + oneLine(text) + "\r\n")
}

// end writes the last line and releases the reply lock.
func (m *multilineReply) end(text string) {
	m.w.WriteString(strconv.Itoa(m.code) + " " + oneLine(text) + "\r\n")

	if err := m.w.Flush(); err != nil {
		level.Debug(m.c.logger).Log("event", "reply_failed", "code", m.code, "err", err)
	}

	m.c.writeMu.Unlock()
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
