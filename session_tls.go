package ftpserver

// The session's TLS policy: what its TLS requirement allows in clear text, and the switches of
// the control and data connections to TLS. The handlers of AUTH, PBSZ, PROT and CCC are in
// handle_auth.go; the handshakes themselves in tls.go.

// needsTLS tells whether the client's TLS policy forbids what it is about to do in clear text.
func (c *clientHandler) needsTLS() bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.tlsRequirement != ClearOrEncrypted && !c.controlTLS
}

// refuseClearText closes a session whose TLS policy forbids logging in without TLS and tells
// whether it did: 421, as the client must reconnect with TLS (RFC 959 4.2: the service closes
// the control connection).
func (c *clientHandler) refuseClearText() bool {
	if !c.needsTLS() {
		return false
	}

	c.endSession(endTLSRequired)

	return true
}

// setTransferTLS records PROT's choice: whether the next data connections are protected.
func (c *clientHandler) setTransferTLS(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.transferTLS = on
}

// upgradeControlToTLS turns the control connection into TLS, after AUTH TLS or at once with
// implicit TLS. Commands are read from the TLS stream from the next byte on.
func (c *clientHandler) upgradeControlToTLS() error {
	tlsConn, err := c.tls.handshake(c.rawConn)
	if err != nil {
		return err
	}

	c.conn = tlsConn
	c.reader.reset(tlsConn)
	c.out.swap(tlsConn)

	c.mu.Lock()
	c.controlTLS = true
	c.mu.Unlock()

	return nil
}

// transferAllowed applies the TLS policy to data connections: under MandatoryEncryption a
// transfer needs PROT P (RFC 4217 9: 521).
func (c *clientHandler) transferAllowed() bool {
	c.mu.Lock()
	refused := c.tlsRequirement != ClearOrEncrypted && !c.transferTLS
	c.mu.Unlock()

	if refused {
		c.reply(StatusDataConnRefusedByPROT, "Data connections must be protected: use PROT P")

		return false
	}

	return true
}
