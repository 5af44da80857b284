package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// logQueueWait is how long a line that finds its log's queue full waits for room before it is
// dropped: a session never waits longer on a slow disk.
const logQueueWait = 100 * time.Millisecond

// logFileMode is the mode of a log file the server creates: who did what is not for every user
// of the machine.
const logFileMode = 0o640

var errLogClosed = errors.New("log closed")

// logFile appends lines to a file from a goroutine of its own, so that the sessions that log
// never wait on the disk: write queues the line and returns. The queue is bounded; a line that
// finds it full waits up to logQueueWait, then is dropped and counted, and the writer logs how
// many were dropped once it catches up. The file is opened with O_APPEND, created with mode
// 0640, and opened again by reopen, for log rotation. close writes what is queued and closes
// the file.
type logFile struct {
	name   string
	logger log.Logger

	lines   chan []byte
	reopens chan chan error // each reopen's request, answered with its error
	stop    chan struct{}   // closed by close
	done    chan struct{}   // closed when the writer has closed the file
	dropped atomic.Int64    // lines dropped, queue full

	// Owned by the writer goroutine.
	file     *os.File
	buffered *bufio.Writer
	reported int64 // dropped lines already logged
	failing  bool  // the last write failed; logged once until a write succeeds
}

// openLogFile opens name for appending, creating it, and starts its writer with room for queue
// lines.
func openLogFile(name string, queue int, logger log.Logger) (*logFile, error) {
	file, err := openAppend(name)
	if err != nil {
		return nil, err
	}

	f := &logFile{
		name:     name,
		logger:   log.With(logger, "file", name),
		lines:    make(chan []byte, queue),
		reopens:  make(chan chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		file:     file,
		buffered: bufio.NewWriter(file),
	}

	go f.run()

	return f, nil
}

// openAppend opens name to append to it, creating it with logFileMode.
func openAppend(name string) (*os.File, error) {
	file, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, logFileMode)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}

	return file, nil
}

// write queues line, which ends with a newline, waiting up to logQueueWait for room; it drops
// the line if there is none, or once the log is closed.
func (f *logFile) write(line []byte) {
	select {
	case <-f.stop:
		f.dropped.Add(1)

		return
	default:
	}

	select {
	case f.lines <- line:
		return
	default:
	}

	timer := time.NewTimer(logQueueWait)
	defer timer.Stop()

	select {
	case f.lines <- line:
	case <-f.stop:
		f.dropped.Add(1)
	case <-timer.C:
		f.dropped.Add(1)
	}
}

// reopen has the writer finish the lines it has, close the file and open its name again: after
// a rotation (mv log log.1), the lines after it go to a new file. If the name cannot be opened,
// the writer goes on with the file it had, and the error is returned.
func (f *logFile) reopen() error {
	answer := make(chan error, 1)

	select {
	case f.reopens <- answer:
		return <-answer
	case <-f.done:
		return errLogClosed
	}
}

// close writes the lines queued, closes the file and waits for the writer to end.
func (f *logFile) close() {
	close(f.stop)
	<-f.done
}

// run is the writer goroutine: it writes lines as they come, flushing whenever the queue is
// empty, so a burst is written in few system calls and a quiet log is always on disk.
func (f *logFile) run() {
	defer close(f.done)

	for {
		select {
		case line := <-f.lines:
			f.put(line)

			if len(f.lines) == 0 {
				f.flush()
			}
		case answer := <-f.reopens:
			// The lines queued before the reopen belong to the old file.
			f.drain()
			answer <- f.openAgain()
		case <-f.stop:
			f.drain()

			if err := f.file.Close(); err != nil {
				_ = level.Error(f.logger).Log("msg", "closing log", "err", err)
			}

			return
		}
	}
}

// drain writes the lines still queued and flushes them.
func (f *logFile) drain() {
	for {
		select {
		case line := <-f.lines:
			f.put(line)
		default:
			f.flush()

			return
		}
	}
}

// put buffers one line.
func (f *logFile) put(line []byte) {
	_, _ = f.buffered.Write(line) // a failure stays in the writer, and flush reports it
}

// flush writes the buffered lines to the file, and logs what went wrong: lines dropped since
// the last report, a write that failed (once, until one succeeds again).
func (f *logFile) flush() {
	err := f.buffered.Flush()

	switch {
	case err != nil && !f.failing:
		_ = level.Error(f.logger).Log("msg", "writing log", "err", err)
	case err == nil && f.failing:
		_ = level.Info(f.logger).Log("msg", "writing log again")
	}

	f.failing = err != nil
	if err != nil {
		// The lines in the buffer are lost; a new buffer lets the next ones try again.
		f.buffered = bufio.NewWriter(f.file)
	}

	if dropped := f.dropped.Load(); dropped > f.reported {
		_ = level.Warn(f.logger).Log("msg", "log lines dropped, the disk was too slow",
			"dropped", dropped-f.reported, "total", dropped)
		f.reported = dropped
	}
}

// openAgain replaces the current file, flushed, by a new one of the same name.
func (f *logFile) openAgain() error {
	file, err := openAppend(f.name)
	if err != nil {
		return err
	}

	_ = f.file.Close() // drained and flushed: nothing is left to lose
	f.file = file
	f.buffered = bufio.NewWriter(file)

	return nil
}
