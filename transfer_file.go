package ftpserver

import (
	"errors"
	"io"
	"os"
)

// errIsDirectory refuses a transfer of a directory.
var errIsDirectory = errors.New("is a directory")

// openTransferFile opens a file of fs for a transfer, through GetHandle when the driver has it, and
// positions it at offset.
func openTransferFile(fs ClientDriver, p string, flags int, offset int64) (FileTransfer, error) {
	if handler, ok := fs.(ClientDriverExtentionFileTransfer); ok {
		file, err := handler.GetHandle(p, flags, offset)
		if err != nil {
			return nil, newDriverError("opening "+p, err)
		}

		return file, nil
	}

	file, err := fs.OpenFile(p, flags, 0o644)
	if err != nil {
		return nil, newDriverError("opening "+p, err)
	}

	if offset > 0 {
		err = positionFile(file, flags, offset)
		if err != nil {
			_ = file.Close()

			return nil, err
		}
	}

	return file, nil
}

// positionFile seeks to offset; for an upload it also drops what lies after it, so a resumed
// upload never leaves the old tail behind.
func positionFile(file interface {
	io.Seeker
	Truncate(size int64) error
}, flags int, offset int64,
) error {
	if flags&os.O_WRONLY != 0 {
		if err := file.Truncate(offset); err != nil {
			return newFileAccessError("truncating for REST", err)
		}
	}

	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		return newFileAccessError("seeking for REST", err)
	}

	return nil
}

// finishTransferFile flushes (uploads) and closes a transfer's file, telling the driver of a
// failure first; it returns the transfer's final error.
func finishTransferFile(file FileTransfer, upload bool, err error) error {
	if err == nil && upload {
		if flusher, ok := file.(Flusher); ok {
			if flushErr := flusher.Flush(); flushErr != nil {
				err = newFileAccessError("flushing", flushErr)
			}
		}
	}

	if err != nil {
		if reporter, ok := file.(FileTransferError); ok {
			reporter.TransferError(err)
		}
	}

	if closeErr := file.Close(); closeErr != nil && err == nil {
		err = newFileAccessError("closing", closeErr)
	}

	return err
}
