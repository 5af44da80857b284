package ftpserver

import "time"

// fileOp names a file operation for the event that reports it.
type fileOp struct {
	kind    EventKind
	command string // the verb reported; "" for the command being run, as the client sent it
	path    string
	target  string // the second path of a rename or a symlink
}

// fileOperation runs do, the driver calls of a file operation, and reports it to the driver's
// events as one event of op's kind, with do's bytes, its error and how long it took, whether it
// succeeded or not. It returns do's error, for the handler's reply. Every file operation but the
// transfers goes through here (a RNFR that fails, through reportFileOp); a transfer's event
// comes from its data channel.
func (c *clientHandler) fileOperation(op fileOp, do func() (int64, error)) error {
	start := time.Now()
	bytes, err := do()

	c.reportFileOp(op, start, bytes, err)

	return err
}

// reportFileOp reports a file operation that started at start and ended now, with its bytes and
// its error, as one event of op's kind.
func (c *clientHandler) reportFileOp(op fileOp, start time.Time, bytes int64, err error) {
	command := op.command
	if command == "" {
		command = c.GetLastCommand()
	}

	c.emit(Event{
		Kind:     op.kind,
		User:     c.user,
		Command:  command,
		Path:     op.path,
		Target:   op.target,
		Bytes:    bytes,
		Duration: time.Since(start),
		Err:      err,
	})
}

// noBytes adapts a file operation that moves no bytes to fileOperation.
func noBytes(do func() error) func() (int64, error) {
	return func() (int64, error) { return 0, do() }
}
