#!/bin/sh
# Refuses (exit 1, with a line on stderr) a file that contains the test marker; accepts any
# other. The file is the last argument; the client's name for it is in FTP_UPLOAD_PATH.
file=$1
if [ ! -r "$file" ]; then
	echo "cannot read the upload" >&2
	exit 3
fi
if grep -q 'FTPKIT-TEST-MARKER' "$file"; then
	echo "infected: test marker found in $FTP_UPLOAD_PATH" >&2
	echo "second line, never shown" >&2
	exit 1
fi
exit 0
