package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/ftpkit/ftpserver"
)

// eventLogs are the files of -audit-log and -xferlog, written from the server's events.
type eventLogs struct {
	logs []eventLog
}

// eventLog is one log file and how it writes an event: format returns the line, newline
// included, or false for an event this log does not record.
type eventLog struct {
	file   *logFile
	format func(cc ftpserver.ClientContext, event ftpserver.Event) ([]byte, bool)
}

// newLoggingDriver is newDriver with the -audit-log and -xferlog files open, which its Close
// closes. They are open before the driver is used, so the SIGHUP handling, which reopens them,
// and the sessions find them there.
func newLoggingDriver(cfg *config, logger log.Logger) (*driver, error) {
	d, err := newDriver(cfg)
	if err != nil {
		return nil, err
	}

	if d.logs, err = openEventLogs(cfg.logs, logger); err != nil {
		_ = d.Close()

		return nil, err
	}

	return d, nil
}

// openEventLogs opens the files the flags name; nil when they name none.
func openEventLogs(flags logFlags, logger log.Logger) (*eventLogs, error) {
	formats := []struct {
		flag, name string
		format     func(ftpserver.ClientContext, ftpserver.Event) ([]byte, bool)
	}{
		{"-audit-log", flags.auditLog, auditLine},
		{"-xferlog", flags.xferlog, xferlogLine},
	}

	l := &eventLogs{}

	for _, f := range formats {
		if f.name == "" {
			continue
		}

		file, err := openLogFile(f.name, flags.queue, logger)
		if err != nil {
			l.close()

			return nil, fmt.Errorf("%s: %w", f.flag, err)
		}

		l.logs = append(l.logs, eventLog{file: file, format: f.format})
	}

	if len(l.logs) == 0 {
		return nil, nil
	}

	return l, nil
}

// handle writes event to each log that records it; nothing without logs (l nil).
func (l *eventLogs) handle(cc ftpserver.ClientContext, event ftpserver.Event) {
	if l == nil {
		return
	}

	for _, el := range l.logs {
		if line, ok := el.format(cc, event); ok {
			el.file.write(line)
		}
	}
}

// reopen opens each log file again, after a rotation; a file that cannot be opened is logged
// and its log goes on in the file it had. Nothing without logs (l nil).
func (l *eventLogs) reopen(logger log.Logger) {
	if l == nil {
		return
	}

	for _, el := range l.logs {
		if err := el.file.reopen(); err != nil {
			_ = level.Error(logger).Log("msg", "log not reopened, still writing to the previous file",
				"file", el.file.name, "err", err)

			continue
		}

		_ = level.Info(logger).Log("msg", "log reopened", "file", el.file.name)
	}
}

// close writes what the logs hold and closes their files; nothing without logs (l nil).
func (l *eventLogs) close() {
	if l == nil {
		return
	}

	for _, el := range l.logs {
		el.file.close()
	}
}

// auditTimeLayout is RFC 3339 in UTC with microseconds, a fixed width that sorts as text.
const auditTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// auditRecord is one line of -audit-log. The names and meaning of its fields are documented in
// the README and are kept: scripts parse them.
type auditRecord struct {
	Time       string  `json:"time"`        // when the server reported it, UTC
	Kind       string  `json:"kind"`        // ftpserver.EventKind's name
	User       string  `json:"user"`        // "" before login and in connect/disconnect records
	Remote     string  `json:"remote"`      // the client's address, host:port
	Session    uint32  `json:"session"`     // the session's ID, the same in all of its records
	Command    string  `json:"command"`     // the verb, "SITE CHMOD" for SITE; "" if none
	Path       string  `json:"path"`        // the file or directory acted on
	Target     string  `json:"target"`      // a rename's new name, a symlink's target
	Direction  string  `json:"direction"`   // "upload" or "download" for transfers, else ""
	Bytes      int64   `json:"bytes"`       // bytes moved, deleted or written
	DurationMS float64 `json:"duration_ms"` // milliseconds, to the microsecond
	Result     string  `json:"result"`      // "ok", or the error
}

// auditLine formats any event as a JSON object on a line.
func auditLine(cc ftpserver.ClientContext, event ftpserver.Event) ([]byte, bool) {
	record := auditRecord{
		Time:       event.Time.UTC().Format(auditTimeLayout),
		Kind:       event.Kind.String(),
		User:       event.User,
		Remote:     addrString(cc.RemoteAddr()),
		Session:    cc.ID(),
		Command:    event.Command,
		Path:       event.Path,
		Target:     event.Target,
		Bytes:      event.Bytes,
		DurationMS: float64(event.Duration.Microseconds()) / 1000,
		Result:     "ok",
	}

	if event.Kind == ftpserver.EventTransferEnded {
		record.Direction = event.Direction.String()
	}

	if event.Err != nil {
		record.Result = event.Err.Error()
	}

	var line bytes.Buffer

	encoder := json.NewEncoder(&line) // Encode ends the object with a newline
	encoder.SetEscapeHTML(false)

	if err := encoder.Encode(record); err != nil {
		return nil, false // strings and numbers only: it cannot fail
	}

	return line.Bytes(), true
}

// addrString is addr as host:port, "" for none.
func addrString(addr net.Addr) string {
	if addr == nil {
		return ""
	}

	return addr.String()
}

// xferlogLine formats a file transfer (RETR, STOR, APPE, STOU) as a line of xferlog, the transfer
// log of wu-ftpd that vsftpd, ProFTPD and Pure-FTPd also write. The fields follow the xferlog(5)
// manual page of ProFTPD, which is wu-ftpd's with the completion status, and vsftpd's choices
// where the page leaves one open:
//
//	current-time transfer-time remote-host file-size filename transfer-type special-action-flag
//	direction access-mode username service-name authentication-method authenticated-user-id
//	completion-status
//
// Field by field:
//
//   - current-time: local time as ctime(3) writes it, "Mon Dec  7 18:21:49 2026", when the
//     transfer ended;
//   - transfer-time: whole seconds, rounded, at least 1 as vsftpd writes it (a rate computed
//     from the line never divides by 0);
//   - remote-host: the client's IP address, as vsftpd writes it (no name lookup);
//   - file-size: the bytes the transfer moved;
//   - filename: the path as the client sees it, each space or control character replaced by
//     "_" as the manual page says, so the line still splits on spaces;
//   - transfer-type: "a" under TYPE A, "b" under TYPE I;
//   - special-action-flag: "_", no action (the C, U and T flags are for files compressed or
//     archived on the fly, which this server does not do; MODE Z is not one of them);
//   - direction: "o" outgoing (download), "i" incoming (upload); the "d" that ProFTPD writes
//     for deletions is not used, as this file has transfers only;
//   - access-mode: "r", a real user (this server has no anonymous or guest logins);
//   - username: the user's login name;
//   - service-name: "ftp";
//   - authentication-method: "0", none (no RFC 931 ident lookup);
//   - authenticated-user-id: "*", as there is no such lookup;
//   - completion-status: "c" complete, "i" incomplete (aborted or failed).
func xferlogLine(cc ftpserver.ClientContext, event ftpserver.Event) ([]byte, bool) {
	if event.Kind != ftpserver.EventTransferEnded || !isFileTransfer(event.Command) {
		return nil, false
	}

	transferType, direction, status := "b", "o", "c"
	if event.ASCII {
		transferType = "a"
	}

	if event.Direction == ftpserver.TransferUpload {
		direction = "i"
	}

	if event.Err != nil {
		status = "i"
	}

	fields := []string{
		event.Time.Local().Format(time.ANSIC),
		strconv.FormatInt(xferlogSeconds(event.Duration), 10),
		remoteHost(cc.RemoteAddr()),
		strconv.FormatInt(event.Bytes, 10),
		xferlogName(event.Path),
		transferType, "_", direction, "r", xferlogName(event.User), "ftp", "0", "*", status,
	}

	return []byte(strings.Join(fields, " ") + "\n"), true
}

// isFileTransfer tells the commands that transfer a file from the listings.
func isFileTransfer(command string) bool {
	switch command {
	case "RETR", "STOR", "APPE", "STOU":
		return true
	default:
		return false
	}
}

// xferlogSeconds is a transfer's time in whole seconds, rounded, at least 1.
func xferlogSeconds(d time.Duration) int64 {
	return max(int64(math.Round(d.Seconds())), 1)
}

// remoteHost is the IP address of addr, without the port.
func remoteHost(addr net.Addr) string {
	host, _, err := net.SplitHostPort(addrString(addr))
	if err != nil {
		return addrString(addr)
	}

	return host
}

// xferlogName replaces each space (Unicode's, tab included) and control character of name by
// "_", and an empty name by "_", so that the line keeps its fields.
func xferlogName(name string) string {
	if name == "" {
		return "_"
	}

	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return '_'
		}

		return r
	}, name)
}
