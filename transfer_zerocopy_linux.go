//go:build linux

package ftpserver

// platformCopy sends downloads with sendfile, from the serve goroutine while the socket has
// room, and from memory mappings where sendfile cannot go (TLS, MODE Z, TYPE A).
var platformCopy = &zeroCopy{sendFile: sendFileWatched, mapped: sendMapped, atOnce: sendWithoutWaiting}
