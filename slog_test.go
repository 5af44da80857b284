package ftpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonRecords decodes the JSON lines a slog.JSONHandler wrote.
func jsonRecords(t *testing.T, out *bytes.Buffer) []map[string]any {
	t.Helper()

	var records []map[string]any

	for line := range strings.Lines(out.String()) {
		var record map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &record), line)

		records = append(records, record)
	}

	return records
}

func TestSlogLogger(t *testing.T) {
	t.Parallel()

	var out bytes.Buffer

	logger := NewSlogLogger(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	logger = log.With(logger, "client", uint32(7))

	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2121}

	require.NoError(t, level.Debug(logger).Log("event", "command", "line", "NOOP"))
	require.NoError(t, level.Info(logger).Log("event", "transfer", "bytes", int64(42), "duration",
		1500*time.Millisecond, "err", nil))
	require.NoError(t, level.Warn(logger).Log("msg", "refused", "remote", addr, "err", errors.New("banned")))
	require.NoError(t, level.Error(logger).Log("event", "panic"))
	require.NoError(t, logger.Log("msg", "no level", "odd"))
	require.NoError(t, logger.Log("level", "warn", "msg", "string level"))

	records := jsonRecords(t, &out)
	require.Len(t, records, 6)

	for _, r := range records {
		assert.Contains(t, r, "time")
		assert.InDelta(t, 7, r["client"], 0, "the pairs of log.With come along")
	}

	assert.Equal(t, "DEBUG", records[0]["level"])
	assert.Equal(t, "command", records[0]["msg"], "the event names the record without msg")
	assert.Equal(t, "command", records[0]["event"])
	assert.Equal(t, "NOOP", records[0]["line"])

	assert.Equal(t, "INFO", records[1]["level"])
	assert.InDelta(t, 42, records[1]["bytes"], 0)
	assert.InDelta(t, float64(1500*time.Millisecond), records[1]["duration"], 0)
	assert.Nil(t, records[1]["err"])
	assert.Contains(t, records[1], "err")

	assert.Equal(t, "WARN", records[2]["level"])
	assert.Equal(t, "refused", records[2]["msg"])
	assert.Equal(t, "127.0.0.1:2121", records[2]["remote"], "an address is written as text")
	assert.Equal(t, "banned", records[2]["err"])

	assert.Equal(t, "ERROR", records[3]["level"])

	assert.Equal(t, "INFO", records[4]["level"], "a line without a level is at info")
	assert.Equal(t, "no level", records[4]["msg"])
	assert.Equal(t, log.ErrMissingValue.Error(), records[4]["odd"])

	assert.Equal(t, "WARN", records[5]["level"])
	assert.Equal(t, "string level", records[5]["msg"])
}

func TestSlogLoggerLevelFilter(t *testing.T) {
	t.Parallel()

	var out bytes.Buffer

	logger := NewSlogLogger(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))

	require.NoError(t, level.Debug(logger).Log("event", "dropped"))
	require.NoError(t, level.Info(logger).Log("event", "dropped"))
	require.NoError(t, level.Warn(logger).Log("event", "kept"))

	records := jsonRecords(t, &out)
	require.Len(t, records, 1)
	assert.Equal(t, "kept", records[0]["msg"])
}

// nilStringer panics in String when nil, as methods of nil pointers may.
type nilStringer struct{ name string }

func (n *nilStringer) String() string { return n.name }

func TestSlogLoggerNilStringer(t *testing.T) {
	t.Parallel()

	var out bytes.Buffer

	logger := NewSlogLogger(slog.NewJSONHandler(&out, nil))
	require.NoError(t, logger.Log("event", "x", "value", (*nilStringer)(nil)))

	records := jsonRecords(t, &out)
	require.Len(t, records, 1)
	assert.Equal(t, "<nil>", records[0]["value"])
}

// TestSlogLoggerServer logs a session of a real server through slog.
func TestSlogLoggerServer(t *testing.T) {
	var out bytes.Buffer // slog's JSON handler serialises its writes

	driver := &testDriver{fs: afero.NewMemMapFs(), settings: &Settings{ListenAddr: "127.0.0.1:0"}}
	server := NewFtpServer(driver)
	server.Logger = NewSlogLogger(slog.NewJSONHandler(&out, nil))
	require.NoError(t, server.Listen())

	served := make(chan error, 1)

	go func() { served <- server.Serve() }()

	conn, err := ftp.Dial(server.Addr(), ftp.DialWithTimeout(5*time.Second))
	require.NoError(t, err)
	require.NoError(t, conn.Login(testUser, testPass))
	require.NoError(t, conn.Quit())
	require.NoError(t, server.Stop())
	require.NoError(t, <-served)

	var login map[string]any

	for _, record := range jsonRecords(t, &out) {
		if record["msg"] == "login" {
			login = record
		}
	}

	require.NotNil(t, login, "the login line: %s", out.String())
	assert.Equal(t, "INFO", login["level"])
	assert.Equal(t, testUser, login["user"])
	assert.Equal(t, "login", login["event"])
}
