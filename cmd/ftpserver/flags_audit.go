package main

import (
	"errors"
	"flag"
	"path/filepath"
	"strconv"
)

// defaultLogQueue is how many lines each of -audit-log and -xferlog holds for its writer by
// default: a burst of that many operations waits for a slow disk without slowing a session.
const defaultLogQueue = 4096

// logFlags are the flags of the files that record what clients do.
type logFlags struct {
	auditLog string // "" or the file of the JSON lines, one per event
	xferlog  string // "" or the file of the xferlog lines, one per file transfer
	queue    int    // lines held for each file's writer
}

var (
	errQueueSize = errors.New("must be at least 1")
	errSameLog   = errors.New("-audit-log and -xferlog name the same file")
)

// registerLogFlags adds -audit-log, -xferlog and -log-queue.
func registerLogFlags(flags *flag.FlagSet, l *logFlags) {
	l.queue = defaultLogQueue

	flags.StringVar(&l.auditLog, "audit-log", "",
		"append one JSON object per event (logins, transfers, deletes, renames, directories, SITE CHMOD...) "+
			"to `FILE`, reopened on SIGHUP (default: none)")
	flags.StringVar(&l.xferlog, "xferlog", "",
		"append one line per file transfer to `FILE` in the xferlog format of wu-ftpd, vsftpd and ProFTPD, "+
			"reopened on SIGHUP (default: none)")
	flags.Func("log-queue", "hold up to `N` lines for each of -audit-log and -xferlog while the disk is slow; "+
		"a line finding the queue full waits up to 100ms, then is dropped and counted (default "+
		strconv.Itoa(defaultLogQueue)+")", func(v string) error {
		n, err := strconv.Atoi(v)
		if err == nil && n < 1 {
			err = errQueueSize
		}

		l.queue = n

		return err
	})
}

// validate refuses the two logs in one file, where their lines would mix.
func (l logFlags) validate() error {
	if l.auditLog != "" && filepath.Clean(l.auditLog) == filepath.Clean(l.xferlog) {
		return errSameLog
	}

	return nil
}
