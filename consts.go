// Package ftpserver is an embeddable FTP server. An application implements MainDriver
// (settings, welcome, authentication, TLS) and returns a ClientDriver, an afero.Fs, for each
// user; the package does the rest of FTP: control and data connections, RFC 959 commands and
// their extensions, and TLS.
package ftpserver

// Reply codes, named after RFC 959 section 4.2 and the RFCs that add to it.
const (
	StatusRestartMarker = 110 // RFC 959 4.2.1: restart marker reply
	StatusFileStatusOK  = 150 // RFC 959 4.2.1: about to open data connection

	StatusOK                 = 200 // RFC 959 4.2.1
	StatusNotImplemented     = 202 // RFC 959 4.2.1: superfluous at this site
	StatusSystemStatus       = 211 // RFC 959 4.2.1: system status, or help reply
	StatusDirectoryStatus    = 212 // RFC 959 4.2.1
	StatusFileStatus         = 213 // RFC 959 4.2.1
	StatusHelpMessage        = 214 // RFC 959 4.2.1
	StatusSystemType         = 215 // RFC 959 4.2.1
	StatusServiceReady       = 220 // RFC 959 4.2.1
	StatusClosingControlConn = 221 // RFC 959 4.2.1
	StatusDataConnectionOpen = 225 // RFC 959 4.2.1: no transfer in progress
	StatusClosingDataConn    = 226 // RFC 959 4.2.1
	StatusEnteringPASV       = 227 // RFC 959 4.2.1
	StatusEnteringEPSV       = 229 // RFC 2428 3
	StatusUserLoggedIn       = 230 // RFC 959 4.2.1
	StatusAuthProceed        = 232 // RFC 2228 3: logged in, authorized by security data
	StatusAuthAccepted       = 234 // RFC 2228 3: security data exchange complete
	StatusFileOK             = 250 // RFC 959 4.2.1
	StatusPathCreated        = 257 // RFC 959 4.2.1

	StatusUserOK            = 331 // RFC 959 4.2.1
	StatusNeedAccount       = 332 // RFC 959 4.2.1
	StatusFileActionPending = 350 // RFC 959 4.2.1

	StatusServiceNotAvailable                 = 421 // RFC 959 4.2.1
	StatusCannotOpenDataConnection            = 425 // RFC 959 4.2.1
	StatusTransferAborted                     = 426 // RFC 959 4.2.1
	StatusInvalidCredentials                  = 430 // RFC 2228 3 (also: TLS resource unavailable)
	StatusTLSUnavailable                      = 431 // RFC 2228 3: need some unavailable resource
	StatusFileActionNotTaken                  = 450 // RFC 959 4.2.1: file unavailable (busy)
	StatusActionNotTakenInsufficientStorage   = 452 // RFC 959 4.2.1
	StatusSyntaxErrorNotRecognised            = 500 // RFC 959 4.2.1
	StatusSyntaxErrorParameters               = 501 // RFC 959 4.2.1
	StatusCommandNotImplemented               = 502 // RFC 959 4.2.1
	StatusBadCommandSequence                  = 503 // RFC 959 4.2.1
	StatusNotImplementedParam                 = 504 // RFC 959 4.2.1
	StatusNotLoggedIn                         = 530 // RFC 959 4.2.1
	StatusDataConnRefusedByPROT               = 521 // RFC 4217 9: refused with this PROT setting
	StatusNetworkProtocolNotSupported         = 522 // RFC 2428 2: use another address family
	StatusCommandProtectionDenied             = 533 // RFC 2228 3: command protection denied
	StatusPolicyRequiresTLS                   = 534 // RFC 2228 3: request denied for policy reasons
	StatusActionNotTaken                      = 550 // RFC 959 4.2.1: file unavailable
	StatusActionAbortedPageTypeUnknown        = 551 // RFC 959 4.2.1
	StatusActionNotTakenStorageExceeded       = 552 // RFC 959 4.2.1: exceeded storage allocation
	StatusActionNotTakenNoFile                = 553 // RFC 959 4.2.1: file name not allowed
	StatusProtectionLevelNotSupported         = 536 // RFC 2228 3: protection level not supported
	StatusProtectionLevelNotSupportedBySecure = 537 // RFC 2228 3: not supported by security mechanism
)

// StatusActionAborted is 552, the value ftpserverlib gives it, and exists for compatibility with
// code written for that library. RFC 959 4.2.1 defines 552 as "requested file action aborted,
// exceeded storage allocation", the code StatusActionNotTakenStorageExceeded names and the
// server sends for ErrStorageExceeded; a transfer that fails on the server's side is answered
// 451, "local error in processing".
const StatusActionAborted = 552

// statusLocalError is RFC 959 4.2.1's 451, "requested action aborted: local error in
// processing", the answer to a transfer that fails on the server's side. ftpserverlib exports no
// name for it (its StatusActionAborted is 552).
const statusLocalError = 451
