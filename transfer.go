package ftpserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/afero"
)

// errFileShrank fails a download whose file was cut short while it was being sent from a
// mapping (sendMapped): a read of the mapping past the new end faults.
var errFileShrank = errors.New("file shrank during the transfer")

// errOpeningData marks failures to establish the data connection (425).
var errOpeningData = errors.New("opening data connection")

// isNetworkError tells whether err came from a connection rather than a file.
func isNetworkError(err error) bool {
	var (
		netErr NetworkError
		opErr  *net.OpError
	)

	return errors.As(err, &netErr) || errors.As(err, &opErr) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || isPeerGone(err)
}

// transferChunk is how much one copy call moves when the kernel copies (sendfile) or through
// a buffer of the small pool. The deadline against stalled peers is renewed between chunks,
// and a chunk is large enough to amortise the call.
const transferChunk = 256 << 10

// uploadChunk is the buffer of an upload into a file, filled before each write. A read/write
// loop through a large buffer is at least as fast as splice into a file (BenchmarkUploadCopy
// compares them), and half a megabyte is large enough to amortise each write yet small enough
// to stay in cache between the copy from the socket and the copy into the file.
const uploadChunk = 512 << 10

// listBufferSize is the write buffer of a listing's data connection.
const listBufferSize = 32 << 10

// copyBuffers are the transfer buffers of one server, pooled so no transfer allocates its own.
type copyBuffers struct {
	small   sync.Pool // transferChunk: TLS, TYPE A, MODE Z, drivers' own files
	large   sync.Pool // uploadChunk: uploads into files
	listing sync.Pool // *bufio.Writer of listBufferSize: LIST, NLST, MLSD
}

func newCopyBuffers() *copyBuffers {
	pooled := func(size int) func() any {
		return func() any {
			buf := make([]byte, size)

			return &buf
		}
	}

	return &copyBuffers{
		small:   sync.Pool{New: pooled(transferChunk)},
		large:   sync.Pool{New: pooled(uploadChunk)},
		listing: sync.Pool{New: func() any { return bufio.NewWriterSize(nil, listBufferSize) }},
	}
}

// listingWriter returns a pooled buffered writer to w; putListingWriter gives it back.
func (b *copyBuffers) listingWriter(w io.Writer) *bufio.Writer {
	bw := b.listing.Get().(*bufio.Writer) //nolint:errcheck // the pool holds only these
	bw.Reset(w)

	return bw
}

// putListingWriter returns bw to the pool, keeping no reference to its connection.
func (b *copyBuffers) putListingWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	b.listing.Put(bw)
}

// copyData moves src to dst in chunks until EOF, renewing conn's deadline before each so a
// transfer fails only when no chunk completes within stall (0: no limit). A download from a
// file to a TCP socket goes to sendfile: through paths.sendFile (sendFileWatched on Linux),
// which renews the deadline whenever the kernel takes some of the file, elsewhere and under a
// bandwidth limit through io.Copy, one chunk at a time. Another download from a file (TLS,
// MODE Z, TYPE A) is sent from memory mappings of the file (paths.mapped, sendMapped on Linux),
// which spares copying it into a buffer. Anything else goes through a pooled buffer, of uploadChunk
// for uploads into files, else of transferChunk, instead of the small buffer io.Copy would
// allocate at each call. A non-nil limit paces the copy: chunks no larger than its buckets,
// each paid for once it has moved (sendfile stays).
func copyData(conn net.Conn, dst io.Writer, src io.Reader, counter *atomic.Int64, stall time.Duration,
	buffers *copyBuffers, limit *throttle, paths *zeroCopy,
) error {
	pacing := &copyPacing{conn: conn, stall: stall, counter: counter, limit: limit}

	if tcp, file, ok := sendfileEnds(dst, src); ok {
		if limit == nil {
			if handled, err := paths.sendFile(tcp, file, pacing); handled {
				return err
			}
		}

		return pacing.loop(transferChunk, func(size int64) (int64, error) {
			return io.Copy(dst, io.LimitReader(src, size))
		})
	}

	_, toFile := dst.(*os.File)

	if file, fromFile := src.(*os.File); fromFile && !toFile {
		chunk := pacing.chunkSize(transferChunk)

		if _, err := paths.mapped(file, chunk, func(data []byte) error {
			pacing.before()
			n, err := dst.Write(data)

			return pacing.after(int64(n), err)
		}); err != nil {
			return err
		}
	}

	pool := &buffers.small
	if toFile {
		pool = &buffers.large
	}

	pooled := pool.Get().(*[]byte) //nolint:errcheck // the pool holds only these
	defer pool.Put(pooled)

	buf := *pooled

	return pacing.loop(len(buf), func(size int64) (int64, error) {
		return copyChunk(dst, src, buf[:size])
	})
}

// copyPacing is what every chunk of a copy goes through: the stall deadline before it, the
// byte counter and the bandwidth limit after it.
type copyPacing struct {
	conn    net.Conn
	stall   time.Duration
	counter *atomic.Int64
	limit   *throttle
}

// chunkSize bounds a chunk of size by the limiter's bucket, which could never allow more.
func (p *copyPacing) chunkSize(size int) int {
	if p.limit != nil {
		return min(size, p.limit.chunk)
	}

	return size
}

// before renews the stall deadline.
func (p *copyPacing) before() {
	if p.stall > 0 {
		_ = p.conn.SetDeadline(time.Now().Add(p.stall))
	}
}

// after counts the n bytes a chunk moved and, when it succeeded, pays for them.
func (p *copyPacing) after(n int64, err error) error {
	p.counter.Add(n)

	if err == nil && p.limit != nil && n > 0 {
		// Paid after the chunk moved, so the tokens match the bytes exactly.
		return p.limit.wait(int(n))
	}

	return err
}

// loop runs move on chunks of size until one moves less than asked.
func (p *copyPacing) loop(size int, move func(size int64) (int64, error)) error {
	chunk := int64(p.chunkSize(size))

	for {
		p.before()

		n, moveErr := move(chunk)
		if err := p.after(n, moveErr); err != nil {
			return err
		}

		if n < chunk {
			return nil
		}
	}
}

// copyChunk fills buf from src, or reads src to its end, and then writes what it read to dst
// in one call. A connection's reads return what has arrived, one 16 KiB record at most under
// TLS, so an upload writes its file in a few large pieces rather than one write per record,
// which matters most under PROT P.
func copyChunk(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	n, err := 0, error(nil)

	for n < len(buf) && err == nil {
		var read int

		read, err = src.Read(buf[n:])
		n += read
	}

	if errors.Is(err, io.EOF) {
		err = nil
	}

	if n > 0 {
		written, writeErr := dst.Write(buf[:n])
		if writeErr != nil {
			return int64(written), writeErr
		}
	}

	return int64(n), err
}

// sendfileEnds returns the TCP connection and the file of a copy the kernel's sendfile can
// make, and whether it can.
func sendfileEnds(dst io.Writer, src io.Reader) (*net.TCPConn, *os.File, bool) {
	file, fileSrc := src.(*os.File)
	tcp, tcpDst := dst.(*net.TCPConn)

	return tcp, file, fileSrc && tcpDst
}

// unwrapFile reaches the *os.File under afero's BasePathFs jail, which wraps it and so hides
// its WriterTo/ReaderFrom from io.Copy. The jail decides which file is opened; once open, the
// file itself is safe to hand to the kernel.
func unwrapFile(file FileTransfer) FileTransfer {
	for {
		wrapped, ok := file.(*afero.BasePathFile)
		if !ok {
			return file
		}

		file = wrapped.File
	}
}
