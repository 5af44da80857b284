package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogFlags parses -audit-log, -xferlog and -log-queue, and refuses what cannot work.
func TestLogFlags(t *testing.T) {
	t.Parallel()

	cfg, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, logFlags{queue: defaultLogQueue}, cfg.logs, "no logs by default")

	cfg, err = parseFlags([]string{"-audit-log", "a.json", "-xferlog", "xferlog", "-log-queue", "10"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, logFlags{auditLog: "a.json", xferlog: "xferlog", queue: 10}, cfg.logs)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-log-queue", "0"}, `ftpserver: invalid value "0" for flag -log-queue: must be at least 1`},
		{[]string{"-audit-log", "x.log", "-xferlog", "./x.log"}, "ftpserver: -audit-log and -xferlog name the same file"},
	} {
		assert.Equal(t, tc.want, requireFlagError(t, tc.args...), tc.args)
	}
}
