package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// TestRunMetrics scrapes -metrics after a failed and a good login, an upload and a download.
func TestRunMetrics(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-metrics", "127.0.0.1:0", "-login-failure-delay", "1ms")

	url, found := strings.CutPrefix(nextLine(t, srv.stdout), "metrics on ")
	require.True(t, found, "no metrics line")
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)

	conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	require.Error(t, conn.Login("test", "wrong"))
	require.NoError(t, conn.Login("test", "test"))

	data := randomBytes(t, 1000)
	require.NoError(t, conn.Stor("/m.bin", bytes.NewReader(data)))
	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/m.bin"))

	body := scrape(t, url)

	for _, want := range []string{
		`ftpserver_connections 1`,
		`ftpserver_logins_total{result="failure"} 1`,
		`ftpserver_logins_total{result="success"} 1`,
		`ftpserver_transfers_total{command="STOR",result="ok"} 1`,
		`ftpserver_transfers_total{command="RETR",result="ok"} 1`,
		`ftpserver_transfer_bytes_total{direction="upload"} 1000`,
		`ftpserver_transfer_bytes_total{direction="download"} 1000`,
		`ftpserver_transfer_duration_seconds_count{command="STOR"} 1`,
		`ftpserver_transfer_duration_seconds_count{command="RETR"} 1`,
		`go_goroutines `,
	} {
		assert.Contains(t, body, "\n"+want, "metrics:\n%s", body)
	}

	assert.NotContains(t, body, "ftpserver_ban_store_up", "no store metrics without -ban-store")

	require.NoError(t, conn.Quit())

	// The session ends after QUIT's reply: the gauge follows shortly.
	assert.Eventually(t, func() bool {
		return strings.Contains(scrape(t, url), "\nftpserver_connections 0\n")
	}, startTimeout, 10*time.Millisecond)

	require.NoError(t, srv.stop(t))
}

// TestMetricsCountsErrors counts a failed transfer as an error, with the bytes it moved.
func TestMetricsCountsErrors(t *testing.T) {
	t.Parallel()

	m := newMetrics()
	m.count(ftpserver.Event{
		Kind: ftpserver.EventTransferEnded, Command: "STOR", Direction: ftpserver.TransferUpload,
		Bytes: 10, Duration: time.Second, Err: errors.New("broken"),
	})

	families, err := m.registry.Gather()
	require.NoError(t, err)

	values := map[string]float64{}

	for _, family := range families {
		for _, metric := range family.GetMetric() {
			labels := ""
			for _, label := range metric.GetLabel() {
				labels += label.GetName() + "=" + label.GetValue() + ","
			}

			switch {
			case metric.GetCounter() != nil:
				values[family.GetName()+"{"+labels+"}"] = metric.GetCounter().GetValue()
			case metric.GetHistogram() != nil:
				values[family.GetName()+"{"+labels+"}"] = float64(metric.GetHistogram().GetSampleCount())
			}
		}
	}

	assert.InDelta(t, 1, values["ftpserver_transfers_total{command=STOR,result=error,}"], 0)
	assert.InDelta(t, 10, values["ftpserver_transfer_bytes_total{direction=upload,}"], 0)
	assert.InDelta(t, 0, values["ftpserver_transfer_bytes_total{direction=download,}"], 0)
	assert.InDelta(t, 1, values["ftpserver_transfer_duration_seconds{command=STOR,}"], 0)
	assert.InDelta(t, 0, values["ftpserver_logins_total{result=success,}"], 0)
}

// TestRunDownloadRate limits each connection's downloads with -max-download-rate: 2 s for
// 1 MiB. The lower bound proves the limit; the upper one, far above, only catches a transfer
// that never ends, so that a loaded machine cannot fail the test.
func TestRunDownloadRate(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-max-download-rate", "524288") // 512 KiB/s
	conn := login(t, srv.addr)

	data := randomBytes(t, 1<<20)
	require.NoError(t, conn.Stor("/r.bin", bytes.NewReader(data)))

	start := time.Now()
	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/r.bin"))

	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 1800*time.Millisecond, "1 MiB at 512 KiB/s")
	assert.Less(t, elapsed, time.Minute, "the download hangs")
}
