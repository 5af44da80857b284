package ftpserver

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testHashAlgos = []struct {
	algo HASHAlgo
	name string // in FEAT, OPTS HASH and HASH replies
	verb string // the X* command
}{
	{HASHAlgoSHA256, "SHA-256", "XSHA256"},
	{HASHAlgoSHA512, "SHA-512", "XSHA512"},
	{HASHAlgoSHA1, "SHA-1", "XSHA1"},
	{HASHAlgoMD5, "MD5", "XMD5"},
	{HASHAlgoCRC32, "CRC32", "XCRC"},
}

func TestHASHDisabled(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/f", []byte("data")))

	rc := s.rawLoggedIn(t)
	for _, line := range []string{
		"HASH /f", "RANG 0 1", "XCRC /f", "XMD5 /f", "XSHA /f", "XSHA1 /f", "XSHA256 /f", "XSHA512 /f", "OPTS HASH",
		"OPTS HASH SHA-1",
	} {
		msg := rc.expect(line, StatusCommandNotImplemented)
		assert.Contains(t, msg, "disabled", line)
	}

	feat := rc.expect("FEAT", StatusSystemStatus)
	assert.NotContains(t, feat, "HASH")
	assert.NotContains(t, feat, "XCRC")
	assert.NotContains(t, rc.expect("HELP", StatusHelpMessage), "XSHA256")
}

func TestHASHNeedsLogin(t *testing.T) {
	s := newTestServer(t, withSettings(enableHASH))
	rc := s.raw(t)

	for _, line := range []string{"HASH /f", "RANG 0 1", "XCRC /f", "XMD5 /f", "XSHA1 /f", "XSHA256 /f", "XSHA512 /f"} {
		rc.expect(line, StatusNotLoggedIn)
	}

	// OPTS is allowed before login, like every option of the session.
	assert.Equal(t, "SHA-256", rc.expect("OPTS HASH", StatusOK))
}

func TestHASHFEATAndOPTS(t *testing.T) {
	s := newTestServer(t, withSettings(enableHASH))
	rc := s.rawLoggedIn(t)

	feat := strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n")
	assert.Contains(t, feat, " HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32")

	for _, verb := range []string{"XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"} {
		assert.Contains(t, feat, " "+verb)
	}

	assert.NotContains(t, feat, " RANG STREAM", "RANG only serves HASH, not RETR/STOR")

	// draft-bryan-ftpext-hash-02 3.2: "200 <name>" to query and to select, case-insensitively.
	assert.Equal(t, "SHA-256", rc.expect("OPTS HASH", StatusOK))
	assert.Equal(t, "SHA-512", rc.expect("OPTS HASH sha-512", StatusOK))
	assert.Equal(t, "SHA-512", rc.expect("OPTS HASH", StatusOK))
	assert.Contains(t, strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n"), " HASH SHA-256;SHA-512*;SHA-1;MD5;CRC32")

	msg := rc.expect("OPTS HASH CRC-37", StatusSyntaxErrorParameters)
	assert.Equal(t, "Unknown algorithm, current selection not changed", msg)
	rc.expect("OPTS HASH SHA256", StatusSyntaxErrorParameters) // the IANA name has the dash
	assert.Equal(t, "SHA-512", rc.expect("OPTS HASH", StatusOK))

	for _, a := range testHashAlgos {
		assert.Equal(t, a.name, rc.expect("OPTS HASH "+a.name, StatusOK))
	}

	// The choice lasts until REIN (draft 3.2).
	rc.expect("REIN", StatusServiceReady)
	assert.Equal(t, "SHA-256", rc.expect("OPTS HASH", StatusOK))
}

func TestHASHDigests(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		conn := s.dial(t)
		rc := s.rawLoggedIn(t)

		for _, size := range []int{0, 1, 1000, 3*transferChunk + 17} {
			content := testContent(size)
			require.NoError(t, conn.Stor("file.bin", bytes.NewReader(content)))

			for _, a := range testHashAlgos {
				rc.expect("OPTS HASH "+a.name, StatusOK)

				// draft 3: "213 <hashname> <start>-<end> <hash> <pathname>", end included; an
				// empty file has no last byte and shows 0-0.
				want := fmt.Sprintf("%s 0-%d %s file.bin", a.name, max(size-1, 0), goDigest(a.algo, content))
				assert.Equal(t, want, rc.expect("HASH file.bin", StatusFileStatus), "size %d", size)

				// GlobalSCAPE's XCRC and ftpserverlib: "250 <hash>".
				assert.Equal(t, goDigest(a.algo, content), rc.expect(a.verb+" file.bin", StatusFileOK), "size %d", size)
			}
		}
	}, withSettings(enableHASH))
}

func TestHASHRanges(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		content := testContent(1000)
		require.NoError(t, s.driver.fs.MkdirAll("/dir with space", 0o755))
		require.NoError(t, s.dial(t).Stor("/dir with space/my file.bin", bytes.NewReader(content)))

		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK) // SIZE and REST answer in binary only
		rc.expect("CWD /dir with space", StatusFileOK)

		sha := func(data []byte) string { return goDigest(HASHAlgoSHA256, data) }

		// draft-bryan-ftp-range-08 3: 350, end included.
		assert.Equal(t, "Range 10-99 set for the next HASH", rc.expect("RANG 10 99", StatusFileActionPending))
		assert.Equal(t, "SHA-256 10-99 "+sha(content[10:100])+" my file.bin", rc.expect("HASH my file.bin", StatusFileStatus))

		// The range served one HASH: the next is of the whole file again.
		assert.Equal(t, "SHA-256 0-999 "+sha(content)+" my file.bin", rc.expect("HASH my file.bin", StatusFileStatus))

		// A one-byte range, and an end beyond the file cut to its last byte as RETR would.
		rc.expect("RANG 0 0", StatusFileActionPending)
		assert.Equal(t, "SHA-256 0-0 "+sha(content[:1])+" my file.bin", rc.expect("HASH my file.bin", StatusFileStatus))
		rc.expect("RANG 990 5000", StatusFileActionPending)
		assert.Equal(t, "SHA-256 990-999 "+sha(content[990:])+" /dir with space/my file.bin",
			rc.expect("HASH /dir with space/my file.bin", StatusFileStatus))

		// "RANG 1 0" resets (350).
		rc.expect("RANG 5 10", StatusFileActionPending)
		assert.Equal(t, "Range reset, HASH covers the whole file", rc.expect("RANG 1 0", StatusFileActionPending))
		assert.Equal(t, "SHA-256 0-999 "+sha(content)+" my file.bin", rc.expect("HASH my file.bin", StatusFileStatus))

		// REST belongs to the next transfer, not to HASH (the draft takes ranges from RANG).
		rc.expect("REST 500", StatusFileActionPending)
		assert.Equal(t, "SHA-256 0-999 "+sha(content)+" my file.bin", rc.expect("HASH my file.bin", StatusFileStatus))
		rc.expect("REST 0", StatusFileActionPending)

		// X*: "<path> [<start> [<end>]]", end excluded; quoted paths as GlobalSCAPE sends them.
		for _, tt := range []struct {
			args string
			data []byte
		}{
			{"my file.bin 10 100", content[10:100]},
			{"my file.bin 990", content[990:]},
			{"my file.bin 0 0", nil},
			{"my file.bin 1000", nil},
			{"my file.bin 100 99999", content[100:]},
			{`"my file.bin" 5 6`, content[5:6]},
			{`"my file.bin"`, content},
			{`"/dir with space/my file.bin" 7`, content[7:]},
		} {
			for _, a := range testHashAlgos {
				assert.Equal(t, goDigest(a.algo, tt.data), rc.expect(a.verb+" "+tt.args, StatusFileOK), "%s %s", a.verb, tt.args)
			}
		}

		// The chosen algorithm applies to ranges too.
		rc.expect("OPTS HASH CRC32", StatusOK)
		rc.expect("RANG 1 1", StatusFileActionPending)
		assert.Equal(t, fmt.Sprintf("CRC32 1-1 %08x my file.bin", crc32.ChecksumIEEE(content[1:2])),
			rc.expect("HASH my file.bin", StatusFileStatus))
	}, withSettings(enableHASH))
}

func TestHASHErrors(t *testing.T) {
	s := newTestServer(t, withSettings(enableHASH))
	require.NoError(t, writeFile(s.driver.fs, "/ten", []byte("0123456789")))
	require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))

	rc := s.rawLoggedIn(t)

	// draft 3.5: 550 for a missing file, 553 for a directory.
	for _, verb := range []string{"HASH", "XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"} {
		assert.Contains(t, rc.expect(verb+" /missing", StatusActionNotTaken), "no such file or directory")
		assert.Contains(t, rc.expect(verb+" /dir", StatusActionNotTakenNoFile), "not a regular file")
		rc.expect(verb, StatusSyntaxErrorParameters)
	}

	// draft-bryan-ftp-range-08 3 and 5: 501 for bad syntax and for start > end (except the
	// reset "1 0"), which also resets the range.
	for _, bad := range []string{"RANG 5 2", "RANG x y", "RANG 1", "RANG 1 2 3", "RANG -1 5", "RANG +1 5",
		"RANG 1 99999999999999999999"} {
		rc.expect("RANG 0 3", StatusFileActionPending)
		rc.expect(bad, StatusSyntaxErrorParameters)
		assert.Equal(t, "SHA-256 0-9 "+goDigest(HASHAlgoSHA256, []byte("0123456789"))+" /ten",
			rc.expect("HASH /ten", StatusFileStatus), "after %q", bad)
	}

	// A range starting beyond the file is refused when HASH runs (draft-bryan-ftp-range-08 4.3),
	// and is used up.
	rc.expect("RANG 10 20", StatusFileActionPending)
	assert.Contains(t, rc.expect("HASH /ten", StatusSyntaxErrorParameters), "beyond the end")
	rc.expect("HASH /ten", StatusFileStatus)

	// X* ranges: start after end, start beyond the file, and a number where the path ends.
	rc.expect("XCRC /ten 5 2", StatusSyntaxErrorParameters)
	rc.expect("XMD5 /ten 11", StatusSyntaxErrorParameters)
	rc.expect(`XSHA1 "/ten" x`, StatusSyntaxErrorParameters)
	rc.expect(`XSHA1 "/ten" 1 2 3`, StatusSyntaxErrorParameters)
	rc.expect(`XSHA1 "/ten`, StatusSyntaxErrorParameters)
	rc.expect("XSHA256 /ten -1", StatusActionNotTaken) // "-1" is not a number: part of the name

	assert.Equal(t, "SHA-256", rc.expect("OPTS HASH", StatusOK), "nothing changed the algorithm")
}

func TestHASHREINResetsRange(t *testing.T) {
	s := newTestServer(t, withSettings(enableHASH))
	require.NoError(t, writeFile(s.driver.fs, "/ten", []byte("0123456789")))

	rc := s.rawLoggedIn(t)
	rc.expect("OPTS HASH MD5", StatusOK)
	rc.expect("RANG 2 3", StatusFileActionPending)
	rc.expect("REIN", StatusServiceReady)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	assert.Equal(t, "SHA-256 0-9 "+goDigest(HASHAlgoSHA256, []byte("0123456789"))+" ten",
		rc.expect("HASH ten", StatusFileStatus))
}

type hashCall struct {
	name       string
	algo       HASHAlgo
	start, end int64
}

// hasherFs implements ClientDriverExtensionHasher, answering digest (or err) to every call.
type hasherFs struct {
	afero.Fs

	calls recorder[hashCall]

	mu     sync.Mutex
	digest string
	err    error
}

func (h *hasherFs) ComputeHash(name string, algo HASHAlgo, start, end int64) (string, error) {
	h.calls.add(hashCall{name, algo, start, end})

	h.mu.Lock()
	defer h.mu.Unlock()

	return h.digest, h.err
}

// answer sets what ComputeHash returns from now on.
func (h *hasherFs) answer(digest string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()

	h.digest, h.err = digest, err
}

func TestHASHThroughHasherExtension(t *testing.T) {
	fs := &hasherFs{Fs: afero.NewMemMapFs(), digest: "ABCDEF0123"}
	s := newTestServer(t, withSettings(enableHASH), withFs(fs))
	require.NoError(t, writeFile(fs.Fs, "/dir/a.bin", testContent(100)))

	rc := s.rawLoggedIn(t)
	rc.expect("CWD /dir", StatusFileOK)

	// The driver's digest is sent in lower case (draft 3: lowercase hexadecimal).
	assert.Equal(t, "SHA-256 0-99 abcdef0123 a.bin", rc.expect("HASH a.bin", StatusFileStatus))
	rc.expect("OPTS HASH MD5", StatusOK)
	rc.expect("RANG 10 19", StatusFileActionPending)
	assert.Equal(t, "MD5 10-19 abcdef0123 a.bin", rc.expect("HASH a.bin", StatusFileStatus))
	rc.expect("RANG 90 1000", StatusFileActionPending)
	rc.expect("HASH a.bin", StatusFileStatus)
	assert.Equal(t, "abcdef0123", rc.expect("XCRC a.bin 5 50", StatusFileOK))
	rc.expect("XSHA512 /dir/a.bin 7", StatusFileOK)
	rc.expect("XSHA1 a.bin", StatusFileOK)

	// Missing files and directories are answered before the driver is asked.
	rc.expect("HASH nothing", StatusActionNotTaken)
	rc.expect("XMD5 /dir", StatusActionNotTakenNoFile)

	// Offsets: start included, end excluded, the file's size for the whole file.
	assert.Equal(t, []hashCall{
		{"/dir/a.bin", HASHAlgoSHA256, 0, 100},
		{"/dir/a.bin", HASHAlgoMD5, 10, 20},
		{"/dir/a.bin", HASHAlgoMD5, 90, 100},
		{"/dir/a.bin", HASHAlgoCRC32, 5, 50},
		{"/dir/a.bin", HASHAlgoSHA512, 7, 100},
		{"/dir/a.bin", HASHAlgoSHA1, 0, 100},
	}, fs.calls.all())

	// A driver error is mapped like any other; a digest that is not hex is refused.
	fs.answer("", os.ErrPermission)
	assert.Contains(t, rc.expect("HASH a.bin", StatusActionNotTaken), "permission denied")
	fs.answer("not hex", nil)
	rc.expect("XCRC a.bin", StatusActionNotTaken)
	fs.answer("", nil)
	rc.expect("XCRC a.bin", StatusActionNotTaken)
}

func TestHASHOpensThroughGetHandle(t *testing.T) {
	fs := &handleFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withSettings(enableHASH), withFs(fs))
	content := testContent(300)
	require.NoError(t, writeFile(fs.Fs, "/f", content))

	rc := s.rawLoggedIn(t)
	rc.expect("RANG 100 199", StatusFileActionPending)
	assert.Equal(t, "SHA-256 100-199 "+goDigest(HASHAlgoSHA256, content[100:200])+" f",
		rc.expect("HASH f", StatusFileStatus))
	assert.Equal(t, goDigest(HASHAlgoMD5, content), rc.expect("XMD5 f", StatusFileOK))

	assert.Equal(t, []handleCall{{"/f", os.O_RDONLY, 100}, {"/f", os.O_RDONLY, 0}}, fs.calls.all())
}

// shrunkFs claims every file is larger than it is, as a file that shrank after Stat would be.
type shrunkFs struct{ afero.Fs }

func (s shrunkFs) Stat(name string) (os.FileInfo, error) {
	info, err := s.Fs.Stat(name)
	if err != nil {
		return nil, err
	}

	return fakeInfo{name: info.Name(), size: info.Size() + 1}, nil
}

func TestHASHFileShrank(t *testing.T) {
	fs := shrunkFs{afero.NewMemMapFs()}
	s := newTestServer(t, withSettings(enableHASH), withFs(fs))
	require.NoError(t, writeFile(fs.Fs, "/f", []byte("abc")))

	// The digest would not be of the range the reply names: refuse it.
	rc := s.rawLoggedIn(t)
	rc.expect("HASH f", StatusActionNotTaken)
	rc.expect("XSHA1 f", StatusActionNotTaken)
}

func TestParseRANGArgs(t *testing.T) {
	for _, tt := range []struct {
		param string
		want  *byteRange
		bad   bool
	}{
		{param: "0 49", want: &byteRange{0, 49}},
		{param: "802816 1000000", want: &byteRange{802816, 1000000}},
		{param: "  7   7 ", want: &byteRange{7, 7}},
		{param: "1 0"},
		{param: "01 00"},
		{param: "2 1", bad: true},
		{param: "1", bad: true},
		{param: "", bad: true},
		{param: "a b", bad: true},
		{param: "1 2 3", bad: true},
		{param: "-1 2", bad: true},
		{param: "0x1 2", bad: true},
		{param: "0 9223372036854775808", bad: true},
	} {
		got, err := parseRANGArgs(tt.param)
		if tt.bad {
			require.ErrorIs(t, err, errBadRange, "%q", tt.param)
		} else {
			require.NoError(t, err, "%q", tt.param)
		}

		assert.Equal(t, tt.want, got, "%q", tt.param)
	}
}

func TestParseChecksumArgs(t *testing.T) {
	for _, tt := range []struct {
		param      string
		name       string
		start, end int64
		bad        bool
	}{
		{param: "f", name: "f", end: -1},
		{param: "f 5", name: "f", start: 5, end: -1},
		{param: "f 5 9", name: "f", start: 5, end: 9},
		{param: "my file 2024", name: "my file", start: 2024, end: -1},
		{param: "a 1 2 3", name: "a 1", start: 2, end: 3},
		{param: "2024 10", name: "2024", start: 10, end: -1},
		{param: "f -1", name: "f -1", end: -1},
		{param: "f ", name: "f ", end: -1},
		{param: " 5", name: " 5", end: -1},
		{param: `"my file 2024"`, name: "my file 2024", end: -1},
		{param: `"a ""b""" 0 0`, name: `a "b"`, start: 0, end: 0},
		{param: "f 9 5", bad: true},
		{param: `"f" 9 5`, bad: true},
		{param: `"f" x`, bad: true},
		{param: `"f`, bad: true},
		{param: `""`, bad: true},
		{param: `"f" 1 2 3`, bad: true},
	} {
		name, start, end, err := parseChecksumArgs(tt.param)
		if tt.bad {
			require.Error(t, err, "%q", tt.param)

			continue
		}

		require.NoError(t, err, "%q", tt.param)
		assert.Equal(t, tt.name, name, "%q", tt.param)
		assert.Equal(t, tt.start, start, "%q", tt.param)
		assert.Equal(t, tt.end, end, "%q", tt.param)
	}
}

func FuzzParseRANGArgs(f *testing.F) {
	for _, seed := range []string{"0 49", "1 0", "5 2", " 3  4 ", "-1 2", "1", "99999999999999999999 1"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, param string) {
		rng, err := parseRANGArgs(param)
		if err != nil {
			require.ErrorIs(t, err, errBadRange)
			require.Nil(t, rng)

			return
		}

		if rng == nil { // the reset, "1 0" however spelled
			fields := strings.Fields(param)
			require.Len(t, fields, 2)
			require.Equal(t, "1", strings.TrimLeft(fields[0], "0"))
			require.Empty(t, strings.TrimLeft(fields[1], "0"))

			return
		}

		require.GreaterOrEqual(t, rng.start, int64(0))
		require.LessOrEqual(t, rng.start, rng.last)

		again, err := parseRANGArgs(strconv.FormatInt(rng.start, 10) + " " + strconv.FormatInt(rng.last, 10))
		require.NoError(t, err)
		require.Equal(t, rng, again)
	})
}

func FuzzParseChecksumArgs(f *testing.F) {
	for _, seed := range []string{"f", "f 1 2", "my file 3", `"q ""x""" 4 5`, `"f`, "a 9 1", " 1", "f  2"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, param string) {
		name, start, end, err := parseChecksumArgs(param)
		if err != nil {
			return
		}

		require.GreaterOrEqual(t, start, int64(0))
		require.True(t, end == -1 || start <= end, "start %d end %d", start, end)
		require.LessOrEqual(t, len(name), len(param))

		if name == "" {
			return
		}

		// The canonical spelling, with the path quoted, reads back the same.
		canonical := quoteArg(name)
		if start > 0 || end >= 0 {
			canonical += " " + strconv.FormatInt(start, 10)
		}

		if end >= 0 {
			canonical += " " + strconv.FormatInt(end, 10)
		}

		againName, againStart, againEnd, err := parseChecksumArgs(canonical)
		require.NoError(t, err, "%q", canonical)
		require.Equal(t, []any{name, start, end}, []any{againName, againStart, againEnd})
	})
}

// BenchmarkComputeHash hashes 8 MiB with each algorithm, from memory and from a file on disk,
// without the FTP session around it.
func BenchmarkComputeHash(b *testing.B) {
	content := testContent(8 << 20)

	for _, fs := range []struct {
		name string
		fs   afero.Fs
	}{
		{"memory", afero.NewMemMapFs()},
		{"os", afero.NewBasePathFs(afero.NewOsFs(), b.TempDir())},
	} {
		require.NoError(b, writeFile(fs.fs, "/big", content))

		for _, a := range testHashAlgos {
			want := goDigest(a.algo, content)

			b.Run(fs.name+"/"+a.name, func(b *testing.B) {
				b.SetBytes(int64(len(content)))

				x := &transferIO{ctx: b.Context(), counter: new(atomic.Int64), buffers: newCopyBuffers()}

				for b.Loop() {
					sum, err := computeHash(x, newClientHooks(nil, fs.fs), "/big", a.algo, 0, int64(len(content)))
					require.NoError(b, err)
					require.Equal(b, want, sum)
				}
			})
		}
	}
}

func TestNewHash(t *testing.T) {
	h, err := NewHash(HASHAlgoSHA256)
	require.NoError(t, err)
	assert.Equal(t, 32, h.Size())

	_, err = NewHash(HASHAlgo(42))
	require.ErrorIs(t, err, errUnknownHashAlgo)
}

func TestHASHQuotedNameAndNoArgument(t *testing.T) {
	s := newTestServer(t, withSettings(enableHASH))
	content := testContent(37)
	require.NoError(t, writeFile(s.driver.fs, "/file with space.txt", content))
	require.NoError(t, writeFile(s.driver.fs, `/say "hi".txt`, content))

	rc := s.rawLoggedIn(t)
	want := goDigest(HASHAlgoSHA256, content)

	// A name between double quotes is unquoted, and named in the reply as it is.
	assert.Equal(t, "SHA-256 0-36 "+want+" file with space.txt",
		rc.expect(`HASH "file with space.txt"`, StatusFileStatus))
	assert.Equal(t, "SHA-256 0-36 "+want+" file with space.txt", rc.expect("HASH file with space.txt", StatusFileStatus))
	assert.Equal(t, `SHA-256 0-36 `+want+` say "hi".txt`, rc.expect(`HASH "say ""hi"".txt"`, StatusFileStatus))

	assert.Equal(t, "invalid HASH parameters: ", rc.expect("HASH", StatusSyntaxErrorParameters))
}
