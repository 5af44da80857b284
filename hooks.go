package ftpserver

import (
	"crypto/tls"
	"net"
	"os"
)

// Driver extensions are resolved here, and only here: each optional interface of driver.go
// (MainDriverExtension…, ClientDriverExtension…) becomes one func field of a hook set, nil when
// the driver lacks the extension. Call sites test the field for nil and call it; none asserts a
// driver's type. Interfaces of files (FileTransferError, io.ReaderFrom, …) are not driver
// extensions and are asserted where the file is used.
//
// Lifetimes:
//   - mainHooks is built once per server, at Listen, when the MainDriver and its settings are
//     fixed; every listener (implicit TLS or not) and every session share it.
//   - clientHooks is built at each login, from the ClientDriver that AuthUser or the TLS
//     verifier returned, and is the session's until REIN or the end of the session, as the
//     driver is: a new login after REIN builds a new set from the new driver.
//
// Both sets are held by pointer, so FtpServer and clientHandler stay comparable.

// mainHooks are the MainDriver's extensions.
type mainHooks struct {
	verifyTLS       func(cc ClientContext, user string, tlsConn *tls.Conn) (ClientDriver, error)
	wrapPassive     func(listener net.Listener) (net.Listener, error)
	preAuthUser     func(cc ClientContext, user string) error
	acceptHost      func(cc ClientContext, host string) error
	postAuthMessage func(cc ClientContext, user string, authErr error) string
	quitMessage     func() string
	filter          func(remote net.Addr) error
	loginFailed     func(cc ClientContext, user string, err error)
	event           func(cc ClientContext, event Event)
}

// newMainHooks resolves the extensions of driver.
func newMainHooks(driver MainDriver) *mainHooks {
	h := &mainHooks{}

	if d, ok := driver.(MainDriverExtensionTLSVerifier); ok {
		h.verifyTLS = d.VerifyConnection
	}

	if d, ok := driver.(MainDriverExtensionPassiveWrapper); ok {
		h.wrapPassive = d.WrapPassiveListener
	}

	if d, ok := driver.(MainDriverExtensionUserVerifier); ok {
		h.preAuthUser = d.PreAuthUser
	}

	if d, ok := driver.(MainDriverExtensionHost); ok {
		h.acceptHost = d.AcceptHost
	}

	if d, ok := driver.(MainDriverExtensionPostAuthMessage); ok {
		h.postAuthMessage = d.PostAuthMessage
	}

	if d, ok := driver.(MainDriverExtensionQuitMessage); ok {
		h.quitMessage = d.QuitMessage
	}

	if d, ok := driver.(MainDriverExtensionConnectionFilter); ok {
		h.filter = d.AllowConnection
	}

	if d, ok := driver.(MainDriverExtensionLoginFailures); ok {
		h.loginFailed = d.LoginFailed
	}

	if d, ok := driver.(MainDriverExtensionEvents); ok {
		h.event = d.HandleEvent
	}

	return h
}

// clientHooks are a logged-in user's ClientDriver and its extensions.
type clientHooks struct {
	driver ClientDriver

	allocate        func(size int) error
	availableSpace  func(dirName string) (int64, error)
	symlink         func(oldname, newname string) error
	readDir         func(name string) ([]os.FileInfo, error)
	getHandle       func(name string, flags int, offset int64) (FileTransfer, error)
	removeDir       func(name string) error
	computeHash     func(name string, algo HASHAlgo, startOffset, endOffset int64) (string, error)
	site            func(param string) *AnswerCommand
	bandwidth       func() (upload, download int64)
	sessionSettings func() SessionSettings
	checkUpload     *uploadCheck // bound to the session (upload_check.go)
}

// newClientHooks resolves the extensions of driver, the ClientDriver of the session cc.
func newClientHooks(cc ClientContext, driver ClientDriver) *clientHooks {
	h := &clientHooks{driver: driver}
	h.resolveFiles(driver)

	if d, ok := driver.(ClientDriverExtensionAllocate); ok {
		h.allocate = d.AllocateSpace
	}

	if d, ok := driver.(ClientDriverExtensionAvailableSpace); ok {
		h.availableSpace = d.GetAvailableSpace
	}

	if d, ok := driver.(ClientDriverExtensionSite); ok {
		h.site = d.Site
	}

	if d, ok := driver.(ClientDriverExtensionBandwidth); ok {
		h.bandwidth = d.Bandwidth
	}

	if d, ok := driver.(ClientDriverExtensionSessionSettings); ok {
		h.sessionSettings = d.SessionSettings
	}

	if d, ok := driver.(ClientDriverExtensionUploadCheck); ok {
		h.checkUpload = &uploadCheck{checker: d, cc: cc}
	}

	return h
}

// resolveFiles resolves the extensions that replace afero calls on files and directories.
func (h *clientHooks) resolveFiles(driver ClientDriver) {
	if d, ok := driver.(ClientDriverExtensionSymlink); ok {
		h.symlink = d.Symlink
	}

	if d, ok := driver.(ClientDriverExtensionFileList); ok {
		h.readDir = d.ReadDir
	}

	if d, ok := driver.(ClientDriverExtentionFileTransfer); ok {
		h.getHandle = d.GetHandle
	}

	if d, ok := driver.(ClientDriverExtensionRemoveDir); ok {
		h.removeDir = d.RemoveDir
	}

	if d, ok := driver.(ClientDriverExtensionHasher); ok {
		h.computeHash = d.ComputeHash
	}
}
