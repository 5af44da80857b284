package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loginWorkers is how many sessions log in at once when many are needed: enough that servers
// which delay each login (pure-ftpd sleeps before answering PASS) do not make the start slow.
const loginWorkers = 16

// errIdleLost reports an idle session that the server did not keep.
var errIdleLost = errors.New("idle session lost")

// share is what one connection did: its units of work (bytes or files) and the time from the
// common start to its end.
type share struct {
	units   float64
	elapsed time.Duration
}

// runConns runs retr, stor, small or smallstor over opts.conns connections at once, beside
// opts.idle idle sessions, and returns the aggregate figure.
func runConns(opts *options, stderr io.Writer) (string, error) {
	if opts.conns < 1 {
		// An options value built without parseFlags has no -conns: one connection.
		one := *opts
		one.conns = 1
		opts = &one
	}

	idle, err := loginMany(opts, opts.idle, false)
	defer closeAll(idle)

	if err != nil {
		return "", fmt.Errorf("idle sessions: %w", err)
	}

	if opts.pause != nil {
		if pauseErr := opts.pause(); pauseErr != nil {
			return "", pauseErr
		}
	}

	busy, err := loginMany(opts, opts.conns, true)
	defer closeAll(busy)

	if err != nil {
		return "", err
	}

	block, err := uploadBlock(opts)
	if err != nil {
		return "", err
	}

	shares := make([]share, len(busy))
	errs := make([]error, len(busy))

	var wg sync.WaitGroup

	start := time.Now()

	for k, sess := range busy {
		wg.Go(func() {
			shares[k].units, errs[k] = work(sess, opts, k, block)
			shares[k].elapsed = time.Since(start)
		})
	}

	wg.Wait()

	elapsed := time.Since(start)

	if err := errors.Join(errs...); err != nil {
		return "", err
	}

	// The idle sessions must still be there, or the run measured fewer of them than it says.
	if err := noopAll(idle); err != nil {
		return "", err
	}

	if opts.verbose {
		busy[0].describe(stderr)
	}

	if opts.conns > 1 {
		fmt.Fprintln(stderr, spread(opts, shares))
	}

	var total float64
	for _, sh := range shares {
		total += sh.units
	}

	return rate(opts.scenario, total, elapsed), nil
}

// loginMany logs in n sessions, loginWorkers at a time, with TYPE I when binary is set. It
// returns the sessions it opened, also on an error, for the caller to close.
func loginMany(opts *options, n int, binary bool) ([]*session, error) {
	sessions := make([]*session, n)
	errs := make([]error, n)
	next := make(chan int)

	var wg sync.WaitGroup

	for range min(n, loginWorkers) {
		wg.Go(func() {
			for i := range next {
				sess, err := login(opts)
				if err == nil && binary {
					err = sess.cmd("TYPE I", 200)
				}

				sessions[i], errs[i] = sess, err
			}
		})
	}

	for i := range n {
		next <- i
	}

	close(next)
	wg.Wait()

	opened := slices.DeleteFunc(sessions, func(s *session) bool { return s == nil })

	return opened, errors.Join(errs...)
}

// closeAll ends sessions, loginWorkers at a time.
func closeAll(sessions []*session) {
	next := make(chan *session)

	var wg sync.WaitGroup

	for range min(len(sessions), loginWorkers) {
		wg.Go(func() {
			for sess := range next {
				sess.close()
			}
		})
	}

	for _, sess := range sessions {
		next <- sess
	}

	close(next)
	wg.Wait()
}

// noopAll sends NOOP on every session in turn, and checks that each answers 200.
func noopAll(sessions []*session) error {
	for i, sess := range sessions {
		if err := sess.cmd("NOOP", 200); err != nil {
			return fmt.Errorf("%w: session %d of %d: %w", errIdleLost, i+1, len(sessions), err)
		}
	}

	return nil
}

// uploadBlock returns the bytes that uploads repeat: random, so that no layer could shrink them.
func uploadBlock(opts *options) ([]byte, error) {
	if opts.scenario != scenarioSTOR && opts.scenario != scenarioSmallSTOR {
		return nil, nil
	}

	block := make([]byte, min(opts.size, bufferSize))
	if _, err := rand.Read(block); err != nil {
		return nil, fmt.Errorf("random bytes: %w", err)
	}

	return block, nil
}

// work does the share of connection k (from 0) and returns its units: bytes for retr and stor,
// files for small and smallstor.
func work(sess *session, opts *options, k int, block []byte) (float64, error) {
	switch opts.scenario {
	case scenarioRETR:
		return sess.fetch(opts.path, opts.size)
	case scenarioSTOR:
		name := opts.path
		if strings.Contains(name, "%") {
			name = fmt.Sprintf(name, k+1)
		}

		if err := sess.upload("STOR "+name, block, opts.size); err != nil {
			return 0, err
		}

		return float64(opts.size), nil
	}

	var files float64

	// File i (from 1) goes to connection (i-1) mod conns.
	for i := k + 1; i <= opts.count; i += opts.conns {
		name := fmt.Sprintf(opts.path, i)

		var err error
		if opts.scenario == scenarioSmall {
			_, err = sess.fetch(name, opts.size)
		} else {
			err = sess.upload("STOR "+name, block, opts.size)
		}

		if err != nil {
			return files, err
		}

		files++
	}

	return files, nil
}

// fetch downloads name and checks that it has size bytes.
func (s *session) fetch(name string, size int64) (float64, error) {
	n, err := s.download("RETR " + name)
	if err != nil {
		return 0, err
	}

	if n != size {
		return 0, fmt.Errorf("%w: RETR %s: %d bytes, not %d", errCount, name, n, size)
	}

	return float64(n), nil
}

// rate formats units per elapsed time: MB/s (10^6 bytes) for retr and stor, files per second
// for the others.
func rate(scenario string, units float64, elapsed time.Duration) string {
	perSecond := units / elapsed.Seconds()
	if scenario == scenarioRETR || scenario == scenarioSTOR {
		return strconv.FormatFloat(perSecond/1e6, 'f', 1, 64)
	}

	return strconv.FormatFloat(perSecond, 'f', 0, 64)
}

// spread describes the connections' own rates: the slowest, the median and the fastest.
func spread(opts *options, shares []share) string {
	rates := make([]float64, len(shares))
	for i, sh := range shares {
		rates[i] = sh.units / sh.elapsed.Seconds()
	}

	slices.Sort(rates)

	unit, scale := "files/s", 1.0
	if opts.scenario == scenarioRETR || opts.scenario == scenarioSTOR {
		unit, scale = "MB/s", 1e6
	}

	format := func(v float64) string { return strconv.FormatFloat(v/scale, 'f', 1, 64) }

	return fmt.Sprintf("ftpload: %d connections, each: min %s, median %s, max %s %s",
		len(rates), format(rates[0]), format(rates[(len(rates)-1)/2]), format(rates[len(rates)-1]), unit)
}

// waitForLine prints "idle" on out and waits for a line (or the end) of in.
func waitForLine(out io.Writer, in io.Reader) error {
	if _, err := fmt.Fprintln(out, "idle"); err != nil {
		return fmt.Errorf("writing the idle line: %w", err)
	}

	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("waiting for the go-ahead: %w", err)
	}

	return nil
}
