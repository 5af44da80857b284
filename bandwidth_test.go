package ftpserver

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bandwidthFs is a user's file system with bandwidth limits of its own.
type bandwidthFs struct {
	afero.Fs

	upload, download int64
}

func (b bandwidthFs) Bandwidth() (upload, download int64) {
	return b.upload, b.download
}

// timedRetr downloads name, checks its content, and returns how long the transfer took from
// RETR to the last byte.
func timedRetr(t *testing.T, conn *ftp.ServerConn, name string, want []byte) time.Duration {
	t.Helper()

	start := time.Now()

	r, err := conn.Retr(name)
	require.NoError(t, err)

	got := readAllClose(t, r)
	elapsed := time.Since(start)

	require.Equal(t, sha256Hex(want), sha256Hex(got))

	return elapsed
}

// TestBandwidthDownloadLimit downloads 2 MiB at 1 MiB/s, from a real file (the sendfile path)
// and from memory (the buffered path): each takes 2 s. The lower bound proves the limit; the
// upper one only catches a limit applied twice (4 s), leaving a loaded machine and the race
// detector 1.6 s.
func TestBandwidthDownloadLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []testOption
	}{
		{"file", []testOption{withOsFs(t)}},
		{"memory", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, append(tc.opts, withSettings(func(s *Settings) { s.MaxDownloadRate = mebibyte }))...)
			content := testContent(2 * mebibyte)
			require.NoError(t, writeFile(s.driver.fs, "/two.bin", content))

			elapsed := timedRetr(t, s.dial(t), "two.bin", content)
			t.Logf("2 MiB at 1 MiB/s: %s", elapsed)
			assert.GreaterOrEqual(t, elapsed, 1800*time.Millisecond)
			assert.Less(t, elapsed, 3600*time.Millisecond, "the limit applied twice")
		})
	}
}

// TestBandwidthUploadLimit uploads 2 MiB at 1 MiB/s: 2 s, or 4 s with the limit applied twice.
func TestBandwidthUploadLimit(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.MaxUploadRate = mebibyte }))
	conn := s.dial(t)

	start := time.Now()
	require.NoError(t, conn.Stor("two.bin", bytes.NewReader(testContent(2*mebibyte))))

	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 1800*time.Millisecond)
	assert.Less(t, elapsed, 3600*time.Millisecond, "the limit applied twice")
}

// TestBandwidthPerUser lets a user's ClientDriverExtensionBandwidth lift the download limit of
// the settings (256 KiB/s, 4 s for 1 MiB) and impose an upload limit the settings lack (1 MiB/s,
// 1 s for 1 MiB). The upper bounds leave a loaded machine seconds, and still tell the limits
// apart.
func TestBandwidthPerUser(t *testing.T) {
	fs := bandwidthFs{Fs: afero.NewMemMapFs(), upload: mebibyte, download: -1}
	s := newTestServer(t, withFs(fs), withSettings(func(s *Settings) { s.MaxDownloadRate = 256 << 10 }))
	content := testContent(mebibyte)
	require.NoError(t, writeFile(fs, "/one.bin", content))

	conn := s.dial(t)

	elapsed := timedRetr(t, conn, "one.bin", content)
	assert.Less(t, elapsed, 3*time.Second, "the user's download is not limited")

	start := time.Now()
	require.NoError(t, conn.Stor("up.bin", bytes.NewReader(content)))

	elapsed = time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 850*time.Millisecond, "the user's upload is limited to 1 MiB/s")
	assert.Less(t, elapsed, 3*time.Second, "the upload is limited to 1 MiB/s, not the settings' 256 KiB/s")
}

// TestBandwidthServerWide shares a server-wide 1 MiB/s between two clients downloading 1 MiB
// each at once: together they take 2 s, where either alone would take 1 s; the upper bound only
// catches the limit applied twice (4 s).
func TestBandwidthServerWide(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.MaxServerDownloadRate = mebibyte }))
	content := testContent(mebibyte)
	require.NoError(t, writeFile(s.driver.fs, "/one.bin", content))

	conns := []*ftp.ServerConn{s.dial(t), s.dial(t)}
	readers := make([]*ftp.Response, len(conns))
	start := time.Now()

	for i, conn := range conns {
		r, err := conn.Retr("one.bin")
		require.NoError(t, err)

		readers[i] = r
	}

	var (
		wg      sync.WaitGroup
		results [2][]byte
		errs    [2]error
	)

	for i, r := range readers {
		wg.Go(func() {
			results[i], errs[i] = io.ReadAll(r)
			errs[i] = errors.Join(errs[i], r.Close())
		})
	}

	wg.Wait()

	elapsed := time.Since(start)

	for i := range results {
		require.NoError(t, errs[i])
		require.Equal(t, sha256Hex(content), sha256Hex(results[i]))
	}

	t.Logf("2 x 1 MiB sharing 1 MiB/s: %s", elapsed)
	assert.GreaterOrEqual(t, elapsed, 1800*time.Millisecond)
	assert.Less(t, elapsed, 3600*time.Millisecond, "the limit applied twice")
}

// TestBandwidthAbort aborts a slow, limited download at once: the limiter's wait ends with
// the transfer, long before the minute the download would take.
func TestBandwidthAbort(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) {
		s.MaxDownloadRate = 16 << 10
		s.MaxServerDownloadRate = 16 << 10
	}))
	require.NoError(t, writeFile(s.driver.fs, "/big.bin", testContent(mebibyte)))

	rc := s.rawLoggedIn(t)
	rc.startRETR("/big.bin")

	start := time.Now()

	rc.abort("ABOR")
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestBurstFor(t *testing.T) {
	t.Parallel()

	tests := []struct {
		bps  int64
		want int
	}{
		{1, 1},
		{100, 100},
		{minBurst, minBurst},
		{20 * minBurst, minBurst},
		{mebibyte, mebibyte / 20},
		{100 * mebibyte, transferChunk},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.want, burstFor(tt.bps), "%d B/s", tt.bps)
	}
}

func TestUserRate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		setting, user, want int64
	}{
		{0, 0, 0},
		{1000, 0, 1000},
		{1000, 5000, 5000},
		{1000, 10, 10},
		{1000, -1, 0},
		{0, 7, 7},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.want, userRate(tt.setting, tt.user), "setting %d, user %d", tt.setting, tt.user)
	}
}

// TestNoThrottleWithoutLimits keeps the unlimited path free of limiters.
func TestNoThrottleWithoutLimits(t *testing.T) {
	t.Parallel()

	b := newServerBandwidth(&Settings{})
	assert.Nil(t, b.upload)
	assert.Nil(t, b.download)
	assert.Equal(t, sessionBandwidth{}, b.forSession(newClientHooks(nil, afero.NewMemMapFs()), SessionSettings{}))

	for _, direction := range []TransferDirection{TransferDownload, TransferUpload} {
		assert.Nil(t, newThrottle(t.Context(), b.limitersFor(sessionBandwidth{}, direction)))
	}
}

// BenchmarkBandwidthLimit downloads under a per-connection limit and reports how close the
// achieved rate comes to it (achieved/limit: 1 is exact; a fresh bucket lends the first 50 ms
// of traffic, so slightly above 1 is expected).
func BenchmarkBandwidthLimit(b *testing.B) {
	for _, tc := range []struct {
		name string
		rate int64
	}{
		{"16MiBps", 16 * mebibyte},
		{"256MiBps", 256 * mebibyte},
	} {
		b.Run(tc.name, func(b *testing.B) {
			size := tc.rate / 4 // a quarter of a second per download
			s := benchServer(b, withSettings(func(s *Settings) { s.MaxDownloadRate = tc.rate }))
			require.NoError(b, writeFile(s.driver.fs, "/bench.bin", testContent(int(size))))

			conn := s.dial(b)

			b.SetBytes(size)
			b.ResetTimer()

			var moved int64

			start := time.Now()

			for b.Loop() {
				r, err := conn.Retr("bench.bin")
				require.NoError(b, err)

				n, err := io.Copy(io.Discard, r)
				require.NoError(b, err)
				require.NoError(b, r.Close())

				moved += n
			}

			achieved := float64(moved) / time.Since(start).Seconds()
			b.ReportMetric(achieved/float64(tc.rate), "achieved/limit")
		})
	}
}
