//go:build !linux

package ftpserver

// platformCopy is the portable path: io.Copy, which Go hands to the system's own sendfile
// where it has one, and the pooled buffers.
var platformCopy = portableCopy
