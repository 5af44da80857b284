package ftpserver

import (
	"compress/zlib"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Both forms of the package's ranges are a PasvPortGetter, as in ftpserverlib, whose programs
// write either; this fails to compile otherwise.
var (
	_ PasvPortGetter = PortRange{}
	_ PasvPortGetter = &PortRange{}
	_ PasvPortGetter = PortMappingRange{}
	_ PasvPortGetter = &PortMappingRange{}
)

// isComparable compiles only for a comparable T. FtpServer is comparable in ftpserverlib: a map,
// slice or func field added to it breaks programs that compare servers.
func isComparable[T comparable]() {}

var _ = isComparable[FtpServer]

func TestPortRangeValueAndPointer(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		ranges func(start int) PasvPortGetter
	}{
		{"PortRange value", func(start int) PasvPortGetter { return PortRange{Start: start, End: start + 1} }},
		{"PortRange pointer", func(start int) PasvPortGetter { return &PortRange{Start: start, End: start + 1} }},
		{"PortMappingRange value", func(start int) PasvPortGetter {
			return PortMappingRange{ExposedStart: start, ListenedStart: start, Count: 2}
		}},
		{"PortMappingRange pointer", func(start int) PasvPortGetter {
			return &PortMappingRange{ExposedStart: start, ListenedStart: start, Count: 2}
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			start, listeners := occupyPorts(t, 2)
			s, content := serverWithFile(t, withSettings(func(s *Settings) {
				s.PassiveTransferPortRange = tt.ranges(start)
			}))
			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)
			freePorts(t, listeners...)

			_, port := rc.pasvAnnounce()
			require.True(t, port == start || port == start+1, "PASV port %d outside %d-%d", port, start, start+1)
			assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))

			port = rc.epsvPort("EPSV")
			require.True(t, port == start || port == start+1, "EPSV port %d outside %d-%d", port, start, start+1)
			assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))
		})
	}
}

// A nil pointer in PassiveTransferPortRange (what a program passes when its configuration has no
// range and it assigns a *PortRange variable) answers PASV and EPSV 500, as ftpserverlib does,
// and the session goes on: active mode still transfers.
func TestNilPortRange(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		ranges PasvPortGetter
	}{
		{"nil *PortRange", (*PortRange)(nil)},
		{"nil *PortMappingRange", (*PortMappingRange)(nil)},
		{"nil pointer of a driver's type", (*driverPorts)(nil)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			s, content := serverWithFile(t, withSettings(func(s *Settings) {
				s.PassiveTransferPortRange = tt.ranges
			}))
			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)

			want := "Cannot open passive connection: passive port range misconfigured"
			assert.Equal(t, want, rc.expect("PASV", StatusSyntaxErrorNotRecognised))
			assert.Equal(t, want, rc.expect("EPSV", StatusSyntaxErrorNotRecognised))
			rc.expect("NOOP", StatusOK)

			accept := rc.port("PORT")
			rc.expect("RETR /f.bin", StatusFileStatusOK)
			assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, accept())))

			code, msg := rc.read()
			assert.Equal(t, StatusClosingDataConn, code, msg)
		})
	}
}

func TestNilPortRangeMultiplexing(t *testing.T) {
	t.Parallel()

	server := NewFtpServer(&testDriver{settings: &Settings{
		ListenAddr:                      "127.0.0.1:0",
		PassiveTransferPortRange:        (*PortRange)(nil),
		PassiveTransferPortMultiplexing: true,
	}})

	require.ErrorIs(t, server.Listen(), errPassiveMuxNeedsRange)
	require.NoError(t, server.Stop())
}

// TestTransferFinalizer checks that a data connection of a driver's wrapped passive listener is
// finalized after each complete transfer, before it is closed, in MODE S and under MODE Z's
// stream, and that an error of FinalizeTransfer fails the transfer.
func TestTransferFinalizer(t *testing.T) {
	t.Parallel()

	wrapper := &finalizingDriver{}
	s, content := serverWithFile(t, withDeflate(1), func(d *testDriver) {
		d.wrap = func(d *testDriver) MainDriver {
			wrapper.testDriver = d

			return wrapper
		}
	})
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	_, port := rc.pasvAnnounce()
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))
	assert.Equal(t, []string{"finalize", "close"}, wrapper.calls())

	// Under MODE Z the end of the zlib stream is written first, then the connection finalized.
	rc.expect("MODE Z", StatusOK)

	port = rc.epsvPort("EPSV")
	data := dialData(t, "", port)
	rc.expect("RETR /f.bin", StatusFileStatusOK)

	inflated, err := zlib.NewReader(data)
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, inflated)))
	require.NoError(t, data.Close())

	code, msg := rc.read()
	assert.Equal(t, StatusClosingDataConn, code, msg)
	assert.Equal(t, []string{"finalize", "close", "finalize", "close"}, wrapper.calls())

	rc.expect("MODE S", StatusOK)
	wrapper.failWith(errFinalize)

	port = rc.epsvPort("EPSV")
	data = dialData(t, "", port)
	rc.expect("RETR /f.bin", StatusFileStatusOK)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)))

	code, msg = rc.read()
	assert.Equal(t, StatusActionNotTaken, code)
	assert.Equal(t, "Issue during transfer: finalizing data connection: "+errFinalize.Error(), msg)
	assert.Equal(t, []string{"finalize", "close", "finalize", "close", "finalize", "close"}, wrapper.calls())
}

var errFinalize = errors.New("end marker not written")

// finalizingDriver wraps passive listeners so that their connections are TransferFinalizers
// that record what the server calls.
type finalizingDriver struct {
	*testDriver

	mu     sync.Mutex
	events []string
	err    error
}

func (d *finalizingDriver) WrapPassiveListener(listener net.Listener) (net.Listener, error) {
	return finalizingListener{Listener: listener, driver: d}, nil
}

func (d *finalizingDriver) record(event string) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.events = append(d.events, event)

	if event == "finalize" {
		return d.err
	}

	return nil
}

func (d *finalizingDriver) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()

	return append([]string(nil), d.events...)
}

func (d *finalizingDriver) failWith(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.err = err
}

type finalizingListener struct {
	net.Listener

	driver *finalizingDriver
}

func (l finalizingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}

	return &finalizingConn{Conn: conn, driver: l.driver}, nil
}

type finalizingConn struct {
	net.Conn

	driver *finalizingDriver
	once   sync.Once
}

func (c *finalizingConn) FinalizeTransfer() error {
	return c.driver.record("finalize")
}

func (c *finalizingConn) Close() error {
	c.once.Do(func() { _ = c.driver.record("close") })

	return c.Conn.Close()
}

// TestExportedConstants holds every constant ftpserverlib v0.32.3 exports, with its value there.
func TestExportedConstants(t *testing.T) {
	t.Parallel()

	ftpserverlib := map[string][2]int{
		"StatusFileStatusOK":             {StatusFileStatusOK, 150},
		"StatusOK":                       {StatusOK, 200},
		"StatusNotImplemented":           {StatusNotImplemented, 202},
		"StatusSystemStatus":             {StatusSystemStatus, 211},
		"StatusDirectoryStatus":          {StatusDirectoryStatus, 212},
		"StatusFileStatus":               {StatusFileStatus, 213},
		"StatusHelpMessage":              {StatusHelpMessage, 214},
		"StatusSystemType":               {StatusSystemType, 215},
		"StatusServiceReady":             {StatusServiceReady, 220},
		"StatusClosingControlConn":       {StatusClosingControlConn, 221},
		"StatusClosingDataConn":          {StatusClosingDataConn, 226},
		"StatusEnteringPASV":             {StatusEnteringPASV, 227},
		"StatusEnteringEPSV":             {StatusEnteringEPSV, 229},
		"StatusUserLoggedIn":             {StatusUserLoggedIn, 230},
		"StatusAuthAccepted":             {StatusAuthAccepted, 234},
		"StatusFileOK":                   {StatusFileOK, 250},
		"StatusPathCreated":              {StatusPathCreated, 257},
		"StatusUserOK":                   {StatusUserOK, 331},
		"StatusFileActionPending":        {StatusFileActionPending, 350},
		"StatusServiceNotAvailable":      {StatusServiceNotAvailable, 421},
		"StatusCannotOpenDataConnection": {StatusCannotOpenDataConnection, 425},
		"StatusTransferAborted":          {StatusTransferAborted, 426},
		"StatusFileActionNotTaken":       {StatusFileActionNotTaken, 450},
		"StatusSyntaxErrorNotRecognised": {StatusSyntaxErrorNotRecognised, 500},
		"StatusSyntaxErrorParameters":    {StatusSyntaxErrorParameters, 501},
		"StatusCommandNotImplemented":    {StatusCommandNotImplemented, 502},
		"StatusBadCommandSequence":       {StatusBadCommandSequence, 503},
		"StatusNotImplementedParam":      {StatusNotImplementedParam, 504},
		"StatusNotLoggedIn":              {StatusNotLoggedIn, 530},
		"StatusActionNotTaken":           {StatusActionNotTaken, 550},
		"StatusActionAborted":            {StatusActionAborted, 552},
		"StatusActionNotTakenNoFile":     {StatusActionNotTakenNoFile, 553},

		"DataChannelPassive":  {int(DataChannelPassive), 1},
		"DataChannelActive":   {int(DataChannelActive), 2},
		"IPMatchRequired":     {int(IPMatchRequired), 0},
		"IPMatchDisabled":     {int(IPMatchDisabled), 1},
		"HASHAlgoCRC32":       {int(HASHAlgoCRC32), 0},
		"HASHAlgoMD5":         {int(HASHAlgoMD5), 1},
		"HASHAlgoSHA1":        {int(HASHAlgoSHA1), 2},
		"HASHAlgoSHA256":      {int(HASHAlgoSHA256), 3},
		"HASHAlgoSHA512":      {int(HASHAlgoSHA512), 4},
		"ClearOrEncrypted":    {int(ClearOrEncrypted), 0},
		"MandatoryEncryption": {int(MandatoryEncryption), 1},
		"ImplicitEncryption":  {int(ImplicitEncryption), 2},
		"TransferModeStream":  {int(TransferModeStream), 0},
		"TransferModeDeflate": {int(TransferModeDeflate), 1},
		"TransferTypeASCII":   {int(TransferTypeASCII), 0},
		"TransferTypeBinary":  {int(TransferTypeBinary), 1},
	}

	for name, values := range ftpserverlib {
		assert.Equal(t, values[1], values[0], name)
	}
}
