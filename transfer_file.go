package ftpserver

import (
	"errors"
	"io"
	"os"
)

// errIsDirectory refuses a transfer of a directory.
var errIsDirectory = errors.New("is a directory")

// openTransferFile opens a file of ext's driver for a transfer, through GetHandle when the driver
// has it, and positions it at offset.
func openTransferFile(ext *clientHooks, p string, flags int, offset int64) (FileTransfer, error) {
	if ext.getHandle != nil {
		file, err := ext.getHandle(p, flags, offset)
		if err != nil {
			return nil, newDriverError("opening "+p, err)
		}

		return file, nil
	}

	file, err := ext.driver.OpenFile(p, flags, 0o644)
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

// openDownload opens p of ext's driver for RETR from offset and returns it with the file's size. A
// file opened with OpenFile is stat-ed once open, so the path is walked once. GetHandle's
// handle may not tell its size, so such a driver is asked Stat first, as always. The errors
// are those of Stat, then of opening: a directory is refused with errIsDirectory, and a
// failed open asks Stat why, so the reply names the same cause whichever call saw it first.
func openDownload(ext *clientHooks, p string, offset int64) (FileTransfer, int64, error) {
	fs := ext.driver

	if ext.getHandle != nil {
		info, err := statFile(fs, p)
		if err != nil {
			return nil, 0, err
		}

		file, err := openTransferFile(ext, p, os.O_RDONLY, offset)

		return file, info.Size(), err
	}

	file, err := fs.OpenFile(p, os.O_RDONLY, 0o644)
	if err != nil {
		if _, statErr := statFile(fs, p); statErr != nil {
			return nil, 0, statErr
		}

		return nil, 0, newDriverError("opening "+p, err)
	}

	info, err := file.Stat()
	if err == nil && info.IsDir() {
		err = errIsDirectory
	}

	if err == nil && offset > 0 {
		err = positionFile(file, os.O_RDONLY, offset)
	}

	if err != nil {
		_ = file.Close()

		return nil, 0, err
	}

	return file, info.Size(), nil
}

// statFile is the driver's Stat of a file to download: a directory is errIsDirectory.
func statFile(fs ClientDriver, p string) (os.FileInfo, error) {
	info, err := fs.Stat(p)
	if err == nil && info.IsDir() {
		err = errIsDirectory
	}

	return info, err
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
