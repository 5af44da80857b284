//go:build linux

package ftpserver

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"
)

func TestSendMapped(t *testing.T) {
	t.Parallel()

	// Two windows and a bit, from an offset that is not a page boundary.
	content := testContent(2*mapWindow + 12345)
	offset := int64(4097)
	file := mappedFile(t, content, offset)

	var got bytes.Buffer

	sent, err := sendMapped(file, 100_000, func(data []byte) error {
		require.LessOrEqual(t, len(data), 100_000)
		got.Write(data)

		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(len(content))-offset, sent)
	require.Equal(t, content[offset:], got.Bytes())

	position, err := file.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), position, "the file's offset is after what was sent")
}

func TestSendMappedSmallRest(t *testing.T) {
	t.Parallel()

	content := testContent(3 * mapMinimum)
	file := mappedFile(t, content, int64(len(content)-mapMinimum+1))

	sent, err := sendMapped(file, transferChunk, func([]byte) error {
		t.Error("a rest under mapMinimum is left to the buffered copy")

		return nil
	})
	require.NoError(t, err)
	require.Zero(t, sent)
}

func TestSendMappedFileShrinks(t *testing.T) {
	t.Parallel()

	content := testContent(mapWindow)
	file := mappedFile(t, content, 0)

	calls := 0
	fault := func() (r any) {
		defer func() { r = recover() }()

		_, _ = sendMapped(file, transferChunk, func(data []byte) error {
			calls++
			if calls == 1 {
				// Another client cuts the file while it is being sent.
				require.NoError(t, os.Truncate(file.Name(), transferChunk))
			}

			_ = bytes.Count(data, []byte{0}) // reads every byte, as a connection would

			return nil
		})

		return nil
	}()

	require.Implements(t, (*interface{ Addr() uintptr })(nil), fault,
		"reading past the new end is a memory fault, which runTransfer answers")
	require.Greater(t, calls, 1)
}

func TestRETRMappedFileShrinks(t *testing.T) {
	s := newTestServer(t, withTLS(t), withOsFs(t))
	content := testContent(4 * mapWindow)
	require.NoError(t, afero.WriteFile(s.driver.fs, "/big.bin", content, 0o600))

	conn := s.dial(t, ftp.DialWithExplicitTLS(clientTLSConfig()))

	r, err := conn.Retr("big.bin")
	require.NoError(t, err)

	_, err = io.ReadFull(r, make([]byte, mapMinimum))
	require.NoError(t, err)

	file, err := s.driver.fs.OpenFile("/big.bin", os.O_WRONLY, 0)
	require.NoError(t, err)
	require.NoError(t, file.Truncate(mapMinimum))
	require.NoError(t, file.Close())

	_, _ = io.Copy(io.Discard, r)
	err = r.Close()
	require.ErrorContains(t, err, "451", "the transfer fails")

	// The session goes on.
	require.NoError(t, conn.NoOp())
}

func TestSendMappedFileGrows(t *testing.T) {
	t.Parallel()

	content := testContent(2 * mapMinimum)
	file := mappedFile(t, content, 0)
	appended := []byte("written while the file was sent")

	calls := 0
	sent, err := sendMapped(file, transferChunk, func([]byte) error {
		calls++
		if calls == 1 {
			writer, err := os.OpenFile(file.Name(), os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = writer.Write(appended)
			require.NoError(t, err)
			require.NoError(t, writer.Close())
		}

		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), sent, "the size at the start is sent from mappings")

	rest, err := io.ReadAll(file)
	require.NoError(t, err)
	require.Equal(t, appended, rest, "the rest is left at the file's offset for the buffered copy")
}

func TestRETRMappedUnderTLS(t *testing.T) {
	s := newTestServer(t, withTLS(t), withOsFs(t))
	content := testContent(mapWindow + 3*mapMinimum + 77)
	require.NoError(t, afero.WriteFile(s.driver.fs, "/big.bin", content, 0o600))

	conn := s.dial(t, ftp.DialWithExplicitTLS(clientTLSConfig()))

	for _, offset := range []uint64{0, 5, mapWindow + 1} {
		r, err := conn.RetrFrom("big.bin", offset)
		require.NoError(t, err)
		require.Equal(t, sha256Hex(content[offset:]), sha256Hex(readAllClose(t, r)), "REST %d", offset)
	}
}
