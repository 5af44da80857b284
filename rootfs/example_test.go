package rootfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver/rootfs"
)

// A link that leads out of the served directory is refused when followed; the same link text
// works while it stays inside.
func ExampleNew() {
	outside, err := os.MkdirTemp("", "rootfs-example-")
	if err != nil {
		fmt.Println(err)

		return
	}
	defer os.RemoveAll(outside)

	served := filepath.Join(outside, "served")
	_ = os.MkdirAll(filepath.Join(served, "w"), 0o755)
	_ = os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside"), 0o600)
	_ = os.WriteFile(filepath.Join(served, "secret.txt"), []byte("inside"), 0o600)
	_ = os.Symlink("../secret.txt", filepath.Join(served, "w", "latest"))

	fsys, err := rootfs.New(served)
	if err != nil {
		fmt.Println(err)

		return
	}
	defer fsys.Close()

	data, err := afero.ReadFile(fsys, "/w/latest")
	fmt.Println(string(data), err)

	_ = fsys.Rename("/w/latest", "/latest") // now "../secret.txt" names the file outside
	_, err = afero.ReadFile(fsys, "/latest")
	fmt.Println(errors.Is(err, rootfs.ErrOutsideRoot), errors.Is(err, fs.ErrPermission))
	// Output:
	// inside <nil>
	// true true
}
