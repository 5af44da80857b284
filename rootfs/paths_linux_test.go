package rootfs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireFastPath skips when the kernel, or a filter, refuses openat2: then os.Root answers
// every call and TestPathsAgree compares os.Root with itself.
func requireFastPath(t *testing.T, fsys *Fs) {
	t.Helper()

	if fsys.beneath == nil {
		t.Skip("openat2 is not available here; os.Root answers every call")
	}
}

func TestFastPathAnswersDeepNames(t *testing.T) {
	fsys, _ := linkTree(t, pathVariants[0])
	requireFastPath(t, fsys)

	file, handled, err := fsys.beneath.openFile("dir/sub/deep.txt", os.O_RDONLY, 0)
	require.NoError(t, err)
	assert.True(t, handled)
	assert.Equal(t, fsys.Dir()+"/dir/sub/deep.txt", file.Name(), "named as os.Root names it")
	require.NoError(t, file.Close())

	_, handled, err = fsys.beneath.stat("dir/in", false)
	require.NoError(t, err)
	assert.True(t, handled)

	_, handled, err = fsys.beneath.openFile("dir/up", os.O_RDONLY, 0)
	require.ErrorIs(t, err, ErrOutsideRoot)
	assert.True(t, handled, "an escape is answered without os.Root")

	handled, err = fsys.beneath.rename("dir/sub/deep.txt", "dir/alias/moved")
	require.NoError(t, err)
	assert.True(t, handled)

	// What os.Root answers: the root's own directory, directories opened for reading, loops.
	_, handled, _ = fsys.beneath.openFile("file.txt", os.O_RDONLY, 0)
	assert.False(t, handled)
	_, handled, _ = fsys.beneath.openFile("dir/sub", os.O_RDONLY, 0)
	assert.False(t, handled)
	_, handled, _ = fsys.beneath.stat("dir/loop", false)
	assert.False(t, handled)
}

// TestFastPathClosesDescriptors runs every case of the table and checks that the process holds
// no more descriptors afterwards than before.
func TestFastPathClosesDescriptors(t *testing.T) {
	fsys, _ := linkTree(t, pathVariants[0])
	requireFastPath(t, fsys)

	openFds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)

		return len(entries)
	}

	run := func() {
		for _, tc := range pathCases {
			_, _ = pathOps[tc.op](fsys, tc.name)
		}
	}

	run() // the runtime may open descriptors of its own on first use
	before := openFds()

	for range 3 {
		run()
	}

	assert.Equal(t, before, openFds())
}

// TestSubHasItsOwnFastPath: a Sub resolves with openat2 beneath a descriptor of its own
// directory, which stays open when the parent is closed.
func TestSubHasItsOwnFastPath(t *testing.T) {
	sub, _ := linkTree(t, pathVariant{name: "Sub", sub: true})
	requireFastPath(t, sub)

	file, handled, err := sub.beneath.openFile("dir/sub/deep.txt", os.O_RDONLY, 0)
	require.NoError(t, err)
	assert.True(t, handled)
	assert.Equal(t, sub.Dir()+"/dir/sub/deep.txt", file.Name())
	require.NoError(t, file.Close())

	_, handled, err = sub.beneath.stat("dir/up", false)
	require.ErrorIs(t, err, ErrOutsideRoot, "the file beside the Sub is outside it")
	assert.True(t, handled, "an escape is answered by the kernel")
}
