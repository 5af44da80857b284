package ftpserver

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAllLines reads lines from r until its end or a line too long, shown as "<too long>",
// after which the session ends.
func readAllLines(tb testing.TB, r io.Reader, maxLen int) []string {
	tb.Helper()

	cr := newCommandReader(r, maxLen)

	var lines []string

	for {
		line, err := cr.readLine()

		switch {
		case errors.Is(err, errLineTooLong):
			return append(lines, "<too long>")
		case errors.Is(err, io.EOF):
			return lines
		default:
			require.NoError(tb, err)
			lines = append(lines, line)
		}
	}
}

func TestCommandReaderLines(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		data  string
		max   int
		lines []string
	}{
		{"CRLF", "USER a\r\nPASS b\r\n", 16, []string{"USER a", "PASS b"}},
		{"bare LF", "NOOP\nQUIT\n", 16, []string{"NOOP", "QUIT"}},
		{"no final line end", "NOOP\r\nQUI", 16, []string{"NOOP"}},
		{"empty lines", "\r\n\n", 16, []string{"", ""}},
		{"exactly max with CRLF", "12345\r\n", 5, []string{"12345"}},
		{"exactly max with LF", "12345\n", 5, []string{"12345"}},
		{"max+1 with LF", "NOOP\n123456\nNOOP\n", 5, []string{"NOOP", "<too long>"}},
		{"max+1 with CRLF", "123456\r\nNOOP\r\n", 5, []string{"<too long>"}},
		{"max+1 without line end", "123456", 5, []string{"<too long>"}},
		{"max and a CR without its LF", "12345\r", 5, nil},
		{"long line", strings.Repeat("x", 2000) + "\r\nNOOP\r\n", 100, []string{"<too long>"}},
		{"lone CR dropped", "CWD a\rb\r\n", 16, []string{"CWD ab"}},
		{"CR before CRLF", "NOOP\r\r\n", 16, []string{"NOOP"}},
		{"CR NUL keeps the NUL", "CWD a\r\x00b\r\n", 16, []string{"CWD a\x00b"}},
		{"ABOR with IP and DM", "\xff\xf4\xff\xf2ABOR\r\n", 16, []string{"ABOR"}},
		{"escaped IAC", "CWD \xff\xff\r\n", 16, []string{"CWD \xff"}},
		{"option negotiation", "\xff\xfb\x01NOOP\r\n", 16, []string{"NOOP"}},
		{"option byte is CR", "\xff\xfd\rNOOP\r\n", 16, []string{"NOOP"}},
		{"subnegotiation", "\xff\xfa\x18\x00xterm\xff\xf0NOOP\r\n", 32, []string{"NOOP"}},
		{"unfinished subnegotiation", "NOOP\xff\xfa\x18abc\r\n", 32, []string{"NOOP"}},
		{"IAC at the end", "NOOP\xff\r\n", 16, []string{"NOOP"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			assert.Equal(t, tt.lines, readAllLines(t, strings.NewReader(tt.data), tt.max))
			// Bytes that come one at a time make the same lines.
			assert.Equal(t, tt.lines, readAllLines(t, iotest.OneByteReader(strings.NewReader(tt.data)), tt.max),
				"one byte at a time")
		})
	}
}

func TestParseCommandLine(t *testing.T) {
	t.Parallel()

	tests := []struct{ line, verb, param string }{
		{"", "", ""},
		{"noop", "NOOP", ""},
		{"USER anonymous", "USER", "anonymous"},
		{"CWD  leading space", "CWD", " leading space"},
		{"STOR a b c", "STOR", "a b c"},
		{"retr ", "RETR", ""},
		{"\xc3\xb2\xc3\xbfABOR", "ABOR", ""}, // IP and DM through a UTF-8 encoder
		{"\xf2abor", "ABOR", ""},
		{"xABOR x", "ABOR", "x"},
		{"ABORT", "ABORT", ""},
	}

	for _, tt := range tests {
		verb, param := parseCommandLine(tt.line)
		assert.Equal(t, tt.verb, verb, "%q", tt.line)
		assert.Equal(t, tt.param, param, "%q", tt.line)
	}
}

// FuzzCommandReader feeds arbitrary bytes to the command reader with a small maximum and
// parses every line: nothing may panic, a line never exceeds the maximum nor holds a CR or
// LF, each LF of the input ends exactly one line until an errLineTooLong ends the reading,
// bytes that come one at a time make the same lines, and the parser's verb and parameter
// rebuild the line.
func FuzzCommandReader(f *testing.F) {
	for _, seed := range []string{
		"USER anonymous\r\nPASS guest@\r\n",
		"NOOP\nQUIT\n",
		"\xff\xf4\xff\xf2ABOR\r\n",
		"CWD \xff\xff\r\n",
		"\xff\xfb\x01\xff\xfd\rNOOP\r\n",
		"\xff\xfa\x18\x00xterm\xff\xf0NOOP\r\n",
		"NOOP\xff\xfa\x18abc\r\n",
		"NOOP\xff",
		"CWD a\rb\r\n\r\r\n",
		"CWD a\r\x00b\r\n",
		"123456789012345678901234567890123456789012345678901234567890123456789\n",
		"\xff\r\n\xff\n",
		"stor \xc3\x28\xa0\xa1\r\n",
		"\n\n\n\r\n",
	} {
		f.Add([]byte(seed), uint8(8))
		f.Add([]byte(seed), uint8(63))
	}

	f.Fuzz(func(t *testing.T, data []byte, maxByte uint8) {
		limit := 1 + int(maxByte)%64
		cr := newCommandReader(bytes.NewReader(data), limit)
		ends := 0

		require.Equal(t, readAllLines(t, bytes.NewReader(data), limit),
			readAllLines(t, iotest.OneByteReader(bytes.NewReader(data)), limit), "one byte at a time")

		for range len(data) + 1 {
			line, err := cr.readLine()

			switch {
			case errors.Is(err, io.EOF):
				require.Equal(t, bytes.Count(data, []byte{'\n'}), ends, "one line per LF")

				return
			case errors.Is(err, errLineTooLong):
				require.Less(t, ends, bytes.Count(data, []byte{'\n'})+1)

				return
			}

			require.NoError(t, err)

			ends++

			require.LessOrEqual(t, len(line), limit, "line %q", line)
			require.NotContains(t, line, "\r")
			require.NotContains(t, line, "\n")

			verb, param := parseCommandLine(line)
			require.NotContains(t, verb, " ")
			require.Equal(t, strings.ToUpper(verb), verb)

			before, after, found := strings.Cut(line, " ")
			if !found {
				require.Empty(t, param)
			} else {
				require.Equal(t, after, param)
			}

			if upper := strings.ToUpper(before); strings.HasSuffix(upper, "ABOR") {
				require.Equal(t, "ABOR", verb)
			} else {
				require.Equal(t, upper, verb)
			}
		}

		t.Fatal("readLine did not reach the end of its input")
	})
}

// BenchmarkCommandReader reads pipelined command lines of typical lengths.
func BenchmarkCommandReader(b *testing.B) {
	lines := strings.Repeat("NOOP\r\nCWD /some/directory/of/files\r\nRETR file-with-a-longer-name.tar.gz\r\n", 64)
	r := strings.NewReader(lines)
	cr := newCommandReader(r, DefaultMaxCommandLineLength)

	b.SetBytes(int64(len(lines)))
	b.ReportAllocs()

	for b.Loop() {
		r.Reset(lines)
		cr.reset(r)

		for range 3 * 64 {
			if _, err := cr.readLine(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
