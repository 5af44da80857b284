package ftpserver

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pipeData is a transferHandler whose connection is one end of a net.Pipe.
type pipeData struct {
	conn net.Conn
	held heldConn
}

func (p *pipeData) Open() (net.Conn, error) { return p.held.keep(p.conn) }

func (p *pipeData) Close() error { return p.held.close(func() error { return nil }) }

func (p *pipeData) Channel() DataChannel { return DataChannelActive }

// channelRecorder is a data channel's session as the channel sees it: replies and events.
type channelRecorder struct {
	mu      sync.Mutex
	replies []string
	events  []Event
	final   chan string // each reply of 2xx–5xx other than 150
}

func newChannelRecorder() *channelRecorder {
	return &channelRecorder{final: make(chan string, 4)}
}

func (r *channelRecorder) reply(code int, text string) {
	line := replyLine(code, text)

	r.mu.Lock()
	r.replies = append(r.replies, line)
	r.mu.Unlock()

	if code != StatusFileStatusOK {
		r.final <- line
	}
}

func (r *channelRecorder) hooks() dataHooks {
	return dataHooks{
		reply:      r.reply,
		replyError: func(code int, what string, err error) { r.reply(code, what+": "+err.Error()) },
		event: func(e Event) {
			r.mu.Lock()
			defer r.mu.Unlock()

			r.events = append(r.events, e)
		},
	}
}

func replyLine(code int, text string) string {
	return string(appendReply(nil, code, text))
}

// newTestDataChannel is a data channel over default settings, reporting to a recorder.
func newTestDataChannel(t *testing.T) (*dataChannel, *channelRecorder) {
	t.Helper()

	settings := (&Settings{}).withDefaults()
	r := newChannelRecorder()
	env := dataEnv{
		settings: settings, logger: log.NewNopLogger(), buffers: newCopyBuffers(),
		zeroCopy: platformCopy, sockets: platformSockets,
	}

	return newDataChannel(env, r.hooks()), r
}

// newPipedDataChannel returns a data channel prepared with the server's end of a pipe, and the
// client's end, which is closed when the test ends.
func newPipedDataChannel(t *testing.T) (*dataChannel, *channelRecorder, net.Conn) {
	t.Helper()

	d, r := newTestDataChannel(t)
	server, client := net.Pipe()
	t.Cleanup(func() { _ = client.Close() })
	d.prepare(&pipeData{conn: server})

	return d, r, client
}

// TestDataChannelWithoutSession runs transfers on a data channel with no session behind it:
// its replies and events are all it tells, through its hooks.
func TestDataChannelWithoutSession(t *testing.T) {
	t.Parallel()

	t.Run("no prepared connection", func(t *testing.T) {
		t.Parallel()

		d, r := newTestDataChannel(t)

		var finished error

		d.start(transferJob{command: "RETR", run: func(*transferIO) error { return nil },
			finish: func(err error) error { finished = err; return err }}, transferSetup{})

		assert.Equal(t, replyLine(StatusCannotOpenDataConnection, "Use PASV, EPSV, PORT or EPRT first"), <-r.final)
		require.ErrorIs(t, finished, errNoDataConn)
		assert.False(t, d.busy())
	})

	t.Run("download", func(t *testing.T) {
		t.Parallel()

		d, r, client := newPipedDataChannel(t)

		got := make(chan []byte)

		go func() {
			b, _ := io.ReadAll(client)
			got <- b
		}()

		d.start(transferJob{
			command: "RETR", path: "/a", direction: TransferDownload,
			run: func(x *transferIO) error {
				n, err := x.conn.Write([]byte("hello"))
				x.counter.Add(int64(n))

				return err
			},
			finish: func(err error) error { return err },
		}, transferSetup{user: "u"})

		assert.Equal(t, replyLine(StatusClosingDataConn, "Closing transfer connection"), <-r.final)
		assert.Equal(t, []byte("hello"), <-got)
		assert.Equal(t, DataChannelActive, d.lastChannel())

		r.mu.Lock()
		defer r.mu.Unlock()

		require.Len(t, r.events, 1)
		assert.Equal(t, EventTransferEnded, r.events[0].Kind)
		assert.Equal(t, "u", r.events[0].User)
		assert.Equal(t, TransferDownload, r.events[0].Direction)
		assert.Equal(t, int64(5), r.events[0].Bytes)
		require.NoError(t, r.events[0].Err)
		assert.Equal(t, replyLine(StatusFileStatusOK, "Using transfer connection"), r.replies[0])
	})

	t.Run("abort, then what waited for idleness", func(t *testing.T) {
		t.Parallel()

		d, r, _ := newPipedDataChannel(t)

		blocked := make(chan struct{})

		d.start(transferJob{
			command: "STOR", direction: TransferUpload,
			run: func(x *transferIO) error {
				close(blocked)
				_, err := x.conn.Read(make([]byte, 1)) // the client never sends

				return err
			},
			finish: func(err error) error { return err },
		}, transferSetup{})

		<-blocked
		require.True(t, d.busy())

		idle := make(chan struct{})
		assert.False(t, d.whenIdle(func() { close(idle) }), "a transfer runs: the callback waits for it")

		assert.True(t, d.abort())
		assert.Equal(t, replyLine(StatusTransferAborted, "Connection closed; transfer aborted"), <-r.final)
		<-idle
		assert.False(t, d.busy())
		assert.False(t, d.abort(), "nothing left to abort")
		assert.True(t, d.whenIdle(func() { t.Error("whenIdle kept a callback with no transfer") }))

		r.mu.Lock()
		defer r.mu.Unlock()

		require.Len(t, r.events, 1)
		require.ErrorIs(t, r.events[0].Err, errTransferAborted)
		assert.Equal(t, TransferUpload, r.events[0].Direction)
	})

	t.Run("a failing driver", func(t *testing.T) {
		t.Parallel()

		d, r, _ := newPipedDataChannel(t)

		d.start(transferJob{
			command: "RETR",
			run:     func(*transferIO) error { return errors.New("disk on fire") },
			finish:  func(err error) error { return err },
		}, transferSetup{})

		assert.Equal(t, replyLine(StatusActionNotTaken, "Issue during transfer: disk on fire"), <-r.final)
	})
}
