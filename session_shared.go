package ftpserver

import (
	"crypto/tls"
	"net"
)

// sessionShared is what a session takes from its server: the driver, its resolved extensions
// and the registries the server's sessions share. The server builds it once, at Listen, and
// hands it to each session it creates, so that a session does not reach through the server.
type sessionShared struct {
	driver MainDriver
	hooks  *mainHooks

	buffers    *copyBuffers     // transfer buffers
	zeroCopy   *zeroCopy        // how downloads skip the buffers
	sockets    *socketOptions   // socket options of control and data connections
	bandwidth  *serverBandwidth // server-wide limiters and per-connection limits
	users      *userLimits      // sessions and shared limiters per user
	passiveMux *passiveMux      // shared passive ports, nil without PassiveTransferPortMultiplexing
	passiveIPs *passiveBudget   // prepared passive ports per client IP

	tlsConfig       func() (*tls.Config, error) // asks the driver for a TLS configuration
	allowConnection func(remote net.Addr) error // the connection filter, safe from its panics
}
