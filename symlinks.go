package ftpserver

import (
	"os"

	"github.com/spf13/afero"
)

// lstat describes p itself when it is a symbolic link and the file system can say so
// (afero.Lstater), else what p leads to. DELE and RNFR act on the name, not on what a link
// names: a link that leads nowhere, or outside a root the file system enforces, can still be
// removed or moved.
func lstat(fs afero.Fs, p string) (os.FileInfo, error) {
	if lstater, ok := fs.(afero.Lstater); ok {
		info, _, err := lstater.LstatIfPossible(p)

		return info, err
	}

	return fs.Stat(p)
}
