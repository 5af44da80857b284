package ftpserver

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUploadDownloadHash(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		conn := s.dial(t)

		for _, size := range []int{0, 1, 1000, transferChunk - 1, transferChunk, 3*transferChunk + 17} {
			content := testContent(size)
			require.NoError(t, conn.Stor("file.bin", bytes.NewReader(content)))

			stored, err := afero.ReadFile(s.driver.fs, "/file.bin")
			require.NoError(t, err)
			require.Equal(t, sha256Hex(content), sha256Hex(stored), "bytes on disk, size %d", size)

			r, err := conn.Retr("file.bin")
			require.NoError(t, err)
			require.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)), "bytes downloaded, size %d", size)
		}
	})
}

func TestActiveMode(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK)
		content := testContent(1 << 20)

		accept := rc.port("PORT")
		rc.expect("STOR /active.bin", StatusFileStatusOK)
		data := accept()
		_, err := data.Write(content)
		require.NoError(t, err)
		require.NoError(t, data.Close())

		code, _ := rc.read()
		require.Equal(t, StatusClosingDataConn, code)

		accept = rc.port("EPRT")
		rc.expect("RETR /active.bin", StatusFileStatusOK)
		assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, accept())))

		code, _ = rc.read()
		require.Equal(t, StatusClosingDataConn, code)

		accept = rc.port("PORT")
		rc.expect("NLST", StatusFileStatusOK)
		assert.Equal(t, "active.bin\r\n", string(readAllClose(t, accept())))
	})
}

func TestActiveModeDisabled(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableActiveMode = true }))
	rc := s.rawLoggedIn(t)
	assert.Equal(t, "PORT command is disabled", rc.expect("PORT 127,0,0,1,200,10", StatusServiceNotAvailable))
	assert.Equal(t, "EPRT command is disabled", rc.expect("EPRT |1|127.0.0.1|51210|", StatusServiceNotAvailable))
	rc.expect("NOOP", StatusOK) // the session goes on
}

func TestAppend(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		conn := s.dial(t)
		require.NoError(t, conn.Stor("log.txt", strings.NewReader("one\n")))
		require.NoError(t, conn.Append("log.txt", strings.NewReader("two\n")))
		require.NoError(t, conn.Append("new.txt", strings.NewReader("fresh\n")))

		data, err := afero.ReadFile(s.driver.fs, "/log.txt")
		require.NoError(t, err)
		assert.Equal(t, "one\ntwo\n", string(data))

		data, err = afero.ReadFile(s.driver.fs, "/new.txt")
		require.NoError(t, err)
		assert.Equal(t, "fresh\n", string(data))
	})
}

func TestRestResume(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		conn := s.dial(t)
		content := testContent(700_000)
		require.NoError(t, writeFile(s.driver.fs, "/src.bin", content))

		r, err := conn.RetrFrom("src.bin", 500_000)
		require.NoError(t, err)
		assert.Equal(t, sha256Hex(content[500_000:]), sha256Hex(readAllClose(t, r)))

		// An upload broken at 300,000 bytes, with garbage after, is resumed from there: the
		// tail must be replaced, not kept.
		partial := append(append([]byte{}, content[:300_000]...), bytes.Repeat([]byte{'!'}, 600_000)...)
		require.NoError(t, writeFile(s.driver.fs, "/dst.bin", partial))
		require.NoError(t, conn.StorFrom("dst.bin", bytes.NewReader(content[300_000:]), 300_000))

		stored, err := afero.ReadFile(s.driver.fs, "/dst.bin")
		require.NoError(t, err)
		assert.Equal(t, sha256Hex(content), sha256Hex(stored))
	})
}

func TestRestBadArguments(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	assert.Equal(t, "Couldn't parse size: negative offset", rc.expect("REST -1", StatusActionNotTaken))
	assert.Equal(t, `Couldn't parse size: strconv.ParseInt: parsing "abc": invalid syntax`,
		rc.expect("REST abc", StatusActionNotTaken))
	assert.Equal(t, "Restarting at 10, send STOR or RETR", rc.expect("REST 10", StatusFileActionPending))

	// RFC 3659 5.5: a REST marker in ASCII counts the converted stream, so it is refused there.
	rc.expect("TYPE A", StatusOK)
	assert.Equal(t, "Resuming transfers not allowed in ASCII mode", rc.expect("REST 10", StatusSyntaxErrorParameters))
	assert.Equal(t, "SIZE not allowed in ASCII mode", rc.expect("SIZE /missing", StatusActionNotTaken))
}

func TestRESTAndSIZEWithoutASCIIConversion(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableASCIIConversion = true }))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("a\nb\n")))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE A", StatusOK)
	assert.Equal(t, "4", rc.expect("SIZE /f.txt", StatusFileStatus), "TYPE A moves the bytes as they are")
	rc.expect("REST 2", StatusFileActionPending)
}

func TestASCIIConversion(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE A", StatusOK)

	data := rc.pasv()
	rc.expect("STOR /text.txt", StatusFileStatusOK)
	_, err := data.Write([]byte("line one\r\nline two\r\nbare\rcr\r\n"))
	require.NoError(t, err)
	require.NoError(t, data.Close())

	code, _ := rc.read()
	require.Equal(t, StatusClosingDataConn, code)

	stored, err := afero.ReadFile(s.driver.fs, "/text.txt")
	require.NoError(t, err)
	assert.Equal(t, "line one\nline two\nbare\rcr\n", string(stored))

	data = rc.pasv()
	rc.expect("RETR /text.txt", StatusFileStatusOK)
	assert.Equal(t, "line one\r\nline two\r\nbare\rcr\r\n", string(readAllClose(t, data)))

	code, _ = rc.read()
	require.Equal(t, StatusClosingDataConn, code)

	// TYPE I leaves bytes alone.
	rc.expect("TYPE I", StatusOK)
	data = rc.pasv()
	rc.expect("RETR /text.txt", StatusFileStatusOK)
	assert.Equal(t, "line one\nline two\nbare\rcr\n", string(readAllClose(t, data)))
}

// TestTextDownloadUnconverted downloads a text file whose LF line ends arrive as they are: with
// the ASCII conversion disabled, though the client asks for TYPE A, and with binary as the
// default type, where TYPE A would have sent CRLF.
func TestTextDownloadUnconverted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(*Settings)
		commands []string
	}{
		{"DisableASCIIConversion", func(s *Settings) { s.DisableASCIIConversion = true }, []string{"TYPE A"}},
		{"DefaultTransferType", func(s *Settings) { s.DefaultTransferType = TransferTypeBinary }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, withSettings(tc.change))
			require.NoError(t, writeFile(s.driver.fs, "/text.txt", []byte("a\nb\n")))

			rc := s.rawLoggedIn(t)
			for _, command := range tc.commands {
				rc.expect(command, StatusOK)
			}

			data := rc.pasv()
			rc.expect("RETR /text.txt", StatusFileStatusOK)
			assert.Equal(t, "a\nb\n", string(readAllClose(t, data)), "TYPE A would have sent CRLF")
		})
	}
}

// TestRETRErrors refuses what cannot be downloaded with the same replies whether the driver
// opens files with OpenFile (in memory or on disk) or GetHandle.
func TestRETRErrors(t *testing.T) {
	for name, option := range map[string]func(t *testing.T) testOption{
		"memory": func(*testing.T) testOption { return withFs(afero.NewMemMapFs()) },
		"disk": func(t *testing.T) testOption {
			t.Helper()

			return withOsFs(t)
		},
		"GetHandle": func(*testing.T) testOption { return withFs(&handleFs{Fs: afero.NewMemMapFs()}) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t, option(t))
			require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))

			rc := s.rawLoggedIn(t)
			assert.Equal(t, "Could not access file: no such file or directory",
				rc.expect("RETR /missing", StatusActionNotTaken))
			assert.Equal(t, "Could not access file: is a directory", rc.expect("RETR /dir", StatusActionNotTaken))

			rc.expect("TYPE I", StatusOK)
			rc.expect("REST 1", StatusFileActionPending)
			assert.Equal(t, "Could not access file: is a directory", rc.expect("RETR /dir", StatusActionNotTaken))
			rc.expect("RETR bad\x00name", StatusSyntaxErrorParameters)

			require.NoError(t, writeFile(s.driver.fs, "/f", []byte("x")))
			assert.Equal(t, "Use PASV, EPSV, PORT or EPRT first", rc.expect("RETR /f", StatusCannotOpenDataConnection))
		})
	}
}

// statRefusingFs refuses to stat or open /secret, each with its own error.
type statRefusingFs struct {
	afero.Fs
}

var (
	errTestStatRefused = errors.New("stat refused")
	errTestOpenRefused = errors.New("open refused")
)

func (f statRefusingFs) Stat(name string) (os.FileInfo, error) {
	if name == "/secret" {
		return nil, errTestStatRefused
	}

	return f.Fs.Stat(name)
}

func (f statRefusingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if name == "/secret" {
		return nil, errTestOpenRefused
	}

	return f.Fs.OpenFile(name, flag, perm)
}

// TestRETRRefusedByStat answers a download that both the driver's Stat and its OpenFile refuse
// with Stat's reason.
func TestRETRRefusedByStat(t *testing.T) {
	s := newTestServer(t, withFs(statRefusingFs{afero.NewMemMapFs()}))
	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Could not access file: stat refused", rc.expect("RETR /secret", StatusActionNotTaken))
}

func TestSTOU(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	rc.expect("MKD /up", StatusPathCreated)
	rc.expect("CWD /up", StatusFileOK)

	names := map[string]bool{}

	for range 2 {
		data := rc.pasv()
		msg := rc.expect("STOU", StatusFileStatusOK)
		require.True(t, strings.HasPrefix(msg, "FILE: "), msg)

		_, err := data.Write([]byte("unique"))
		require.NoError(t, err)
		require.NoError(t, data.Close())

		code, _ := rc.read()
		require.Equal(t, StatusClosingDataConn, code)

		name := strings.TrimPrefix(msg, "FILE: ")
		names[name] = true

		stored, err := afero.ReadFile(s.driver.fs, "/up/"+name)
		require.NoError(t, err)
		assert.Equal(t, "unique", string(stored))
	}

	assert.Len(t, names, 2)
}

func TestDeleteRenameSizeMDTM(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		conn := s.dial(t)
		require.NoError(t, conn.Stor("a.txt", strings.NewReader("12345")))

		size, err := conn.FileSize("a.txt")
		require.NoError(t, err)
		assert.EqualValues(t, 5, size)

		require.NoError(t, conn.Rename("a.txt", "b.txt"))
		_, err = s.driver.fs.Stat("/a.txt")
		require.Error(t, err)

		mtime := time.Date(2020, 2, 29, 13, 14, 15, 0, time.UTC)
		require.NoError(t, conn.SetTime("b.txt", mtime))

		got, err := conn.GetTime("b.txt")
		require.NoError(t, err)
		assert.Equal(t, mtime, got.UTC())

		require.NoError(t, conn.Delete("b.txt"))
		_, err = conn.FileSize("b.txt")
		require.Error(t, err)
	})
}

func TestFileCommandErrors(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("x")))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	assert.Equal(t, "Couldn't delete /missing: no such file or directory", rc.expect("DELE /missing", StatusActionNotTaken))
	rc.expect("DELE /dir", StatusActionNotTaken)
	assert.Equal(t, "/dir is a directory", rc.expect("SIZE /dir", StatusActionNotTaken))
	assert.Equal(t, "Couldn't access /missing: no such file or directory", rc.expect("SIZE /missing", StatusActionNotTaken))
	rc.expect("MDTM /missing", StatusActionNotTaken)
	assert.Equal(t, "Couldn't access /missing: no such file or directory", rc.expect("RNFR /missing", StatusActionNotTaken))
	assert.Equal(t, "Sure, give me a target", rc.expect("RNFR /f.txt", StatusFileActionPending))
	assert.Equal(t, "Done !", rc.expect("RNTO /dir/g.txt", StatusFileOK))
	rc.expect("RNTO /again.txt", StatusBadCommandSequence)
	rc.expect("MFMT 2020 /dir/g.txt", StatusSyntaxErrorParameters)
	assert.Equal(t, "Couldn't set mtime, not enough params, given: 20200101000000",
		rc.expect("MFMT 20200101000000", StatusSyntaxErrorNotRecognised))
	assert.Equal(t, "Couldn't set mtime, not enough params, given: ", rc.expect("MFMT", StatusSyntaxErrorNotRecognised))
	rc.expect("MFMT 20200101000000 /missing", StatusActionNotTaken)
	assert.Equal(t, "Modify=20200101000000; /dir/g.txt", rc.expect("MFMT 20200101000000 /dir/g.txt", StatusFileStatus))
	assert.Equal(t, "20200101000000", rc.expect("MDTM /dir/g.txt", StatusFileStatus))
	assert.Equal(t, "1", rc.expect("SIZE /dir/g.txt", StatusFileStatus))
}

func TestMFMTDisabled(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableMFMT = true }))
	rc := s.rawLoggedIn(t)
	rc.expect("MFMT 20200101000000 /x", StatusCommandNotImplemented)

	feat := strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n")
	assert.NotContains(t, feat, " MFMT", "FEAT hides what DisableMFMT turns off")
	assert.Contains(t, feat, " MDTM", "MDTM stays")
	assert.Contains(t, strings.Split(newTestServer(t).raw(t).expect("FEAT", StatusSystemStatus), "\n"), " MFMT")
}

func TestMDTMTruncatesToTheSecond(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		// The last nanosecond of a year, in UTC+2: MDTM gives the second it is in, in UTC, and
		// does not round it up into the next second (or year).
		mtime := time.Date(2024, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("UTC+2", 2*3600))
		require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("x")))
		require.NoError(t, s.driver.fs.Chtimes("/f.txt", mtime, mtime))

		rc := s.rawLoggedIn(t)
		assert.Equal(t, "20241231215959", rc.expect("MDTM f.txt", StatusFileStatus))

		lines := strings.Split(rc.expect("MLST f.txt", StatusFileOK), "\n")
		require.Len(t, lines, 3)
		facts, _ := mlsxFacts(t, strings.TrimPrefix(lines[1], " "))
		assert.Equal(t, "20241231215959", facts["modify"], "MLST's modify fact agrees")

		got, err := s.dial(t).GetTime("f.txt")
		require.NoError(t, err)
		assert.Equal(t, time.Date(2024, 12, 31, 21, 59, 59, 0, time.UTC), got.UTC())
	})
}

func TestALLO(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	rc.expect("ALLO 1000", StatusNotImplemented)
	rc.expect("ALLO 1000 R 10", StatusNotImplemented)
	rc.expect("ALLO lots", StatusSyntaxErrorParameters)
}

func TestABORWhileClientDoesNotRead(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/big.bin", testContent(64<<20)))

	rc := s.rawLoggedIn(t)
	// The test stops reading after the first bytes: the server blocks writing, and must still
	// see ABOR on the control connection.
	rc.startRETR("/big.bin")
	rc.abort("\xff\xf4\xff\xf2ABOR")

	rc.expect("NOOP", StatusOK)
	assert.Equal(t, "ABOR successful; closing transfer connection", rc.expect("ABOR", StatusClosingDataConn))

	// Telnet IP and DM written through a UTF-8 encoder still make an ABOR.
	rc.startRETR("/big.bin")
	rc.abort("\xc3\xb2\xc3\xbfABOR")
	rc.expect("NOOP", StatusOK)
}

func TestSTATAndNOOPDuringTransfer(t *testing.T) {
	s := newTestServer(t)
	content := testContent(16 << 20)
	require.NoError(t, writeFile(s.driver.fs, "/big.bin", content))

	rc := s.rawLoggedIn(t)
	data := rc.startRETR("/big.bin")

	rc.expect("NOOP", StatusOK)
	assert.Contains(t, rc.expect("STAT", StatusSystemStatus), "RETR /big.bin:")

	// A command that is not for the middle of a transfer waits for its end.
	rc.send("PWD")

	rest, err := io.ReadAll(data)
	require.NoError(t, err)
	assert.Len(t, rest, len(content)-1000)
	require.NoError(t, data.Close())

	code, _ := rc.read()
	assert.Equal(t, StatusClosingDataConn, code)
	code, _ = rc.read()
	assert.Equal(t, StatusPathCreated, code)
}

func TestUploadInterrupted(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	data := rc.pasv()
	rc.expect("STOR /cut.bin", StatusFileStatusOK)

	_, err := data.Write(testContent(10000))
	require.NoError(t, err)

	// A reset, not a clean close: the server must report the upload as broken.
	tcp, ok := data.(*net.TCPConn)
	require.True(t, ok)
	require.NoError(t, tcp.SetLinger(0))
	require.NoError(t, tcp.Close())

	code, _ := rc.read()
	assert.Equal(t, StatusTransferAborted, code)
}

// spaceFs reports a fixed free space for AVBL.
type spaceFs struct{ afero.Fs }

func (spaceFs) GetAvailableSpace(dirName string) (int64, error) {
	if dirName == "/full" {
		return 0, ErrStorageExceeded
	}

	return 123456789, nil
}

func TestAVBL(t *testing.T) {
	s := newTestServer(t, func(d *testDriver) { d.fs = spaceFs{afero.NewMemMapFs()} })
	require.NoError(t, s.driver.fs.Mkdir("/full", 0o755))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("x")))

	rc := s.rawLoggedIn(t)
	assert.Contains(t, rc.expect("FEAT", StatusSystemStatus), " AVBL")
	assert.Equal(t, "123456789", rc.expect("AVBL", StatusFileStatus))
	assert.Equal(t, "123456789", rc.expect("AVBL /", StatusFileStatus))
	rc.expect("AVBL /full", StatusActionNotTakenStorageExceeded)
	assert.Equal(t, "/f.txt: is not a directory", rc.expect("AVBL /f.txt", StatusActionNotTaken))
	assert.Equal(t, "Couldn't access /missing: no such file or directory", rc.expect("AVBL /missing", StatusActionNotTaken))
}

func TestAVBLWithoutExtension(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	assert.NotContains(t, rc.expect("FEAT", StatusSystemStatus), "AVBL")
	rc.expect("AVBL", StatusCommandNotImplemented)
}

// TestStalledDownloadAborted runs a download the client never reads, from memory and from a
// file on disk, the path where the kernel sends the file.
func TestStalledDownloadAborted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		onDisk bool
	}{
		{"memory", false},
		{"sendfile", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []testOption{withSettings(func(s *Settings) { s.TransferStallTimeout = 1 })}
			if tc.onDisk {
				opts = append(opts, withOsFs(t))
			}

			s := newTestServer(t, opts...)
			require.NoError(t, writeFile(s.driver.fs, "/big.bin", testContent(64<<20)))

			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)
			data := rc.pasv()
			rc.expect("RETR /big.bin", StatusFileStatusOK)

			// The client never reads: once the socket buffers are full nothing moves, and the
			// server gives up after the stall timeout instead of holding the transfer forever.
			code, msg := rc.read()
			assert.Equal(t, StatusTransferAborted, code, msg)
			require.NoError(t, data.Close())
			rc.expect("NOOP", StatusOK)
		})
	}
}

func TestStalledUploadAborted(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.TransferStallTimeout = 1 }))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	data := rc.pasv()
	rc.expect("STOR /slow.bin", StatusFileStatusOK)

	_, err := data.Write([]byte("a few bytes, then silence"))
	require.NoError(t, err)

	code, msg := rc.read()
	assert.Equal(t, StatusTransferAborted, code, msg)
	require.NoError(t, data.Close())
}

// TestSlowSendfileDownloadNotStalled reads the first megabytes of a download at once, which
// the socket buffers take as fast as the server sends them, and the rest steadily at about
// 6 MB/s: the kernel lets the server send more every fraction of a second, well within the
// stall timeout, so the transfer must complete however large the pieces the server hands the
// kernel (16 MiB would take 2.5 s at that rate).
func TestSlowSendfileDownloadNotStalled(t *testing.T) {
	s := newTestServer(t, withOsFs(t), withSettings(func(s *Settings) { s.TransferStallTimeout = 1 }))
	content := testContent(40 << 20)
	require.NoError(t, writeFile(s.driver.fs, "/big.bin", content))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	data := rc.pasv()
	rc.expect("RETR /big.bin", StatusFileStatusOK)

	received := make([]byte, 0, len(content))
	buf := make([]byte, 64<<10)

	for {
		if len(received) >= 8<<20 {
			time.Sleep(10 * time.Millisecond) // 64 KiB at a time: about 6 MB/s
		}

		n, err := data.Read(buf)
		received = append(received, buf[:n]...)

		if errors.Is(err, io.EOF) {
			break
		}

		require.NoError(t, err)
	}

	code, msg := rc.read()
	assert.Equal(t, StatusClosingDataConn, code, msg)
	assert.Equal(t, sha256Hex(content), sha256Hex(received))
}
