package ftpserver

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errHookCalled is what every method of the hooked drivers below returns, wrapped with the
// method's name, so that a test can tell which method a hook calls.
var errHookCalled = errors.New("called")

// hookedMain is a MainDriver with every MainDriver extension; each method records its name.
type hookedMain struct {
	*testDriver
	calls *recorder[string]
}

func (d hookedMain) VerifyConnection(ClientContext, string, *tls.Conn) (ClientDriver, error) {
	d.calls.add("VerifyConnection")

	return nil, nil // the extension's "ask for a password" answer
}

func (d hookedMain) WrapPassiveListener(l net.Listener) (net.Listener, error) {
	d.calls.add("WrapPassiveListener")

	return l, nil
}

func (d hookedMain) PreAuthUser(ClientContext, string) error {
	d.calls.add("PreAuthUser")

	return nil
}

func (d hookedMain) AcceptHost(ClientContext, string) error {
	d.calls.add("AcceptHost")

	return nil
}

func (d hookedMain) PostAuthMessage(ClientContext, string, error) string {
	d.calls.add("PostAuthMessage")

	return ""
}

func (d hookedMain) QuitMessage() string {
	d.calls.add("QuitMessage")

	return ""
}

func (d hookedMain) AllowConnection(net.Addr) error {
	d.calls.add("AllowConnection")

	return nil
}

func (d hookedMain) LoginFailed(ClientContext, string, error) { d.calls.add("LoginFailed") }

func (d hookedMain) HandleEvent(ClientContext, Event) { d.calls.add("HandleEvent") }

// hookedClient is a ClientDriver with every ClientDriver extension; each method records its
// name.
type hookedClient struct {
	afero.Fs
	calls *recorder[string]
}

func (d hookedClient) AllocateSpace(int) error {
	d.calls.add("AllocateSpace")

	return nil
}

func (d hookedClient) GetAvailableSpace(string) (int64, error) {
	d.calls.add("GetAvailableSpace")

	return 0, nil
}

func (d hookedClient) Symlink(string, string) error {
	d.calls.add("Symlink")

	return nil
}

func (d hookedClient) ReadDir(string) ([]os.FileInfo, error) {
	d.calls.add("ReadDir")

	return nil, nil
}

func (d hookedClient) GetHandle(string, int, int64) (FileTransfer, error) {
	d.calls.add("GetHandle")

	return nil, errHookCalled
}

func (d hookedClient) RemoveDir(string) error {
	d.calls.add("RemoveDir")

	return nil
}

func (d hookedClient) ComputeHash(string, HASHAlgo, int64, int64) (string, error) {
	d.calls.add("ComputeHash")

	return "", nil
}

func (d hookedClient) Site(string) *AnswerCommand {
	d.calls.add("Site")

	return nil
}

func (d hookedClient) Bandwidth() (int64, int64) {
	d.calls.add("Bandwidth")

	return 0, 0
}

func (d hookedClient) SessionSettings() SessionSettings {
	d.calls.add("SessionSettings")

	return SessionSettings{}
}

func (d hookedClient) CheckUpload(ClientContext, string, ReceivedUpload) error {
	d.calls.add("CheckUpload")

	return nil
}

// TestMainHooks builds the MainDriver's hook set from a driver with every extension and from
// one with none: each hook is set, and calls its own method, only with the extension.
func TestMainHooks(t *testing.T) {
	t.Parallel()

	tests := []struct {
		method string
		call   func(h *mainHooks) bool // calls the hook unless it is nil; tells whether it was set
	}{
		{"VerifyConnection", func(h *mainHooks) bool {
			return h.verifyTLS != nil && ignore2(h.verifyTLS(nil, "u", nil))
		}},
		{"WrapPassiveListener", func(h *mainHooks) bool {
			return h.wrapPassive != nil && ignore2(h.wrapPassive(nil))
		}},
		{"PreAuthUser", func(h *mainHooks) bool { return h.preAuthUser != nil && ignore(h.preAuthUser(nil, "u")) }},
		{"AcceptHost", func(h *mainHooks) bool { return h.acceptHost != nil && ignore(h.acceptHost(nil, "h")) }},
		{"PostAuthMessage", func(h *mainHooks) bool {
			return h.postAuthMessage != nil && ignore(h.postAuthMessage(nil, "u", nil))
		}},
		{"QuitMessage", func(h *mainHooks) bool { return h.quitMessage != nil && ignore(h.quitMessage()) }},
		{"AllowConnection", func(h *mainHooks) bool { return h.filter != nil && ignore(h.filter(nil)) }},
		{"LoginFailed", func(h *mainHooks) bool {
			if h.loginFailed != nil {
				h.loginFailed(nil, "u", nil)
			}

			return h.loginFailed != nil
		}},
		{"HandleEvent", func(h *mainHooks) bool {
			if h.event != nil {
				h.event(nil, Event{})
			}

			return h.event != nil
		}},
	}

	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()

			calls := &recorder[string]{}
			assert.True(t, tt.call(newMainHooks(hookedMain{testDriver: &testDriver{}, calls: calls})))
			assert.Equal(t, []string{tt.method}, calls.all())

			assert.False(t, tt.call(newMainHooks(&testDriver{})), "a driver without the extension")
		})
	}
}

// TestClientHooks builds a session's hook set from a ClientDriver with every extension and
// from one with none: each hook is set, and calls its own method, only with the extension.
func TestClientHooks(t *testing.T) {
	t.Parallel()

	tests := []struct {
		method string
		call   func(h *clientHooks) bool // calls the hook unless it is nil; tells whether it was set
	}{
		{"AllocateSpace", func(h *clientHooks) bool { return h.allocate != nil && ignore(h.allocate(1)) }},
		{"GetAvailableSpace", func(h *clientHooks) bool {
			return h.availableSpace != nil && ignore2(h.availableSpace("/"))
		}},
		{"Symlink", func(h *clientHooks) bool { return h.symlink != nil && ignore(h.symlink("/a", "/b")) }},
		{"ReadDir", func(h *clientHooks) bool { return h.readDir != nil && ignore2(h.readDir("/")) }},
		{"GetHandle", func(h *clientHooks) bool { return h.getHandle != nil && ignore2(h.getHandle("/a", 0, 0)) }},
		{"RemoveDir", func(h *clientHooks) bool { return h.removeDir != nil && ignore(h.removeDir("/d")) }},
		{"ComputeHash", func(h *clientHooks) bool {
			return h.computeHash != nil && ignore2(h.computeHash("/a", HASHAlgoSHA256, 0, 0))
		}},
		{"Site", func(h *clientHooks) bool { return h.site != nil && ignore(h.site("X")) }},
		{"Bandwidth", func(h *clientHooks) bool { return h.bandwidth != nil && ignore2(h.bandwidth()) }},
		{"SessionSettings", func(h *clientHooks) bool {
			return h.sessionSettings != nil && ignore(h.sessionSettings())
		}},
		{"CheckUpload", func(h *clientHooks) bool {
			return h.checkUpload != nil && ignore(h.checkUpload.checker.CheckUpload(nil, "/a", ReceivedUpload{}))
		}},
	}

	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()

			calls := &recorder[string]{}
			hooked := hookedClient{Fs: afero.NewMemMapFs(), calls: calls}
			h := newClientHooks(nil, hooked)
			require.Equal(t, ClientDriver(hooked), h.driver)
			assert.True(t, tt.call(h))
			assert.Equal(t, []string{tt.method}, calls.all())

			bare := afero.NewMemMapFs()
			h = newClientHooks(nil, bare)
			require.Equal(t, ClientDriver(bare), h.driver)
			assert.False(t, tt.call(h), "a driver without the extension")
		})
	}
}

// ignore drops a hook's result: the tests above look at what the hook called.
func ignore[T any](T) bool { return true }

// ignore2 is ignore for a hook with two results.
func ignore2[T, U any](T, U) bool { return true }
