package ftpserver

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"io"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deflateFileSystems runs a MODE Z test over memory and over a real directory (where MODE S
// would use sendfile), with MODE Z offered at level 6.
func deflateFileSystems(t *testing.T, test func(t *testing.T, s *testServer)) {
	t.Helper()

	onFileSystems(t, test, withDeflate(6))
}

// compressible returns n bytes of text that deflate shrinks several times over.
func compressible(n int) []byte {
	line := []byte("MODE Z squeezes repetitive text such as logs and listings\n")

	return bytes.Repeat(line, n/len(line)+1)[:n]
}

// zlibStream compresses data into one zlib stream, as an FTP client in MODE Z sends it.
func zlibStream(tb testing.TB, data []byte) []byte {
	tb.Helper()

	var buf bytes.Buffer

	w, err := zlib.NewWriterLevel(&buf, flate.BestSpeed)
	require.NoError(tb, err)
	_, err = w.Write(data)
	require.NoError(tb, err)
	require.NoError(tb, w.Close())

	return buf.Bytes()
}

// inflate decompresses one zlib stream, requiring it to be complete: the Adler-32 trailer is
// checked when the reader reaches its end.
func inflate(tb testing.TB, stream []byte) []byte {
	tb.Helper()

	require.NotEmpty(tb, stream, "an empty data connection is not a zlib stream")

	r, err := zlib.NewReader(bytes.NewReader(stream))
	require.NoError(tb, err)

	data, err := io.ReadAll(r)
	require.NoError(tb, err)

	return data
}

func TestModeZOff(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)

	assert.NotContains(t, rc.expect("FEAT", StatusSystemStatus), "MODE Z")
	assert.Equal(t, `Unsupported mode "Z"`, rc.expect("MODE Z", StatusNotImplementedParam))
	assert.Equal(t, "Using stream mode", rc.expect("MODE S", StatusOK))
	assert.Equal(t, `Unsupported mode "B"`, rc.expect("MODE B", StatusNotImplementedParam))
	rc.expect("MODE", StatusSyntaxErrorParameters)
}

func TestModeZFEATAndSTAT(t *testing.T) {
	s := newTestServer(t, withDeflate(5))
	rc := s.rawLoggedIn(t)

	assert.Contains(t, strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n"), " MODE Z")
	assert.Contains(t, rc.expect("STAT", StatusSystemStatus), "MODE: Stream")
	assert.Equal(t, "Using deflate mode", rc.expect("mode z", StatusOK))
	assert.Contains(t, rc.expect("STAT", StatusSystemStatus), "MODE: Deflate")
	rc.expect("MODE S", StatusOK)
	assert.Contains(t, rc.expect("STAT", StatusSystemStatus), "MODE: Stream")
}

func TestModeZRetrAndStor(t *testing.T) {
	deflateFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK)
		rc.expect("MODE Z", StatusOK)

		for _, content := range [][]byte{compressible(3*transferChunk + 17), testContent(700_000)} {
			code, msg := rc.upload("STOR f.bin", zlibStream(t, content))
			require.Equal(t, StatusClosingDataConn, code, msg)

			stored, err := afero.ReadFile(s.driver.fs, "/f.bin")
			require.NoError(t, err)
			require.Equal(t, sha256Hex(content), sha256Hex(stored), "bytes on disk")

			raw := rc.download("RETR f.bin")
			assert.Equal(t, byte(0x78), raw[0], "RFC 1950 header: deflate, 32 KiB window")
			require.Equal(t, sha256Hex(content), sha256Hex(inflate(t, raw)), "bytes downloaded")
		}

		text := compressible(1 << 20)
		require.NoError(t, writeFile(s.driver.fs, "/text.txt", text))
		raw := rc.download("RETR text.txt")
		assert.Less(t, len(raw), len(text)/20, "repetitive text is compressed")
		assert.Equal(t, text, inflate(t, raw))

		// Back in MODE S the bytes go as they are.
		rc.expect("MODE S", StatusOK)
		assert.Equal(t, text, rc.download("RETR text.txt"))
	})
}

func TestModeZAppendAndRest(t *testing.T) {
	deflateFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		content := testContent(600_000)
		require.NoError(t, writeFile(s.driver.fs, "/src.bin", content))

		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK)
		rc.expect("MODE Z", StatusOK)

		// The REST offset counts bytes of the file, not of the compressed stream.
		rc.expect("REST 450000", StatusFileActionPending)
		assert.Equal(t, sha256Hex(content[450_000:]), sha256Hex(inflate(t, rc.download("RETR src.bin"))))

		// A broken upload with garbage after its first 200,000 bytes, resumed from there.
		partial := append(append([]byte{}, content[:200_000]...), bytes.Repeat([]byte{'!'}, 500_000)...)
		require.NoError(t, writeFile(s.driver.fs, "/dst.bin", partial))
		rc.expect("REST 200000", StatusFileActionPending)
		code, msg := rc.upload("STOR dst.bin", zlibStream(t, content[200_000:]))
		require.Equal(t, StatusClosingDataConn, code, msg)

		stored, err := afero.ReadFile(s.driver.fs, "/dst.bin")
		require.NoError(t, err)
		assert.Equal(t, sha256Hex(content), sha256Hex(stored))

		code, msg = rc.upload("APPE dst.bin", zlibStream(t, []byte("tail")))
		require.Equal(t, StatusClosingDataConn, code, msg)

		stored, err = afero.ReadFile(s.driver.fs, "/dst.bin")
		require.NoError(t, err)
		assert.Equal(t, "tail", string(stored[len(content):]))
	})
}

func TestModeZASCII(t *testing.T) {
	s := newTestServer(t, withDeflate(9))
	require.NoError(t, writeFile(s.driver.fs, "/unix.txt", []byte("one\ntwo\r\nthree\n")))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE A", StatusOK)
	rc.expect("MODE Z", StatusOK)

	// TYPE A converts first, then the result is compressed, both ways.
	assert.Equal(t, "one\r\ntwo\r\nthree\r\n", string(inflate(t, rc.download("RETR unix.txt"))))

	code, msg := rc.upload("STOR dos.txt", zlibStream(t, []byte("a\r\nb\r\n")))
	require.Equal(t, StatusClosingDataConn, code, msg)

	stored, err := afero.ReadFile(s.driver.fs, "/dos.txt")
	require.NoError(t, err)
	assert.Equal(t, "a\nb\n", string(stored))
}

func TestModeZListings(t *testing.T) {
	s := newTestServer(t, withDeflate(1))
	require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))

	for _, name := range []string{"a.txt", "b.txt", "with space.txt"} {
		require.NoError(t, writeFile(s.driver.fs, "/dir/"+name, []byte(name)))
	}

	rc := s.rawLoggedIn(t)
	plain := map[string][]byte{}

	for _, command := range []string{"LIST /dir", "NLST /dir", "MLSD /dir"} {
		plain[command] = rc.download(command)
	}

	rc.expect("MODE Z", StatusOK)

	for command, want := range plain {
		assert.Equal(t, string(want), string(inflate(t, rc.download(command))), command)
	}

	// A listing of an empty directory is still a complete stream.
	require.NoError(t, s.driver.fs.Mkdir("/empty", 0o755))
	assert.Empty(t, inflate(t, rc.download("NLST /empty")))
}

func TestModeZEmptyTransfers(t *testing.T) {
	s := newTestServer(t, withDeflate(6))
	require.NoError(t, writeFile(s.driver.fs, "/empty", nil))

	rc := s.rawLoggedIn(t)
	rc.expect("MODE Z", StatusOK)

	// An empty file is sent as a complete, empty stream, which a client can tell from a cut one.
	assert.Empty(t, inflate(t, rc.download("RETR empty")))

	// An empty stream stores an empty file, and so does a client that sends no byte at all.
	for _, payload := range [][]byte{zlibStream(t, nil), nil} {
		require.NoError(t, writeFile(s.driver.fs, "/up", []byte("old")))
		code, msg := rc.upload("STOR up", payload)
		require.Equal(t, StatusClosingDataConn, code, msg)

		stored, err := afero.ReadFile(s.driver.fs, "/up")
		require.NoError(t, err)
		assert.Empty(t, stored)
	}
}

func TestModeZBrokenUploads(t *testing.T) {
	s := newTestServer(t, withDeflate(6))
	content := compressible(100_000)
	stream := zlibStream(t, content)

	// A zlib stream is a 2-byte header, the raw deflate data and a 4-byte Adler-32 trailer.
	rawDeflate := stream[2 : len(stream)-4]

	corrupt := append([]byte{}, stream...)
	corrupt[len(corrupt)-1] ^= 0xFF // the Adler-32 trailer

	rc := s.rawLoggedIn(t)
	rc.expect("MODE Z", StatusOK)

	tests := []struct {
		name    string
		payload []byte
		code    int
		msg     string
	}{
		{"cut stream", stream[:len(stream)/2], StatusTransferAborted, "Data connection closed, transfer aborted"},
		{"raw deflate without zlib header", rawDeflate, StatusActionNotTaken, "Issue during transfer: zlib: invalid header"},
		{"bad checksum", corrupt, StatusActionNotTaken, "Issue during transfer: zlib: invalid checksum"},
	}

	for _, tt := range tests {
		code, msg := rc.upload("STOR broken.bin", tt.payload)
		assert.Equal(t, tt.code, code, tt.name)
		assert.Equal(t, tt.msg, msg, tt.name)
	}

	// The session goes on.
	code, msg := rc.upload("STOR ok.bin", stream)
	require.Equal(t, StatusClosingDataConn, code, msg)
}

func TestModeZWithTLS(t *testing.T) {
	s := newTestServer(t, withTLS(t), withDeflate(6))
	content := compressible(500_000)
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", content))

	config := clientTLSConfig()
	rc := s.rawProtected(t, config)
	rc.expect("TYPE I", StatusOK)
	rc.expect("MODE Z", StatusOK)

	// The compressed stream travels inside TLS.
	assert.Equal(t, content, inflate(t, rc.downloadOver(rc.pasvTLS(config), "RETR f.txt")))

	code, msg := rc.uploadOver(rc.pasvTLS(config), "STOR g.txt", zlibStream(t, content))
	require.Equal(t, StatusClosingDataConn, code, msg)

	stored, err := afero.ReadFile(s.driver.fs, "/g.txt")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(stored))
}

func TestModeZResetByREIN(t *testing.T) {
	s := newTestServer(t, withDeflate(6))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("plain")))

	rc := s.rawLoggedIn(t)
	rc.expect("MODE Z", StatusOK)
	rc.expect("REIN", StatusServiceReady)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	assert.Equal(t, "plain", string(rc.download("RETR f.txt")), "REIN goes back to MODE S")
}

func TestDeflateConnClampsLevel(t *testing.T) {
	t.Parallel()

	assert.Equal(t, flate.BestCompression, newDeflateConn(nil, 42).level)
	assert.Equal(t, 3, newDeflateConn(nil, 3).level)
}

func TestModeZActive(t *testing.T) {
	s := newTestServer(t, withDeflate(6))
	content := compressible(300_000)
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", content))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	rc.expect("MODE Z", StatusOK)

	accept := rc.port("EPRT")
	rc.expect("RETR f.txt", StatusFileStatusOK)
	raw := readAllClose(t, accept())

	code, msg := rc.read()
	require.Equal(t, StatusClosingDataConn, code, msg)
	assert.Equal(t, content, inflate(t, raw))
}

// BenchmarkRETRModeZ measures a MODE Z download of repetitive text at the default level of the
// bundled server, the client decompressing as it reads. Bytes are those of the file.
func BenchmarkRETRModeZ(b *testing.B) {
	const size = 16 << 20

	s := benchServer(b, withDeflate(5))
	require.NoError(b, writeFile(s.driver.fs, "/bench.txt", compressible(size)))

	rc := s.rawLoggedIn(b)
	rc.expect("TYPE I", StatusOK)
	rc.expect("MODE Z", StatusOK)

	b.SetBytes(size)
	b.ResetTimer()

	for b.Loop() {
		data := rc.pasv()
		rc.expect("RETR bench.txt", StatusFileStatusOK)

		r, err := zlib.NewReader(data)
		require.NoError(b, err)

		n, err := io.CopyN(io.Discard, r, size+1)
		require.ErrorIs(b, err, io.EOF)
		require.EqualValues(b, size, n)
		require.NoError(b, data.Close())

		code, msg := rc.read()
		require.Equal(b, StatusClosingDataConn, code, msg)
	}
}
