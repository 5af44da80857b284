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

var errASCIITest = errors.New("boom")

// asciiWriteReference is the obvious byte-at-a-time TYPE A conversion the writer must match.
func asciiWriteReference(in []byte) []byte {
	out := make([]byte, 0, len(in)+len(in)/8)
	for i, c := range in {
		if c == '\n' && (i == 0 || in[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}

	return out
}

// asciiReadReference is the conversion the reader must match.
func asciiReadReference(in []byte) []byte {
	return bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))
}

// asciiChunkSizes turns fuzz bytes into chunk sizes of 1 to 9 bytes; no bytes means one big chunk.
func asciiChunkSizes(b []byte) []int {
	if len(b) == 0 {
		return []int{1 << 20}
	}
	sizes := make([]int, len(b))
	for i, v := range b {
		sizes[i] = int(v%9) + 1
	}

	return sizes
}

// asciiChunkReader returns data in pieces whose sizes cycle through sizes, so that conversion state
// must survive between reads; with eofWithData the last piece comes with io.EOF.
type asciiChunkReader struct {
	data        []byte
	sizes       []int
	k           int
	eofWithData bool
}

func (c *asciiChunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data[:min(len(c.data), c.sizes[c.k%len(c.sizes)])])
	c.k++
	c.data = c.data[n:]
	if c.eofWithData && len(c.data) == 0 {
		return n, io.EOF
	}

	return n, nil
}

// asciiWriteInChunks writes in through an ASCII writer in pieces whose sizes cycle through sizes.
func asciiWriteInChunks(t *testing.T, in []byte, sizes []int) []byte {
	t.Helper()

	var out bytes.Buffer
	w := newASCIIWriter(&out)
	for k := 0; len(in) > 0; k++ {
		piece := in[:min(len(in), sizes[k%len(sizes)])]
		n, err := w.Write(piece)
		require.NoError(t, err)
		require.Len(t, piece, n)
		in = in[n:]
	}

	return out.Bytes()
}

// asciiReadWithSizes drains r with caller buffers whose sizes cycle through sizes, failing on a read
// that makes no progress.
func asciiReadWithSizes(t *testing.T, r io.Reader, sizes []int) ([]byte, error) {
	t.Helper()

	var out []byte
	buf := make([]byte, 16)
	for k := 0; ; k++ {
		size := min(sizes[k%len(sizes)], 1<<16)
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		n, err := r.Read(buf[:size])
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
		if n == 0 {
			t.Fatalf("read %d returned 0, nil", k)
		}
	}
}

func TestASCIIWriter(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   []string // the pieces given to successive Write calls
		want string
	}{
		{name: "empty", in: []string{""}, want: ""},
		{name: "no newline", in: []string{"abc"}, want: "abc"},
		{name: "bare LF", in: []string{"a\nb\n"}, want: "a\r\nb\r\n"},
		{name: "leading LF", in: []string{"\nx"}, want: "\r\nx"},
		{name: "CRLF kept", in: []string{"a\r\nb"}, want: "a\r\nb"},
		{name: "lone CR kept", in: []string{"a\rb"}, want: "a\rb"},
		{name: "CR CR LF", in: []string{"\r\r\n"}, want: "\r\r\n"},
		{name: "LF LF", in: []string{"\n\n"}, want: "\r\n\r\n"},
		{name: "CR then LF across writes", in: []string{"a\r", "\nb"}, want: "a\r\nb"},
		{name: "LF at start of second write", in: []string{"a", "\nb"}, want: "a\r\nb"},
		{name: "CR alone then text", in: []string{"\r", "x", "\n"}, want: "\rx\r\n"},
		{name: "empty write keeps CR state", in: []string{"\r", "", "\n"}, want: "\r\n"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var out bytes.Buffer
			w := newASCIIWriter(&out)
			for _, piece := range tt.in {
				n, err := w.Write([]byte(piece))
				require.NoError(t, err)
				require.Len(t, piece, n)
			}
			assert.Equal(t, tt.want, out.String())
		})
	}
}

// asciiTextSample returns n bytes of lines of varying length mixing LF, CRLF and lone CRs, long
// enough to make the writer flush in the middle of a Write.
func asciiTextSample(n int) []byte {
	out := make([]byte, 0, n)
	for i := 0; len(out) < n; i++ {
		out = append(out, "some text of a line"[:i%19]...)
		switch i % 5 {
		case 0, 1, 2:
			out = append(out, '\n')
		case 3:
			out = append(out, '\r', '\n')
		default:
			out = append(out, '\r')
		}
	}

	return out[:n]
}

func TestASCIIWriterLargeWrites(t *testing.T) {
	t.Parallel()

	in := asciiTextSample(5*asciiWriteBufferSize + 17)
	want := asciiWriteReference(in)

	for _, size := range []int{len(in), asciiWriteBufferSize - 1, asciiWriteBufferSize, 4093, 1} {
		assert.Equal(t, want, asciiWriteInChunks(t, in, []int{size}), "write size %d", size)
	}
}

// asciiFailingWriter accepts limit bytes, then fails.
type asciiFailingWriter struct {
	out   bytes.Buffer
	limit int
}

func (f *asciiFailingWriter) Write(p []byte) (int, error) {
	if f.out.Len()+len(p) <= f.limit {
		_, _ = f.out.Write(p) // a bytes.Buffer only fails by panicking

		return len(p), nil
	}
	n, _ := f.out.Write(p[:f.limit-f.out.Len()])

	return n, errASCIITest
}

// asciiShortWriter reports writing one byte less than asked, without an error.
type asciiShortWriter struct{}

func (asciiShortWriter) Write(p []byte) (int, error) {
	return max(len(p)-1, 0), nil
}

func TestASCIIWriterErrors(t *testing.T) {
	t.Parallel()

	large := asciiTextSample(3 * asciiWriteBufferSize)
	tests := []struct {
		name  string
		in    []byte
		limit int
	}{
		{name: "nothing written", in: []byte("abc\n"), limit: 0},
		{name: "CR of a CRLF written", in: []byte("a\nb\n"), limit: 2},
		{name: "whole line written", in: []byte("a\nb\n"), limit: 3},
		{name: "second flush fails", in: large, limit: asciiWriteBufferSize + 100},
		{name: "fails at a converted LF", in: large, limit: len(asciiWriteReference(large[:1000])) - 1},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			fw := &asciiFailingWriter{limit: tt.limit}
			n, err := newASCIIWriter(fw).Write(tt.in)
			require.ErrorIs(t, err, errASCIITest)
			require.Less(t, n, len(tt.in))

			// n counts exactly the input whose converted form is entirely on the wire.
			full := asciiWriteReference(tt.in)
			assert.Equal(t, string(full[:tt.limit]), fw.out.String())
			assert.Equal(t, asciiWriteReference(tt.in[:n]), full[:len(asciiWriteReference(tt.in[:n]))])
			assert.LessOrEqual(t, len(asciiWriteReference(tt.in[:n])), tt.limit)
			assert.Greater(t, len(asciiWriteReference(tt.in[:n+1])), tt.limit)
		})
	}

	t.Run("short write", func(t *testing.T) {
		t.Parallel()

		n, err := newASCIIWriter(asciiShortWriter{}).Write([]byte("ab\n"))
		require.ErrorIs(t, err, io.ErrShortWrite)
		assert.Equal(t, 2, n) // "ab\r" of "ab\r\n" went out: the LF did not
	})
}

func TestASCIIReader(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "empty", in: "", want: ""},
		{name: "plain", in: "abc", want: "abc"},
		{name: "CRLF", in: "a\r\nb\r\n", want: "a\nb\n"},
		{name: "bare LF kept", in: "a\nb", want: "a\nb"},
		{name: "lone CR kept", in: "a\rb", want: "a\rb"},
		{name: "CR at end of data", in: "ab\r", want: "ab\r"},
		{name: "only CR", in: "\r", want: "\r"},
		{name: "CR CR LF", in: "\r\r\n", want: "\r\n"},
		{name: "CR CR CR", in: "\r\r\r", want: "\r\r\r"},
		{name: "CRLF CRLF", in: "\r\n\r\n", want: "\n\n"},
		{name: "LF CR", in: "\n\r", want: "\n\r"},
		{name: "CR then text", in: "\rx\r\ny\r", want: "\rx\ny\r"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			// Every split of the input and every caller buffer size gives the same result.
			for chunk := 1; chunk <= len(tt.in)+1; chunk++ {
				for _, eofWithData := range []bool{false, true} {
					for bufSize := 1; bufSize <= len(tt.in)+2; bufSize++ {
						r := newASCIIReader(&asciiChunkReader{
							data: []byte(tt.in), sizes: []int{chunk}, eofWithData: eofWithData,
						})
						got, err := asciiReadWithSizes(t, r, []int{bufSize})
						require.ErrorIs(t, err, io.EOF)
						assert.Equal(t, tt.want, string(got), "chunk %d, buffer %d", chunk, bufSize)
					}
				}
			}

			require.NoError(t, iotest.TestReader(newASCIIReader(strings.NewReader(tt.in)), []byte(tt.want)))
		})
	}
}

func TestASCIIReaderErrors(t *testing.T) {
	t.Parallel()

	t.Run("error after held CR", func(t *testing.T) {
		t.Parallel()

		// The CR that was held back when the error came is still delivered before the error.
		src := io.MultiReader(strings.NewReader("a\r"), iotest.ErrReader(errASCIITest))
		for _, size := range []int{1, 2, 8} {
			got, err := asciiReadWithSizes(t, newASCIIReader(src), []int{size})
			require.ErrorIs(t, err, errASCIITest)
			assert.Equal(t, "a\r", string(got), "buffer %d", size)
			src = io.MultiReader(strings.NewReader("a\r"), iotest.ErrReader(errASCIITest))
		}
	})

	t.Run("error with a byte after a held CR", func(t *testing.T) {
		t.Parallel()

		src := io.MultiReader(strings.NewReader("\r"), iotest.DataErrReader(strings.NewReader("x")),
			iotest.ErrReader(errASCIITest))
		got, err := asciiReadWithSizes(t, newASCIIReader(src), []int{1})
		require.ErrorIs(t, err, errASCIITest)
		assert.Equal(t, "\rx", string(got))
	})

	t.Run("empty buffer", func(t *testing.T) {
		t.Parallel()

		n, err := newASCIIReader(strings.NewReader("x")).Read(nil)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

func FuzzASCIIWriter(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\rd\n"), []byte{1, 2, 3})
	f.Add([]byte("\r\n\r\r\n\n"), []byte{0})
	f.Add([]byte("\r"), []byte{})

	f.Fuzz(func(t *testing.T, in, split []byte) {
		whole := asciiWriteInChunks(t, in, []int{len(in) + 1})
		require.Equal(t, string(asciiWriteReference(in)), string(whole))
		require.Equal(t, string(whole), string(asciiWriteInChunks(t, in, asciiChunkSizes(split))))

		// No bare LF goes on the wire.
		for i, c := range whole {
			if c == '\n' {
				require.True(t, i > 0 && whole[i-1] == '\r', "bare LF at %d", i)
			}
		}

		// Text without CRLF of its own comes back unchanged through an upload.
		if !bytes.Contains(in, []byte("\r\n")) {
			back, err := io.ReadAll(newASCIIReader(bytes.NewReader(whole)))
			require.NoError(t, err)
			require.Equal(t, in, back)
		}
	})
}

func FuzzASCIIReader(f *testing.F) {
	f.Add([]byte("a\r\nb\rc\n\r"), []byte{1, 2, 3}, []byte{0, 1})
	f.Add([]byte("\r\r\n\r"), []byte{0}, []byte{0})
	f.Add([]byte(""), []byte{}, []byte{})

	f.Fuzz(func(t *testing.T, in, chunks, bufs []byte) {
		want := asciiReadReference(in)
		for _, eofWithData := range []bool{false, true} {
			r := newASCIIReader(&asciiChunkReader{data: in, sizes: asciiChunkSizes(chunks), eofWithData: eofWithData})
			got, err := asciiReadWithSizes(t, r, asciiChunkSizes(bufs))
			require.ErrorIs(t, err, io.EOF)
			require.Equal(t, want, got)
		}

		// Converting an upload back for a download restores every CRLF.
		if !bytes.Contains(in, []byte("\r\r\n")) {
			require.Equal(t, asciiWriteReference(in), asciiWriteReference(want))
		}
	})
}

func BenchmarkASCIIWriter(b *testing.B) {
	in := asciiTextSample(32 << 10)
	w := newASCIIWriter(io.Discard)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()

	for b.Loop() {
		if _, err := w.Write(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkASCIIReader(b *testing.B) {
	in := asciiWriteReference(asciiTextSample(32 << 10))
	src := bytes.NewReader(in)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()

	for b.Loop() {
		src.Reset(in)
		r := newASCIIReader(src)
		for {
			_, err := r.Read(buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
