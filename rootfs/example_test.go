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

// Each user gets a home opened with Sub: a root of its own, so that a link a user makes and
// moves cannot lead into another user's home, as it would through a path prefix.
func ExampleFs_Sub() {
	dir, err := os.MkdirTemp("", "rootfs-homes-")
	if err != nil {
		fmt.Println(err)

		return
	}
	defer os.RemoveAll(dir)

	_ = os.MkdirAll(filepath.Join(dir, "alice", "d"), 0o755)
	_ = os.MkdirAll(filepath.Join(dir, "bob"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "bob", "secret.txt"), []byte("bob's"), 0o600)

	served, err := rootfs.New(dir)
	if err != nil {
		fmt.Println(err)

		return
	}
	defer served.Close()

	alice, err := served.Sub("/alice")
	if err != nil {
		fmt.Println(err)

		return
	}
	defer alice.Close()

	// Inside d the link leads to /alice/bob/secret.txt; one level up it would name Bob's file.
	_ = alice.SymlinkIfPossible("../../bob/secret.txt", "/d/link")
	_ = alice.Rename("/d/link", "/link")

	_, err = afero.ReadFile(alice, "/link")
	fmt.Println(errors.Is(err, rootfs.ErrOutsideRoot))

	// The whole tree still reads Bob's file.
	data, _ := afero.ReadFile(served, "/bob/secret.txt")
	fmt.Println(string(data))
	// Output:
	// true
	// bob's
}
