package ftpserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// Telnet bytes that may appear on the control connection (RFC 854), e.g. ABOR preceded by
// "interrupt process" and "data mark" as RFC 959 4.1.3 describes.
const (
	telnetIAC  = 0xFF
	telnetWILL = 0xFB
	telnetDONT = 0xFE
	telnetSB   = 0xFA
)

// commandReader reads command lines with a bounded memory: a line longer than max bytes is
// reported with errLineTooLong as soon as that many bytes came without a line end.
type commandReader struct {
	r   *bufio.Reader
	max int
	buf []byte // the start of a line that came in several reads, kept across a read that times out
}

// commandReaderBufSize is the bufio size: commands are short, and a long line is assembled in
// buf rather than by enlarging this buffer.
const commandReaderBufSize = 512

func newCommandReader(r io.Reader, maxLen int) *commandReader {
	return &commandReader{r: bufio.NewReaderSize(r, commandReaderBufSize), max: maxLen}
}

// reset makes the reader read from r (after AUTH TLS), dropping anything buffered: RFC 4217
// 4 forbids pipelining commands after AUTH, so buffered bytes are an attack, not commands.
func (cr *commandReader) reset(r io.Reader) {
	cr.r.Reset(r)
	cr.buf = cr.buf[:0]
}

// buffered tells how many bytes were read from the connection but not yet consumed.
func (cr *commandReader) buffered() int {
	return cr.r.Buffered() + len(cr.buf)
}

// readLine returns the next line without its line end and without Telnet commands. It takes
// the bytes as they arrive rather than waiting for a line end, so that a line past the limit
// is reported (errLineTooLong) as soon as its bytes are, however slowly the rest comes; the
// reader is then in the middle of that line, and the session ends. A read error, such as a
// deadline, keeps the part of the line already read for the next call.
func (cr *commandReader) readLine() (string, error) {
	for {
		if cr.r.Buffered() == 0 {
			// Wait for the connection's next bytes, however few.
			if _, err := cr.r.Peek(1); err != nil {
				return "", err //nolint:wrapcheck // io.EOF and net errors are tested by the caller
			}
		}

		chunk, _ := cr.r.Peek(cr.r.Buffered()) // never fails for bytes already buffered
		end := bytes.IndexByte(chunk, '\n')

		if end >= 0 {
			chunk = chunk[:end+1]
		}

		line := chunk
		if len(cr.buf) > 0 { // a line in several chunks is assembled in buf
			// buf stays within max+1 bytes and one read: the limit is checked at each read.
			cr.buf = append(cr.buf, chunk...)
			line = cr.buf
		}

		// The line end is not part of the limit, nor the CR of a CR LF whose LF is yet to come.
		line = trimLineEnd(line)
		if len(line) > cr.max {
			cr.buf = cr.buf[:0]

			return "", errLineTooLong
		}

		if end >= 0 {
			text := dropCR(stripTelnet(line)) // a copy: chunk is the reader's buffer
			_, _ = cr.r.Discard(len(chunk))
			cr.buf = cr.buf[:0]

			return text, nil
		}

		if len(cr.buf) == 0 {
			cr.buf = append(cr.buf, chunk...)
		}

		_, _ = cr.r.Discard(len(chunk))
	}
}

func trimLineEnd(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})

	return bytes.TrimSuffix(b, []byte{'\r'})
}

// dropCR removes the carriage returns left inside a line. RFC 854 lets a CR stand only
// before LF (the line end, already trimmed) or NUL, so a lone CR carries nothing, and keeping
// it would let a name break the framing of a reply or a listing that repeats it.
func dropCR(line string) string {
	if strings.IndexByte(line, '\r') < 0 {
		return line
	}

	return strings.ReplaceAll(line, "\r", "")
}

// stripTelnet removes Telnet command sequences and undoubles escaped 0xFF bytes.
func stripTelnet(b []byte) string {
	if bytes.IndexByte(b, telnetIAC) < 0 {
		return string(b)
	}

	var out strings.Builder

	out.Grow(len(b))

	for i := 0; i < len(b); i++ {
		if b[i] != telnetIAC {
			out.WriteByte(b[i])

			continue
		}

		if i+1 >= len(b) {
			break
		}

		i++

		switch cmd := b[i]; {
		case cmd == telnetIAC:
			out.WriteByte(telnetIAC)
		case cmd >= telnetWILL && cmd <= telnetDONT:
			i++ // option negotiation carries one option byte
		case cmd == telnetSB:
			// subnegotiation runs to IAC SE; skip to just before it
			end := bytes.Index(b[i:], []byte{telnetIAC, 0xF0})
			if end < 0 {
				return out.String()
			}

			i += end + 1
		}
	}

	return out.String()
}

// parseCommandLine splits a line into its upper-cased verb and its parameter. RFC 959 5.3
// separates them by exactly one space, so further spaces belong to the parameter (a file name
// may start with one). A verb that ends in ABOR after other bytes is ABOR: a client that writes
// the Telnet IP and DM bytes (RFC 959 4.1.3) through a UTF-8 encoder sends them as "\xc3\xb2\xc3\xbf",
// which stripTelnet cannot recognise.
func parseCommandLine(line string) (string, string) {
	verb, param, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)

	if strings.HasSuffix(verb, "ABOR") {
		verb = "ABOR"
	}

	return verb, param
}

// Errors of splitQuotedArgs.
var (
	errUnclosedQuote  = errors.New("unclosed quote")
	errTextAfterQuote = errors.New("text after a closing quote")
	errEmptyName      = errors.New("empty name")
)

// splitQuotedArgs splits a list of names separated by spaces. A name starting with a double
// quote runs to the closing quote and may hold spaces, with "" standing for one quote (RFC 959
// appendix II's convention); any other name runs to the next space. Empty names and text glued
// to a closing quote are errors.
func splitQuotedArgs(param string) ([]string, error) {
	var args []string

	for i := 0; i < len(param); {
		switch param[i] {
		case ' ':
			i++
		case '"':
			arg, next, err := quotedArg(param, i+1)
			if err != nil {
				return nil, err
			}

			args = append(args, arg)
			i = next
		default:
			end := strings.IndexByte(param[i:], ' ')
			if end < 0 {
				end = len(param) - i
			}

			args = append(args, param[i:i+end])
			i += end
		}
	}

	return args, nil
}

// quotedArg reads a quoted name whose text starts at param[i], and returns it with the index
// just after its closing quote.
func quotedArg(param string, i int) (string, int, error) {
	var name strings.Builder

	for {
		j := strings.IndexByte(param[i:], '"')
		if j < 0 {
			return "", 0, errUnclosedQuote
		}

		name.WriteString(param[i : i+j])
		i += j + 1

		if i < len(param) && param[i] == '"' { // "" inside quotes is one quote
			name.WriteByte('"')
			i++

			continue
		}

		break
	}

	switch {
	case i < len(param) && param[i] != ' ':
		return "", 0, errTextAfterQuote
	case name.Len() == 0:
		return "", 0, errEmptyName
	}

	return name.String(), i, nil
}

// httpMethods are the request methods of HTTP (RFC 9110 9, RFC 5789, and "PRI" of the HTTP/2
// connection preface, RFC 9113 3.4). None is an FTP command.
var httpMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "CONNECT": true,
	"OPTIONS": true, "TRACE": true, "PATCH": true, "PRI": true,
}

// looksLikeHTTP tells whether a line of an unknown verb, split by parseCommandLine, is a line of
// an HTTP request: a request line ("GET / HTTP/1.1", any method, any case) or a header line
// ("Host: example.com"), whose name ends with a colon as no FTP verb does.
func looksLikeHTTP(verb, param string) bool {
	switch {
	case httpMethods[verb]:
		return true
	case len(verb) > 1 && strings.HasSuffix(verb, ":"):
		return true
	default:
		// A request line of a method not listed: "<method> <target> HTTP/<version>".
		space := strings.LastIndexByte(param, ' ')

		return space >= 0 && strings.HasPrefix(strings.ToUpper(param[space+1:]), "HTTP/")
	}
}
