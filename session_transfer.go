package ftpserver

// The session's bridge to its data channel (data_channel.go): a transfer started under the
// session's PROT, MODE, bandwidth limits and stall timeout, and ABOR.

// startTransfer runs job on the prepared data connection under this session's PROT, MODE,
// bandwidth limits and stall timeout.
func (c *clientHandler) startTransfer(job transferJob) {
	c.mu.Lock()
	protected := c.transferTLS
	policy := c.policy
	c.mu.Unlock()

	setup := transferSetup{
		user:     c.user,
		ascii:    c.transferType == TransferTypeASCII,
		deflate:  deflateLevel(c.mode, c.settings),
		limiters: c.shared.bandwidth.limitersFor(policy.bandwidth, job.direction),
		stall:    policy.stall,
	}

	if protected {
		setup.secure = c.tls.handshakeData
	}

	c.data.start(job, setup)
}

// handleABOR stops the running transfer, which answers 426, then answers 226 itself (RFC 959
// 4.1.3). Without a transfer it only closes a prepared data connection.
func (c *clientHandler) handleABOR(string) {
	if !c.data.abort() {
		c.data.closePrepared()
	}

	c.reply(StatusClosingDataConn, "ABOR successful; closing transfer connection")
}
