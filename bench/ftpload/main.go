// Command ftpload is the FTP client of bench/compare.sh: one client for every server, built so
// that it is not what limits a measurement. It speaks the protocol directly, reads data
// connections into one 256 KiB buffer, sends uploads from memory, and times only the part of a
// scenario that the server does:
//
//	ftpload -addr 127.0.0.1:2121 -user u -pass p -scenario retr -path pub/big.bin -size N
//	ftpload ... -scenario stor -path pub/upload.bin -size N
//	ftpload ... -scenario small -path 'pub/small/%03d.bin' -count 500 -size 4096
//	ftpload ... -scenario smallstor -path 'pub/up/%03d.bin' -count 500 -size 4096
//	ftpload ... -scenario logins -count 200
//	ftpload ... -scenario list -path pub/list -count 5 -size 10000
//
// -conns N runs retr, stor, small and smallstor over N logged-in connections at once: each
// connection downloads the whole file (retr), uploads a file of its own (stor, whose -path then
// holds one %d, the connection's number from 1), or takes its share of the -count files (small,
// smallstor: file i goes to connection i mod N). The figure is then the aggregate, from the moment
// all connections are logged in to the end of the last one, and stderr shows the spread of the
// connections' own rates. -idle M first logs in M more sessions that send nothing while the others
// work, and checks with NOOP afterwards that the server has kept them all; with -idle-wait it
// prints "idle" on stdout once they are logged in and waits for a line on stdin before the work
// begins, so that a script can measure the server meanwhile.
//
// -tls adds AUTH TLS, PBSZ 0 and PROT P, with TLS 1.3 and the control session resumed on the
// data connections. Data connections are passive (EPSV).
//
// It prints one number on stdout: MB/s (10^6 bytes per second) for retr and stor, from EPSV to
// the 226 reply; files per second for small and smallstor, from the first EPSV to the last 226; logins per
// second for logins, each from the dial to the reply to PWD; and the mean milliseconds of one
// LIST for list, after one LIST that is not counted. -size is checked: the bytes of retr and
// small, the entries of list (at least that many lines). With -v it describes the run on stderr.
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ftpkit/ftpserver/bench/internal/cli"
)

// bufferSize is the size of the read buffer and of the upload's memory block.
const bufferSize = 256 << 10

// replyTimeout bounds the wait for any reply, and dialTimeout for any connection.
const (
	replyTimeout = 2 * time.Minute
	dialTimeout  = 10 * time.Second
)

// Scenarios.
const (
	scenarioRETR      = "retr"
	scenarioSTOR      = "stor"
	scenarioSmall     = "small"
	scenarioSmallSTOR = "smallstor"
	scenarioLogins    = "logins"
	scenarioList      = "list"
)

var (
	// errReply reports a reply with another code than the one the scenario needs.
	errReply = errors.New("unexpected reply")
	// errCount reports a transfer of another size than -size.
	errCount = errors.New("unexpected size")
)

// options is the parsed command line.
type options struct {
	addr, user, pass string
	scenario, path   string
	size             int64
	count            int
	conns, idle      int
	tls, verbose     bool
	idleWait         bool
	// pause, when set, is called once the idle sessions are logged in, before the work begins.
	pause func() error
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}

	if opts.idleWait {
		opts.pause = func() error { return waitForLine(os.Stdout, os.Stdin) }
	}

	value, err := run(opts, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ftpload:", err)
		os.Exit(1)
	}

	fmt.Println(value)
}

// parseFlags reads the command line, printing the error and the usage to stderr on an error.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	opts := &options{}
	flags := flag.NewFlagSet("ftpload", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&opts.addr, "addr", "127.0.0.1:21", "the server's control address, host:port")
	flags.StringVar(&opts.user, "user", "anonymous", "user name")
	flags.StringVar(&opts.pass, "pass", "ftpload", "password")
	flags.StringVar(&opts.scenario, "scenario", scenarioRETR, "retr, stor, small, smallstor, logins or list")
	flags.StringVar(&opts.path, "path", "", "file, directory, or for small a pattern with one %d")
	flags.Int64Var(&opts.size, "size", 0, "bytes of each file (retr, stor, small); entries (list)")
	flags.IntVar(&opts.count, "count", 1, "files (small, smallstor), logins (logins), counted LISTs (list)")
	flags.IntVar(&opts.conns, "conns", 1, "connections working at once (retr, stor, small, smallstor)")
	flags.IntVar(&opts.idle, "idle", 0, "logged-in sessions held idle while the others work")
	flags.BoolVar(&opts.idleWait, "idle-wait", false,
		"print \"idle\" once the idle sessions are logged in, and wait for a line on stdin")
	flags.BoolVar(&opts.tls, "tls", false, "AUTH TLS, and PROT P for data connections")
	flags.BoolVar(&opts.verbose, "v", false, "describe the run on stderr")

	if err := cli.Parse(flags, args, opts.check); err != nil {
		return nil, err
	}

	return opts, nil
}

// check checks the flags against each other.
func (opts *options) check() error {
	if err := checkScenario(opts); err != nil {
		return err
	}

	switch {
	case opts.count <= 0:
		return fmt.Errorf("-count: %d is not positive", opts.count)
	case opts.size <= 0 && opts.scenario != scenarioLogins:
		return fmt.Errorf("-size: %d is not positive", opts.size)
	case opts.conns <= 0:
		return fmt.Errorf("-conns: %d is not positive", opts.conns)
	case opts.idle < 0:
		return fmt.Errorf("-idle: %d is negative", opts.idle)
	}

	return nil
}

// checkScenario checks -scenario and the flags it needs.
func checkScenario(opts *options) error {
	switch opts.scenario {
	case scenarioRETR, scenarioSTOR, scenarioSmall, scenarioSmallSTOR, scenarioList:
		if opts.path == "" {
			return fmt.Errorf("-scenario %s needs -path", opts.scenario)
		}
	case scenarioLogins:
	default:
		return fmt.Errorf("-scenario: %q is not retr, stor, small, smallstor, logins or list", opts.scenario)
	}

	switch {
	case opts.conns > 1 && (opts.scenario == scenarioLogins || opts.scenario == scenarioList):
		return fmt.Errorf("-conns: -scenario %s runs on one connection", opts.scenario)
	case opts.conns > 1 && opts.scenario == scenarioSTOR && !strings.Contains(opts.path, "%d"):
		return errors.New("-conns: -scenario stor over several connections needs a -path with %d")
	case opts.scenario == scenarioSmallSTOR && !strings.Contains(opts.path, "%"):
		return errors.New("-scenario smallstor needs a -path pattern with %d")
	}

	return nil
}

// run performs the scenario and returns its figure, formatted.
func run(opts *options, stderr io.Writer) (string, error) {
	if opts.scenario == scenarioLogins {
		return runLogins(opts)
	}

	if opts.scenario != scenarioList {
		return runConns(opts, stderr)
	}

	sess, err := login(opts)
	if err != nil {
		return "", err
	}
	defer sess.close()

	err = sess.cmd("TYPE I", 200)
	if err != nil {
		return "", err
	}

	value, err := runList(sess, opts)
	if err == nil && opts.verbose {
		sess.describe(stderr)
	}

	return value, err
}

func runList(sess *session, opts *options) (string, error) {
	var elapsed time.Duration

	// The first LIST warms the caches of the server and is not counted.
	for i := 0; i <= opts.count; i++ {
		start := time.Now()

		lines, err := sess.list("LIST " + opts.path)
		if err != nil {
			return "", err
		}

		if lines < opts.size {
			return "", fmt.Errorf("%w: LIST %s: %d lines, not at least %d", errCount, opts.path, lines, opts.size)
		}

		if i > 0 {
			elapsed += time.Since(start)
		}
	}

	ms := elapsed.Seconds() * 1000 / float64(opts.count)

	return strconv.FormatFloat(ms, 'f', 1, 64), nil
}

// runLogins logs in opts.count times in a row, each on a new connection.
func runLogins(opts *options) (string, error) {
	var elapsed time.Duration

	for range opts.count {
		start := time.Now()

		sess, err := login(opts)
		if err == nil {
			err = sess.cmd("PWD", 257)
		}

		elapsed += time.Since(start)

		if sess != nil {
			sess.close()
		}

		if err != nil {
			return "", err
		}
	}

	rate := float64(opts.count) / elapsed.Seconds()

	return strconv.FormatFloat(rate, 'f', 0, 64), nil
}

// session is one control connection.
type session struct {
	conn   net.Conn
	reader *bufio.Reader
	host   string
	tls    *tls.Config // nil without -tls
	buf    []byte
}

// login dials opts.addr and logs in, with AUTH TLS, PBSZ and PROT P first under -tls.
func login(opts *options) (*session, error) {
	host, _, err := net.SplitHostPort(opts.addr)
	if err != nil {
		return nil, fmt.Errorf("-addr: %w", err)
	}

	conn, err := net.DialTimeout("tcp", opts.addr, dialTimeout) //nolint:gosec // G704: -addr is the server to load
	if err != nil {
		return nil, fmt.Errorf("dialing: %w", err)
	}

	sess := &session{conn: conn, reader: bufio.NewReader(conn), host: host}

	err = sess.login(opts)
	if err != nil {
		conn.Close()

		return nil, err
	}

	return sess, nil
}

func (s *session) login(opts *options) error {
	if _, err := s.expect(220); err != nil {
		return err
	}

	if opts.tls {
		if err := s.cmd("AUTH TLS", 234); err != nil {
			return err
		}

		s.tls = &tls.Config{
			MinVersion: tls.VersionTLS13,
			// The servers of a benchmark use throw-away certificates.
			InsecureSkipVerify: true, //nolint:gosec // G402: the certificate is not the point here
			ServerName:         s.host,
			ClientSessionCache: tls.NewLRUClientSessionCache(4),
		}
		s.conn = tls.Client(s.conn, s.tls)
		s.reader = bufio.NewReader(s.conn)
	}

	if err := s.send("USER " + opts.user); err != nil {
		return err
	}

	code, err := s.read()
	if err != nil {
		return err
	}

	if code == 331 {
		err = s.cmd("PASS "+opts.pass, 230)
	} else if code != 230 {
		err = fmt.Errorf("%w: USER: %d", errReply, code)
	}

	if err == nil && opts.tls {
		err = s.cmd("PBSZ 0", 200)
		if err == nil {
			err = s.cmd("PROT P", 200)
		}
	}

	return err
}

// close says QUIT without waiting long for the answer, and closes the connection.
func (s *session) close() {
	_ = s.conn.SetDeadline(time.Now().Add(time.Second))
	if s.send("QUIT") == nil {
		_, _ = s.read()
	}

	s.conn.Close()
}

// describe tells what the control connection negotiated.
func (s *session) describe(w io.Writer) {
	if tlsConn, ok := s.conn.(*tls.Conn); ok {
		state := tlsConn.ConnectionState()
		fmt.Fprintf(w, "ftpload: %s, %s\n", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite))

		return
	}

	fmt.Fprintln(w, "ftpload: plain FTP")
}

func (s *session) send(line string) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(replyTimeout))
	if _, err := io.WriteString(s.conn, line+"\r\n"); err != nil {
		return fmt.Errorf("sending %s: %w", strings.Fields(line)[0], err)
	}

	return nil
}

// read reads one reply (all its lines) and returns its code and its last line.
func (s *session) read() (int, error) {
	code, _, err := s.readLine()

	return code, err
}

func (s *session) readLine() (int, string, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(replyTimeout))

	line, err := s.reader.ReadString('\n')
	if err != nil {
		return 0, "", fmt.Errorf("reading a reply: %w", err)
	}

	if len(line) < 4 {
		return 0, "", fmt.Errorf("%w: %q", errReply, line)
	}

	code, err := strconv.Atoi(line[:3])
	if err != nil {
		return 0, "", fmt.Errorf("%w: %q", errReply, line)
	}

	// RFC 959 4.2: a multi-line reply ends with the code followed by a space.
	if line[3] == '-' {
		end := line[:3] + " "
		for !strings.HasPrefix(line, end) {
			if line, err = s.reader.ReadString('\n'); err != nil {
				return 0, "", fmt.Errorf("reading a reply: %w", err)
			}
		}
	}

	return code, strings.TrimRight(line, "\r\n"), nil
}

// expect reads a reply and checks its code, returning its last line.
func (s *session) expect(want int) (string, error) {
	code, line, err := s.readLine()
	if err == nil && code != want {
		err = fmt.Errorf("%w: %q, wanted %d", errReply, line, want)
	}

	return line, err
}

// cmd sends a command and checks the code of its reply.
func (s *session) cmd(line string, want int) error {
	if err := s.send(line); err != nil {
		return err
	}

	if _, err := s.expect(want); err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(line)[0], err)
	}

	return nil
}

// openData sends EPSV and dials the port of its reply (RFC 2428 3: "(|||port|)").
func (s *session) openData() (net.Conn, error) {
	if err := s.send("EPSV"); err != nil {
		return nil, err
	}

	line, err := s.expect(229)
	if err != nil {
		return nil, fmt.Errorf("EPSV: %w", err)
	}

	open, end := strings.Index(line, "(|||"), strings.LastIndex(line, "|)")
	if open < 0 || end < open+4 {
		return nil, fmt.Errorf("%w: EPSV: %q", errReply, line)
	}

	port := line[open+4 : end]

	// The host is -addr's, the port the server's EPSV reply.
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(s.host, port), dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("dialing the data port: %w", err)
	}

	return conn, nil
}

// transfer opens a data connection, sends command and waits for its 150 (or 125) reply; the
// TLS handshake of a protected connection is done by then.
func (s *session) transfer(command string) (net.Conn, error) {
	conn, err := s.openData()
	if err != nil {
		return nil, err
	}

	if err = s.send(command); err == nil {
		var code int
		if code, err = s.read(); err == nil && code != 150 && code != 125 {
			err = fmt.Errorf("%w: %s: %d", errReply, strings.Fields(command)[0], code)
		}
	}

	if err == nil && s.tls != nil {
		tlsConn := tls.Client(conn, s.tls)
		_ = tlsConn.SetDeadline(time.Now().Add(dialTimeout))
		if err = tlsConn.Handshake(); err != nil {
			err = fmt.Errorf("TLS handshake on the data connection: %w", err)
		}

		_ = tlsConn.SetDeadline(time.Time{})
		conn = tlsConn
	}

	if err != nil {
		conn.Close()

		return nil, err
	}

	return conn, nil
}

// download runs command and reads its data connection to the end, returning the bytes read.
func (s *session) download(command string) (int64, error) {
	conn, err := s.transfer(command)
	if err != nil {
		return 0, err
	}

	n, err := s.drain(conn, nil)
	conn.Close()

	if err != nil {
		return n, err
	}

	return n, s.done(command)
}

// list runs command and counts the lines of its data connection.
func (s *session) list(command string) (int64, error) {
	conn, err := s.transfer(command)
	if err != nil {
		return 0, err
	}

	var lines int64

	_, err = s.drain(conn, func(chunk []byte) {
		for _, b := range chunk {
			if b == '\n' {
				lines++
			}
		}
	})
	conn.Close()

	if err != nil {
		return lines, err
	}

	return lines, s.done(command)
}

// drain reads conn to its end into the session's buffer, handing each chunk to seen if set.
func (s *session) drain(conn net.Conn, seen func([]byte)) (int64, error) {
	if s.buf == nil {
		s.buf = make([]byte, bufferSize)
	}

	var total int64

	for {
		_ = conn.SetReadDeadline(time.Now().Add(replyTimeout))
		n, err := conn.Read(s.buf)
		total += int64(n)

		if seen != nil {
			seen(s.buf[:n])
		}

		switch {
		case errors.Is(err, io.EOF):
			return total, nil
		case err != nil:
			return total, fmt.Errorf("reading the data connection: %w", err)
		}
	}
}

// upload runs command and writes size bytes of block, repeated, to its data connection.
func (s *session) upload(command string, block []byte, size int64) error {
	conn, err := s.transfer(command)
	if err != nil {
		return err
	}

	for remaining := size; remaining > 0 && err == nil; {
		_ = conn.SetWriteDeadline(time.Now().Add(replyTimeout))

		var n int

		n, err = conn.Write(block[:min(remaining, int64(len(block)))])
		remaining -= int64(n)
	}

	if err == nil {
		err = closeWrite(conn)
	}

	if err != nil {
		conn.Close()

		return fmt.Errorf("writing the data connection: %w", err)
	}

	return s.endUpload(command, conn)
}

// endUpload waits for the end of an upload whose sending side is closed: the server's 226 on
// the control connection, while what the server sends on the data connection (TLS session
// tickets) is read until it closes it. Closing before the server has read everything, with
// bytes it sent still unread, would reset the connection, and a reset can throw away the end
// of the upload; once the 226 has come the server has read it all, so a server that waits for
// the client to close the data connection (rclone's) gets that then.
func (s *session) endUpload(command string, conn net.Conn) error {
	drained := make(chan error, 1)

	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(replyTimeout))
		_, err := io.Copy(io.Discard, conn)
		drained <- err
	}()

	err := s.done(command)

	conn.Close()

	if drainErr := <-drained; err == nil && drainErr != nil && !errors.Is(drainErr, net.ErrClosed) {
		err = fmt.Errorf("reading the data connection: %w", drainErr)
	}

	return err
}

// closeWrite ends the sending side of conn: a TLS close_notify, then a TCP FIN.
func closeWrite(conn net.Conn) error {
	if tlsConn, ok := conn.(*tls.Conn); ok {
		if err := tlsConn.CloseWrite(); err != nil {
			return fmt.Errorf("sending close_notify: %w", err)
		}

		conn = tlsConn.NetConn()
	}

	tcpConn, ok := conn.(*net.TCPConn)
	if !ok {
		return nil
	}

	if err := tcpConn.CloseWrite(); err != nil {
		return fmt.Errorf("closing the sending side: %w", err)
	}

	return nil
}

// done waits for the 226 (or 250) that ends a transfer.
func (s *session) done(command string) error {
	code, line, err := s.readLine()
	if err == nil && code != 226 && code != 250 {
		err = fmt.Errorf("%w: %s: %q", errReply, strings.Fields(command)[0], line)
	}

	return err
}
