package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/rootfs"
	"github.com/ftpkit/ftpserver/s3fs"
)

// optionalInterfaces are the interfaces the library looks for, by type assertion, on the
// ClientDriver a login returns: afero's for links, and the library's own extensions.
var optionalInterfaces = map[string]reflect.Type{
	"afero.Lstater":                       reflect.TypeFor[afero.Lstater](),
	"afero.Linker":                        reflect.TypeFor[afero.Linker](),
	"afero.LinkReader":                    reflect.TypeFor[afero.LinkReader](),
	"ClientDriverExtensionAllocate":       reflect.TypeFor[ftpserver.ClientDriverExtensionAllocate](),
	"ClientDriverExtensionAvailableSpace": reflect.TypeFor[ftpserver.ClientDriverExtensionAvailableSpace](),
	"ClientDriverExtensionSymlink":        reflect.TypeFor[ftpserver.ClientDriverExtensionSymlink](),
	"ClientDriverExtensionFileList":       reflect.TypeFor[ftpserver.ClientDriverExtensionFileList](),
	"ClientDriverExtentionFileTransfer":   reflect.TypeFor[ftpserver.ClientDriverExtentionFileTransfer](),
	"ClientDriverExtensionRemoveDir":      reflect.TypeFor[ftpserver.ClientDriverExtensionRemoveDir](),
	"ClientDriverExtensionHasher":         reflect.TypeFor[ftpserver.ClientDriverExtensionHasher](),
	"ClientDriverExtensionSite":           reflect.TypeFor[ftpserver.ClientDriverExtensionSite](),
	"ClientDriverExtensionBandwidth":      reflect.TypeFor[ftpserver.ClientDriverExtensionBandwidth](),
}

// ownInterfaces are those the bundled server's client driver adds itself: AVBL and SITE SYMLINK
// answered by the server. HASH is the library's own.
var ownInterfaces = []string{
	"ClientDriverExtensionAvailableSpace", "ClientDriverExtensionSymlink",
}

// interfacesOf returns the names of optionalInterfaces that v implements.
func interfacesOf(v any) map[string]bool {
	has := map[string]bool{}

	for name, iface := range optionalInterfaces {
		if reflect.TypeOf(v).Implements(iface) {
			has[name] = true
		}
	}

	return has
}

// TestLoginPassesOnInterfaces logs in on each back-end of the bundled server, as the single user
// and as users of -users with homes, and requires the client driver to have each optional
// interface its back-end has, no other but its own, whatever afero layer (BasePathFs,
// ReadOnlyFs) is between.
func TestLoginPassesOnInterfaces(t *testing.T) {
	t.Parallel()

	jail, err := rootfs.New(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, jail.Close()) })

	backEnds := map[string]afero.Fs{
		"memory": afero.NewMemMapFs(),
		"rootfs": jail,
		"s3fs":   s3fs.New(nil, "bucket", s3fs.Options{}),
	}

	hash := hashFor(t, "pw")

	for name, backEnd := range backEnds {
		want := interfacesOf(backEnd)
		for _, own := range ownInterfaces {
			want[own] = true
		}

		drv := &driver{cfg: &config{user: "u", pass: "p"}, fs: backEnd}
		t.Cleanup(func() { drv.homes.closeAll() })

		cd, err := drv.AuthUser(nil, "u", "p")
		require.NoError(t, err)
		assert.Equal(t, want, interfacesOf(cd), "%s, single user", name)

		if name == "s3fs" {
			// Without a bucket behind it, a home cannot be made: the prefix is checked alone.
			home, _, homeErr := drv.homeFs("/h")
			require.NoError(t, homeErr)
			assert.Equal(t, want, interfacesOf((&clientDriver{Fs: home}).withLinks(backEnd)), "%s, home", name)

			continue
		}

		table, err := parseUsers(strings.NewReader("rw:"+hash+":/rw:rw\nro:"+hash+":/ro:ro\nall:"+hash+":/:rw\n"), "users")
		require.NoError(t, err)
		drv.users.Store(table)

		for _, user := range []string{"rw", "ro", "all"} {
			cd, err := drv.AuthUser(nil, user, "pw")
			require.NoError(t, err)
			assert.Equal(t, want, interfacesOf(cd), "%s, user %s", name, user)
		}
	}
}

// linkParts give a test file system each of afero's link interfaces, one at a time.
type (
	lstatPart    struct{}
	symlinkPart  struct{}
	readlinkPart struct{}
)

func (lstatPart) LstatIfPossible(string) (os.FileInfo, bool, error) { return nil, true, os.ErrNotExist }

func (symlinkPart) SymlinkIfPossible(string, string) error { return os.ErrPermission }

func (readlinkPart) ReadlinkIfPossible(string) (string, error) { return "", os.ErrNotExist }

// TestWithLinksEachSet requires withLinks to claim exactly the link interfaces a file system
// has, for each of their eight sets, and to pass calls on to it.
func TestWithLinksEachSet(t *testing.T) {
	t.Parallel()

	fs := afero.NewMemMapFs() // held as an afero.Fs by the structs below, which hides its LstatIfPossible

	sets := []afero.Fs{
		struct{ afero.Fs }{fs},
		struct {
			afero.Fs
			lstatPart
		}{fs, lstatPart{}},
		struct {
			afero.Fs
			symlinkPart
		}{fs, symlinkPart{}},
		struct {
			afero.Fs
			readlinkPart
		}{fs, readlinkPart{}},
		struct {
			afero.Fs
			lstatPart
			symlinkPart
		}{fs, lstatPart{}, symlinkPart{}},
		struct {
			afero.Fs
			lstatPart
			readlinkPart
		}{fs, lstatPart{}, readlinkPart{}},
		struct {
			afero.Fs
			symlinkPart
			readlinkPart
		}{fs, symlinkPart{}, readlinkPart{}},
		struct {
			afero.Fs
			lstatPart
			symlinkPart
			readlinkPart
		}{fs, lstatPart{}, symlinkPart{}, readlinkPart{}},
	}

	seen := map[int]bool{}

	for _, wrapped := range sets {
		set := linkSet(wrapped)
		seen[set] = true

		cd := (&clientDriver{Fs: wrapped}).withLinks(wrapped)
		assert.Equal(t, set, linkSet(cd), "%T", wrapped)

		// A back-end without a link interface takes it away, even where the layer claims it.
		assert.Equal(t, 0, linkSet((&clientDriver{Fs: wrapped}).withLinks(sets[0])))
		assert.Equal(t, set&linkLstat, linkSet((&clientDriver{Fs: wrapped}).withLinks(afero.NewMemMapFs())))

		if lstater, ok := cd.(afero.Lstater); ok {
			_, _, err := lstater.LstatIfPossible("/x")
			require.ErrorIs(t, err, os.ErrNotExist, "LstatIfPossible is the wrapped one's")
		}

		if linker, ok := cd.(afero.Linker); ok {
			require.ErrorIs(t, linker.SymlinkIfPossible("a", "b"), os.ErrPermission)
		}

		if reader, ok := cd.(afero.LinkReader); ok {
			_, err := reader.ReadlinkIfPossible("/x")
			require.ErrorIs(t, err, os.ErrNotExist)
		}
	}

	assert.Len(t, seen, 8, "every set is tried")
}
