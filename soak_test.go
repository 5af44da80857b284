package ftpserver

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Soak test bounds. Each client runs sessions one after the other until the duration is over;
// the whole test ends within the duration plus soakGrace, or it fails.
const (
	soakDefaultClients  = 200
	soakDefaultDuration = 60 * time.Second
	soakTimeout         = 30 * time.Second // one command or transfer of a client
	soakGrace           = 60 * time.Second // after the duration, for the last operations
	soakSharedFiles     = 4
)

// TestSoak runs many clients at once against one server for a while, each doing a random mix
// of uploads (plain and under TLS, own files and files shared by all), downloads, listings,
// ABORs of uploads and downloads, uploads cut by a TCP reset and abrupt disconnects, with
// AtomicUploads on. At the end every file holds exactly the content of one upload that may
// have landed (never an interrupted one, never a mix), no temporary upload file is left, and
// the test server's check finds no goroutine left behind.
//
// It runs with FTPKIT_SOAK=1 or in CI (CI=true), never with -short. FTPKIT_SOAK_DURATION (a
// Go duration, default 60s) and FTPKIT_SOAK_CLIENTS (default 200) size it.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}

	if os.Getenv("FTPKIT_SOAK") != "1" && os.Getenv("CI") != "true" {
		t.Skip("soak test: set FTPKIT_SOAK=1 to run it (it runs by itself when CI=true)")
	}

	duration := soakEnv(t, "FTPKIT_SOAK_DURATION", soakDefaultDuration, time.ParseDuration)
	clients := soakEnv(t, "FTPKIT_SOAK_CLIENTS", soakDefaultClients, strconv.Atoi)

	s := newTestServer(t, withOsFs(t), withTLS(t), withSettings(func(settings *Settings) {
		settings.AtomicUploads = true
	}))

	soak := newSoak(t, s, clients, duration)
	start := time.Now()
	peak := sampleMemory(time.Second)
	soak.run(clients)
	elapsed := time.Since(start)
	peakHeap, peakGoroutines := peak()

	// Stop waits for every session, so each upload has been renamed or removed.
	require.NoError(t, s.Stop())

	soak.verify()
	soak.report(elapsed, peakHeap, peakGoroutines)
	assert.Empty(t, soak.errorSamples(), "unexpected errors")
	// Memory follows the clients, not the bytes moved: at most two transfer buffers and a
	// session for each, plus the test's own working set.
	assert.Less(t, peakHeap, uint64(clients)*(2*uploadChunk)+64<<20, "heap at peak") //nolint:gosec // clients > 0
	assert.Positive(t, soak.uploads.Load(), "no upload completed")
}

// soakEnv reads an environment variable with parse, or returns def when it is unset.
func soakEnv[T any](t *testing.T, name string, def T, parse func(string) (T, error)) T {
	t.Helper()

	text := os.Getenv(name)
	if text == "" {
		return def
	}

	value, err := parse(text)
	require.NoError(t, err, "%s=%q", name, text)

	return value
}

// soakContent is the content of one upload: size bytes of a ChaCha8 stream, so that it is
// made again instead of kept in memory.
type soakContent struct {
	seed uint64
	size int64
	hash string // SHA-256, hex
}

func newSoakContent(rng *rand.Rand) soakContent {
	size := rng.Int64N(64 << 10) // mostly small files
	if rng.IntN(5) == 0 {
		size = rng.Int64N(1 << 20)
	}

	c := soakContent{seed: rng.Uint64(), size: size}
	hash := sha256.New()
	_, _ = io.Copy(hash, c.reader())
	c.hash = hex.EncodeToString(hash.Sum(nil))

	return c
}

func (c soakContent) reader() io.Reader {
	var key [32]byte

	binary.LittleEndian.PutUint64(key[:], c.seed)

	return io.LimitReader(rand.NewChaCha8(key), c.size)
}

// soakFile is what a file may hold: the hashes of the uploads that may have landed last ("" is
// no file). A client's own files are written by it alone, one upload after the other, so a
// completed upload leaves one candidate; a shared file keeps every upload ever tried.
type soakFile struct {
	shared     bool
	candidates map[string]bool
	confirmed  bool // an upload completed: the file exists
}

// soak is the state shared by the clients of TestSoak.
type soak struct {
	t        *testing.T
	s        *testServer
	addr     string
	deadline time.Time
	shared   []string

	ops, uploads, downloads, listings, aborts, resets, tlsSessions, sessions atomic.Int64
	bytesUp, bytesDown                                                       atomic.Int64

	mu    sync.Mutex
	errs  []string
	nErrs int
	files map[string]*soakFile
	conns map[net.Conn]struct{} // open control connections, closed by the watchdog
}

func newSoak(t *testing.T, s *testServer, clients int, duration time.Duration) *soak {
	t.Helper()

	soak := &soak{
		t: t, s: s, addr: s.Addr(), deadline: time.Now().Add(duration),
		files: make(map[string]*soakFile), conns: make(map[net.Conn]struct{}),
	}

	require.NoError(t, s.driver.fs.MkdirAll("/shared", 0o755))

	for i := range soakSharedFiles {
		name := fmt.Sprintf("/shared/s%d.bin", i)
		soak.shared = append(soak.shared, name)
		soak.files[name] = &soakFile{shared: true, candidates: map[string]bool{"": true}}
	}

	for w := range clients {
		require.NoError(t, s.driver.fs.MkdirAll(fmt.Sprintf("/c%d", w), 0o755))

		for _, name := range soak.ownFiles(w) {
			soak.files[name] = &soakFile{candidates: map[string]bool{"": true}}
		}
	}

	return soak
}

func (k *soak) ownFiles(w int) []string {
	return []string{fmt.Sprintf("/c%d/a.bin", w), fmt.Sprintf("/c%d/b.bin", w)}
}

// run starts the clients and waits for them, closing every connection still open when the
// grace period is over.
func (k *soak) run(clients int) {
	var wg sync.WaitGroup

	for w := range clients {
		wg.Go(func() { k.client(w) })
	}

	finished := make(chan struct{})

	go func() {
		wg.Wait()
		close(finished)
	}()

	watchdog := time.NewTimer(time.Until(k.deadline) + soakGrace)
	defer watchdog.Stop()

	select {
	case <-finished:
	case <-watchdog.C:
		k.fail("watchdog: clients still running %s after the end, closing them", soakGrace)
		k.closeAll()
		<-finished
	}
}

func (k *soak) running() bool {
	return time.Now().Before(k.deadline)
}

// client runs sessions until the deadline: mostly jlaffaye/ftp, some under TLS, and raw
// sessions for what a library does not do (ABOR, resets).
func (k *soak) client(w int) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano()))) //nolint:gosec // test data

	for k.running() {
		k.sessions.Add(1)

		switch r := rng.IntN(10); {
		case r < 5:
			k.libSession(w, rng, false)
		case r < 7:
			k.tlsSessions.Add(1)
			k.libSession(w, rng, true)
		default:
			k.rawSession(w, rng)
		}
	}
}

// fail records an unexpected error.
func (k *soak) fail(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()

	k.nErrs++
	if len(k.errs) < 20 {
		k.errs = append(k.errs, fmt.Sprintf(format, args...))
	}
}

func (k *soak) errorSamples() []string {
	k.mu.Lock()
	defer k.mu.Unlock()

	return append([]string(nil), k.errs...)
}

func (k *soak) track(conn net.Conn) {
	k.mu.Lock()
	defer k.mu.Unlock()

	k.conns[conn] = struct{}{}
}

func (k *soak) untrack(conn net.Conn) {
	k.mu.Lock()
	defer k.mu.Unlock()

	delete(k.conns, conn)
}

func (k *soak) closeAll() {
	k.mu.Lock()
	defer k.mu.Unlock()

	for conn := range k.conns {
		_ = conn.Close()
	}
}

// attempt records an upload about to start: from now on the file may hold it.
func (k *soak) attempt(name string, content soakContent) {
	k.mu.Lock()
	defer k.mu.Unlock()

	k.files[name].candidates[content.hash] = true
}

// completed records an upload the server confirmed with 226.
func (k *soak) completed(name string, content soakContent) {
	k.uploads.Add(1)
	k.bytesUp.Add(content.size)

	k.mu.Lock()
	defer k.mu.Unlock()

	f := k.files[name]
	f.confirmed = true

	if !f.shared {
		f.candidates = map[string]bool{content.hash: true}
	}
}

// check tells whether hash is a content name may hold.
func (k *soak) check(name, hash string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()

	return k.files[name].candidates[hash]
}

func (k *soak) confirmed(name string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()

	return k.files[name].confirmed
}

// libSession is one jlaffaye/ftp session of a few random operations, ended by QUIT or, one
// time in five, by a TCP reset of the control connection.
func (k *soak) libSession(w int, rng *rand.Rand, useTLS bool) {
	var (
		control   net.Conn
		tlsConfig *tls.Config
	)

	// The dial function keeps the control connection, to reset it, and dials the data
	// connections as jlaffaye/ftp would.
	options := []ftp.DialOption{ftp.DialWithTimeout(soakTimeout), ftp.DialWithDialFunc(
		func(network, address string) (net.Conn, error) {
			conn, err := net.DialTimeout(network, address, soakTimeout)
			switch {
			case err != nil:
				return nil, err
			case control == nil:
				control = conn
				k.track(conn)
			case tlsConfig != nil:
				return tls.Client(conn, tlsConfig), nil
			}

			return conn, nil
		})}

	if useTLS {
		tlsConfig = clientTLSConfig()
		options = append(options, ftp.DialWithExplicitTLS(tlsConfig))
	}

	c, err := ftp.Dial(k.addr, options...)
	if control != nil {
		defer k.untrack(control)
	}

	if err != nil {
		k.fail("client %d: dial (TLS %t): %v", w, useTLS, err)

		return
	}

	if err := c.Login(testUser, testPass); err != nil {
		k.fail("client %d: login: %v", w, err)
		_ = control.Close()

		return
	}

	own := k.ownFiles(w)

	for range 1 + rng.IntN(8) {
		if !k.running() {
			break
		}

		k.ops.Add(1)

		switch r := rng.IntN(20); {
		case r < 7:
			k.libUpload(c, own[rng.IntN(len(own))], rng)
		case r < 9:
			k.libUpload(c, k.shared[rng.IntN(len(k.shared))], rng)
		case r < 13:
			k.libDownload(c, own[rng.IntN(len(own))])
		case r < 15:
			k.libDownload(c, k.shared[rng.IntN(len(k.shared))])
		case r < 19:
			k.libList(c, w, rng.IntN(2) == 0)
		default:
			if err := c.NoOp(); err != nil {
				k.fail("NOOP: %v", err)
			}
		}
	}

	if rng.IntN(5) == 0 {
		k.resets.Add(1)
		resetTCP(control)

		return
	}

	if err := c.Quit(); err != nil {
		k.fail("QUIT: %v", err)
	}
}

func (k *soak) libUpload(c *ftp.ServerConn, name string, rng *rand.Rand) {
	content := newSoakContent(rng)
	k.attempt(name, content)

	if err := c.Stor(name, content.reader()); err != nil {
		k.fail("STOR %s: %v", name, err)

		return
	}

	k.completed(name, content)
}

func (k *soak) libDownload(c *ftp.ServerConn, name string) {
	if !k.confirmed(name) {
		return
	}

	resp, err := c.Retr(name)
	if err != nil {
		k.fail("RETR %s: %v", name, err)

		return
	}

	hash := sha256.New()
	n, err := io.Copy(hash, resp)

	if closeErr := resp.Close(); err == nil {
		err = closeErr
	}

	if err != nil {
		k.fail("RETR %s: %v", name, err)

		return
	}

	k.downloads.Add(1)
	k.bytesDown.Add(n)

	if sum := hex.EncodeToString(hash.Sum(nil)); !k.check(name, sum) {
		k.fail("RETR %s: %d bytes that no upload sent", name, n)
	}
}

// libList lists the client's own directory, where no temporary upload file may ever be seen
// (the client's uploads there are over), or the shared one.
func (k *soak) libList(c *ftp.ServerConn, w int, shared bool) {
	dir := fmt.Sprintf("/c%d", w)
	if shared {
		dir = "/shared"
	}

	entries, err := c.List(dir)
	if err != nil {
		k.fail("LIST %s: %v", dir, err)

		return
	}

	k.listings.Add(1)

	if shared {
		return
	}

	for _, entry := range entries {
		if strings.HasPrefix(entry.Name, AtomicUploadPrefix) {
			k.fail("LIST %s: temporary file %s after the uploads ended", dir, entry.Name)
		}
	}
}

// resetTCP closes a connection with a TCP reset, as a crashed client does.
func resetTCP(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}

	_ = conn.Close()
}

// soakRaw is a control connection driven line by line, for ABOR and resets.
type soakRaw struct {
	k    *soak
	conn net.Conn
	text *textproto.Conn
}

var errSoakReply = errors.New("unexpected reply")

// cmd sends a command and reads its reply, which must have code want (0: any).
func (r *soakRaw) cmd(want int, line string) (int, string, error) {
	_ = r.conn.SetDeadline(time.Now().Add(soakTimeout))

	if err := r.text.PrintfLine("%s", line); err != nil {
		return 0, "", fmt.Errorf("%s: %w", line, err)
	}

	return r.expect(want, line)
}

// expect reads one reply, which must have code want (0: any).
func (r *soakRaw) expect(want int, what string) (int, string, error) {
	_ = r.conn.SetDeadline(time.Now().Add(soakTimeout))

	code, msg, err := r.text.ReadResponse(0)
	if err != nil {
		return code, msg, fmt.Errorf("%s: %w", what, err)
	}

	if want != 0 && code != want {
		return code, msg, fmt.Errorf("%w to %s: %d %s, want %d", errSoakReply, what, code, msg, want)
	}

	return code, msg, nil
}

// pasv opens a passive data connection.
func (r *soakRaw) pasv() (net.Conn, error) {
	_, msg, err := r.cmd(StatusEnteringPASV, "PASV")
	if err != nil {
		return nil, err
	}

	start, end := strings.IndexByte(msg, '('), strings.IndexByte(msg, ')')
	if start < 0 || end < start {
		return nil, fmt.Errorf("%w: PASV %q", errSoakReply, msg)
	}

	addr, err := parsePORTArg(msg[start+1 : end])
	if err != nil {
		return nil, err
	}

	conn, err := net.DialTimeout("tcp", addr.String(), soakTimeout)
	if err != nil {
		return nil, fmt.Errorf("data connection: %w", err)
	}

	_ = conn.SetDeadline(time.Now().Add(soakTimeout))

	return conn, nil
}

// rawSession logs in line by line and runs a few operations no library offers: uploads cut
// by a reset, ABOR of uploads and downloads; it ends with QUIT, a reset, or a reset in the
// middle of an upload.
func (k *soak) rawSession(w int, rng *rand.Rand) {
	conn, err := net.DialTimeout("tcp", k.addr, soakTimeout)
	if err != nil {
		k.fail("client %d: dial: %v", w, err)

		return
	}

	k.track(conn)
	defer k.untrack(conn)

	r := &soakRaw{k: k, conn: conn, text: textproto.NewConn(conn)}
	defer r.text.Close()

	if err := r.login(); err != nil {
		k.fail("client %d: raw login: %v", w, err)

		return
	}

	own := k.ownFiles(w)

	for range 1 + rng.IntN(5) {
		if !k.running() {
			break
		}

		k.ops.Add(1)

		name := own[rng.IntN(len(own))]

		var opErr error

		switch rng.IntN(4) {
		case 0:
			opErr = r.storeReset(name, rng, false)
		case 1:
			opErr = r.storeAbort(name, rng)
		case 2:
			opErr = r.retrAbort(name)
		default:
			opErr = r.store(name, rng)
		}

		if opErr != nil {
			k.fail("client %d: %v", w, opErr)

			return
		}
	}

	switch rng.IntN(4) {
	case 0:
		k.resets.Add(1)
		resetTCP(conn)
	case 1:
		// Gone in the middle of an upload: nothing of it may land.
		_ = r.storeReset(own[0], rng, true)
	default:
		if _, _, err := r.cmd(StatusClosingControlConn, "QUIT"); err != nil {
			k.fail("client %d: %v", w, err)
		}
	}
}

func (r *soakRaw) login() error {
	if _, _, err := r.expect(StatusServiceReady, "greeting"); err != nil {
		return err
	}

	for _, step := range []struct {
		line string
		code int
	}{
		{"USER " + testUser, StatusUserOK}, {"PASS " + testPass, StatusUserLoggedIn}, {"TYPE I", StatusOK},
	} {
		if _, _, err := r.cmd(step.code, step.line); err != nil {
			return err
		}
	}

	return nil
}

// startStore opens a data connection, sends STOR and writes a random part of content.
func (r *soakRaw) startStore(name string, content soakContent, rng *rand.Rand) (net.Conn, error) {
	data, err := r.pasv()
	if err != nil {
		return nil, err
	}

	if _, _, err = r.cmd(StatusFileStatusOK, "STOR "+name); err != nil {
		_ = data.Close()

		return nil, err
	}

	n, err := io.CopyN(data, content.reader(), rng.Int64N(content.size+1))
	r.k.bytesUp.Add(n)

	if err != nil {
		resetTCP(data)

		return nil, fmt.Errorf("STOR %s: writing: %w", name, err)
	}

	return data, nil
}

// storeReset starts an upload and resets its data connection: the file must keep what it
// had. With controlToo the control connection is reset first, ending the session.
func (r *soakRaw) storeReset(name string, rng *rand.Rand, controlToo bool) error {
	r.k.resets.Add(1)

	data, err := r.startStore(name, newSoakContent(rng), rng)
	if err != nil {
		return err
	}

	if controlToo {
		resetTCP(r.conn)
		resetTCP(data)

		return nil
	}

	resetTCP(data)

	_, _, err = r.expect(StatusTransferAborted, "STOR "+name+" reset")

	return err
}

// storeAbort starts an upload and aborts it: 426 for the STOR, then 226 for the ABOR (RFC 959
// 4.1.3); the file keeps what it had.
func (r *soakRaw) storeAbort(name string, rng *rand.Rand) error {
	r.k.aborts.Add(1)

	data, err := r.startStore(name, newSoakContent(rng), rng)
	if err != nil {
		return err
	}

	defer data.Close()

	if _, _, err = r.cmd(StatusTransferAborted, "ABOR"); err != nil {
		return fmt.Errorf("STOR %s then %w", name, err)
	}

	_, _, err = r.expect(StatusClosingDataConn, "ABOR")

	return err
}

// retrAbort starts a download, reads nothing and aborts it; the download may have ended
// already (226 then 226) or not (426 then 226).
func (r *soakRaw) retrAbort(name string) error {
	if !r.k.confirmed(name) {
		return nil
	}

	r.k.aborts.Add(1)

	data, err := r.pasv()
	if err != nil {
		return err
	}

	defer data.Close()

	if _, _, err = r.cmd(StatusFileStatusOK, "RETR "+name); err != nil {
		return err
	}

	code, msg, err := r.cmd(0, "ABOR")
	if err != nil {
		return err
	}

	if code != StatusTransferAborted && code != StatusClosingDataConn {
		return fmt.Errorf("%w to RETR %s then ABOR: %d %s", errSoakReply, name, code, msg)
	}

	_, _, err = r.expect(StatusClosingDataConn, "ABOR")

	return err
}

// store uploads a whole file.
func (r *soakRaw) store(name string, rng *rand.Rand) error {
	content := newSoakContent(rng)

	data, err := r.pasv()
	if err != nil {
		return err
	}

	r.k.attempt(name, content)

	if _, _, err = r.cmd(StatusFileStatusOK, "STOR "+name); err != nil {
		_ = data.Close()

		return err
	}

	if _, err := io.Copy(data, content.reader()); err != nil {
		resetTCP(data)

		return fmt.Errorf("STOR %s: writing: %w", name, err)
	}

	if err := data.Close(); err != nil {
		return fmt.Errorf("STOR %s: closing: %w", name, err)
	}

	if _, _, err := r.expect(StatusClosingDataConn, "STOR "+name); err != nil {
		return err
	}

	r.k.completed(name, content)

	return nil
}

// verify checks every file against the uploads that may have landed, and that no temporary
// upload file is left anywhere.
func (k *soak) verify() {
	t := k.t
	fs := k.s.driver.fs

	k.mu.Lock()
	defer k.mu.Unlock()

	for name, f := range k.files {
		hash := ""

		if data, err := afero.ReadFile(fs, name); err == nil {
			sum := sha256.Sum256(data)
			hash = hex.EncodeToString(sum[:])
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v", name, err)

			continue
		}

		assert.True(t, f.candidates[hash], "%s holds %s, the content of no upload that may have landed", name, hash)
	}

	err := afero.Walk(fs, "/", func(p string, _ os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(p[strings.LastIndexByte(p, '/')+1:], AtomicUploadPrefix) {
			t.Errorf("temporary upload file left: %s", p)
		}

		return err
	})
	require.NoError(t, err)
}

// sampleMemory samples the heap in use and the goroutines every interval until the function
// it returns is called, which returns their peaks.
func sampleMemory(interval time.Duration) func() (uint64, int) {
	var (
		peakHeap       uint64
		peakGoroutines int
	)

	stop, done := make(chan struct{}), make(chan struct{})

	go func() {
		defer close(done)

		ticker := time.NewTicker(interval)
		defer ticker.Stop()

		var mem runtime.MemStats

		for {
			runtime.ReadMemStats(&mem)
			peakHeap = max(peakHeap, mem.HeapInuse)
			peakGoroutines = max(peakGoroutines, runtime.NumGoroutine())

			select {
			case <-ticker.C:
			case <-stop:
				return
			}
		}
	}()

	return func() (uint64, int) {
		close(stop)
		<-done

		return peakHeap, peakGoroutines
	}
}

// report prints the figures of the run.
func (k *soak) report(elapsed time.Duration, peakHeap uint64, peakGoroutines int) {
	runtime.GC()

	var mem runtime.MemStats

	runtime.ReadMemStats(&mem)

	k.mu.Lock()
	nErrs := k.nErrs
	k.mu.Unlock()

	k.t.Logf("soak: %s, %d sessions (%d TLS), %d operations: %d uploads, %d downloads, %d listings, "+
		"%d ABORs, %d resets; %.1f MB up, %.1f MB down; %d unexpected errors; "+
		"heap in use %.1f MB at peak, %.1f MB after; %d goroutines at peak, %d after",
		elapsed.Round(time.Millisecond), k.sessions.Load(), k.tlsSessions.Load(), k.ops.Load(), k.uploads.Load(),
		k.downloads.Load(), k.listings.Load(), k.aborts.Load(), k.resets.Load(),
		float64(k.bytesUp.Load())/1e6, float64(k.bytesDown.Load())/1e6, nErrs,
		float64(peakHeap)/1e6, float64(mem.HeapInuse)/1e6, peakGoroutines, runtime.NumGoroutine())

	for _, sample := range k.errorSamples() {
		k.t.Log("soak error:", sample)
	}
}
