// Command ceiling measures how fast this machine moves bytes over loopback TCP without any FTP
// server in the way, so that bench/compare.sh can put the servers' figures next to an upper
// bound measured in the same run:
//
//	ceiling -mode tcp  -size 1073741824            # memory to memory over loopback TCP
//	ceiling -mode sendfile -size 1073741824 -file F   # file F's first bytes to memory, by sendfile
//	ceiling -mode file -size 1073741824 -dir /dev/shm/x   # TCP into a new file in DIR (no fsync)
//	ceiling -mode tls  -size 1073741824            # crypto/tls 1.3, ECDSA P-256, memory to memory
//	ceiling -mode tls-file -size 1073741824 -dir /dev/shm/x   # the same TLS into a new file in DIR
//
// It prints one line: the throughput in MB/s (10^6 bytes per second), from the dial to the
// receiver's last byte (the TLS handshake included). The file written in -dir is removed.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/ftpkit/ftpserver/bench/internal/cli"
)

// bufferSize is the size of the sender's and the memory receiver's buffer.
const bufferSize = 256 << 10

// Modes of measurement.
const (
	modeTCP  = "tcp"
	modeFile = "file"
	modeTLS  = "tls"
	// modeSendfile is the download ceiling from a file: the sender hands the file to the
	// kernel's sendfile, as a server does, so its pages are read from the page cache rather
	// than from one buffer that stays in the processor's cache.
	modeSendfile = "sendfile"
	// modeTLSFile is the upload ceiling under TLS: what a protected STOR pays for the file on
	// top of the bare TLS copy.
	modeTLSFile = "tls-file"
)

// options is the parsed command line.
type options struct {
	mode string
	size int64
	dir  string
	file string // what modeSendfile sends
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}

	mbps, err := measure(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}

	fmt.Printf("%.0f\n", mbps)
}

// parseFlags reads the command line, printing the error and the usage to stderr on an error.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	opts := &options{}
	flags := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&opts.mode, "mode", modeTCP, "what to measure: tcp, sendfile, file, tls or tls-file")
	flags.Int64Var(&opts.size, "size", 1<<30, "bytes to move")
	flags.StringVar(&opts.dir, "dir", "", "directory of the received file (modes file and tls-file)")
	flags.StringVar(&opts.file, "file", "", "the file to send, of at least -size bytes (mode sendfile)")

	if err := cli.Parse(flags, args, opts.check); err != nil {
		return nil, err
	}

	return opts, nil
}

// check checks the flags against each other.
func (o *options) check() error {
	switch {
	case o.mode != modeTCP && o.mode != modeSendfile && o.mode != modeFile && o.mode != modeTLS &&
		o.mode != modeTLSFile:
		return fmt.Errorf("-mode: %q is not tcp, sendfile, file, tls or tls-file", o.mode)
	case o.size <= 0:
		return fmt.Errorf("-size: %d is not positive", o.size)
	case (o.mode == modeFile || o.mode == modeTLSFile) && o.dir == "":
		return fmt.Errorf("-mode %s needs -dir", o.mode)
	case o.mode == modeSendfile && o.file == "":
		return fmt.Errorf("-mode %s needs -file", o.mode)
	}

	return nil
}

// measure moves opts.size bytes from a client to a server over loopback and returns the rate
// in MB/s.
func measure(opts *options) (float64, error) {
	var serverTLS, clientTLS *tls.Config

	if opts.mode == modeTLS || opts.mode == modeTLSFile {
		var err error

		serverTLS, clientTLS, err = tlsConfigs()
		if err != nil {
			return 0, err
		}
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listening: %w", err)
	}
	defer listener.Close()

	received := make(chan result, 1)

	go func() { received <- receive(listener, serverTLS, opts) }()

	start := time.Now()

	sendErr := send(listener.Addr().String(), clientTLS, opts)
	if sendErr != nil {
		// The receiver may wait for a connection that never came.
		listener.Close()
	}

	res := <-received
	elapsed := time.Since(start)

	if err := errors.Join(sendErr, res.err); err != nil {
		return 0, err
	}

	if res.n != opts.size {
		return 0, fmt.Errorf("received %d bytes of %d", res.n, opts.size)
	}

	return float64(res.n) / elapsed.Seconds() / 1e6, nil
}

// result is what the receiver reports.
type result struct {
	n   int64
	err error
}

// receive accepts one connection and reads it to its end, into memory or into a file.
func receive(listener net.Listener, config *tls.Config, opts *options) result {
	conn, err := listener.Accept()
	if err != nil {
		return result{err: fmt.Errorf("accepting: %w", err)}
	}
	defer conn.Close()

	if config != nil {
		conn = tls.Server(conn, config)
	}

	if opts.mode == modeFile || opts.mode == modeTLSFile {
		return receiveFile(conn, opts.dir)
	}

	// A plain read loop: io.Copy into io.Discard would read 8 KiB at a time.
	buf := make([]byte, bufferSize)

	var total int64

	for {
		n, err := conn.Read(buf)
		total += int64(n)

		switch {
		case errors.Is(err, io.EOF):
			return result{n: total}
		case err != nil:
			return result{n: total, err: fmt.Errorf("receiving: %w", err)}
		}
	}
}

// receiveFile copies conn into a new file in dir, the way a server stores an upload, and
// removes the file afterwards.
func receiveFile(conn net.Conn, dir string) result {
	file, err := os.CreateTemp(dir, "ceiling-*.bin")
	if err != nil {
		return result{err: fmt.Errorf("creating the file: %w", err)}
	}

	defer os.Remove(file.Name())

	var n int64

	if _, isTLS := conn.(*tls.Conn); isTLS {
		n, err = copyFilled(file, conn)
	} else {
		// *os.File's ReadFrom is kept on purpose: it lets the kernel splice from the socket.
		n, err = io.Copy(file, conn)
	}

	if closeErr := file.Close(); err == nil && closeErr != nil {
		err = closeErr
	}

	if err != nil {
		return result{n: n, err: fmt.Errorf("receiving into %s: %w", file.Name(), err)}
	}

	return result{n: n}
}

// copyFilled copies a TLS connection into file through a 1 MiB buffer filled before each
// write: a TLS read returns one record (16 KiB) at most, and io.Copy would write each alone.
func copyFilled(file *os.File, conn net.Conn) (int64, error) {
	buf := make([]byte, 1<<20)

	var total int64

	for {
		n, err := io.ReadFull(conn, buf)
		total += int64(n)

		if _, writeErr := file.Write(buf[:n]); writeErr != nil {
			return total, fmt.Errorf("writing: %w", writeErr)
		}

		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return total, nil
		case err != nil:
			return total, fmt.Errorf("reading: %w", err)
		}
	}
}

// send dials addr and writes opts.size bytes, from memory or from opts.file, then half-closes
// the connection.
func send(addr string, config *tls.Config, opts *options) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("dialing %s: %w", addr, err)
	}
	defer conn.Close()

	if opts.mode == modeSendfile {
		return sendFile(conn, opts.file, opts.size)
	}

	size := opts.size

	buf := make([]byte, bufferSize)
	for i := range buf {
		buf[i] = byte(i * 7)
	}

	var closeWrite func() error

	if config != nil {
		tlsConn := tls.Client(conn, config)
		conn = tlsConn
		closeWrite = tlsConn.CloseWrite
	} else {
		tcpConn, ok := conn.(*net.TCPConn)
		if !ok {
			return fmt.Errorf("dialing %s: not a TCP connection", addr)
		}

		closeWrite = tcpConn.CloseWrite
	}

	for remaining := size; remaining > 0; {
		chunk := buf[:min(remaining, int64(len(buf)))]

		n, writeErr := conn.Write(chunk)
		if writeErr != nil {
			return fmt.Errorf("sending: %w", writeErr)
		}

		remaining -= int64(n)
	}

	return finishSending(conn, closeWrite)
}

// finishSending half-closes conn and waits for the receiver to close, so that the last bytes
// are not cut short.
func finishSending(conn net.Conn, closeWrite func() error) error {
	if err := closeWrite(); err != nil {
		return fmt.Errorf("closing the sending side: %w", err)
	}

	if _, err := io.Copy(io.Discard, conn); err != nil {
		return fmt.Errorf("waiting for the receiver: %w", err)
	}

	return nil
}

// sendFile sends the first size bytes of the file name to conn: io.Copy from an *os.File to a
// TCP connection, which Go hands to sendfile.
func sendFile(conn net.Conn, name string, size int64) error {
	tcpConn, ok := conn.(*net.TCPConn)
	if !ok {
		return errors.New("sending a file: not a TCP connection")
	}

	file, err := os.Open(name) //nolint:gosec // G703: -file names the file to send, by design
	if err != nil {
		return fmt.Errorf("opening the file to send: %w", err)
	}
	defer file.Close()

	n, err := tcpConn.ReadFrom(io.LimitReader(file, size))
	if err != nil {
		return fmt.Errorf("sending %s: %w", name, err)
	}

	if n != size {
		return fmt.Errorf("sending %s: it has %d bytes, not %d", name, n, size)
	}

	return finishSending(conn, tcpConn.CloseWrite)
}

// tlsConfigs returns a server configuration with a new self-signed ECDSA P-256 certificate for
// 127.0.0.1, and a client configuration that trusts it; both TLS 1.3 only.
func tlsConfigs() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a key: %w", err)
	}

	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ceiling"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating a certificate: %w", err)
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing the certificate: %w", err)
	}

	roots := x509.NewCertPool()
	roots.AddCert(cert)

	server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
	}
	client = &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    roots,
		ServerName: "127.0.0.1",
	}

	return server, client, nil
}
