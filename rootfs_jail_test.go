package ftpserver

import (
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/rootfs"
)

// These tests serve a directory through rootfs, with symbolic links in it, to a real client,
// and check that no link, however it is moved, lets a client read, write, create, remove or
// change anything outside the served directory.

// denied is the cause in every reply to a path that leads outside the root: rootfs's escape
// error is a permission error.
const denied = "permission denied"

// openRefused is the reply to a RETR, STOR or APPE whose file leads outside the root.
const openRefused = "Could not access file: " + denied

// requireRefused checks that a client call failed with 550 and text.
func requireRefused(t *testing.T, err error, what, text string) {
	t.Helper()

	var reply *textproto.Error

	require.ErrorAs(t, err, &reply, what)
	assert.Equal(t, StatusActionNotTaken, reply.Code, what)
	assert.Equal(t, text, reply.Msg, what)
}

// expectRefused sends line and checks the 550 reply and its text.
func expectRefused(rc *rawClient, line, text string) {
	rc.t.Helper()

	assert.Equal(rc.t, text, rc.expect(line, StatusActionNotTaken), line)
}

func TestRootfsLinkMovedByRenameStaysInside(t *testing.T) {
	s := newJailedServer(t,
		map[string]string{"mirror/w/latest": "../../secret.txt"},
		map[string]string{"secret.txt": "inside"})
	conn := s.dial(t)

	// The link points inside, and works.
	assert.Equal(t, "inside", retrText(t, conn, "mirror/w/latest"))

	// Moved to the top, its text "../../secret.txt" would name the file outside.
	require.NoError(t, conn.Rename("mirror/w/latest", "/latest"))

	_, err := conn.Retr("latest")
	requireRefused(t, err, "RETR latest", openRefused)
	requireRefused(t, conn.Append("latest", strings.NewReader("appended")), "APPE latest", openRefused)
	requireRefused(t, conn.Stor("latest", strings.NewReader("stored")), "STOR latest", openRefused)

	// SIZE in TYPE A is refused whatever the file; TYPE I, as clients send, reaches the file.
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	expectRefused(rc, "SIZE latest", "Couldn't access /latest: "+denied)
	expectRefused(rc, "MDTM latest", "Couldn't access /latest: "+denied)

	// The link itself stays, inside, as a link: it can be moved back and works again.
	require.NoError(t, conn.Rename("latest", "mirror/w/latest"))
	assert.Equal(t, "inside", retrText(t, conn, "mirror/w/latest"))

	s.requireOutsideUntouched(t)
}

func TestRootfsDirectoryWithLinkMoved(t *testing.T) {
	s := newJailedServer(t,
		map[string]string{"mirror/w/latest": "../../secret.txt"},
		map[string]string{"secret.txt": "inside", "mirror/w/data.txt": "data"})
	conn := s.dial(t)

	require.NoError(t, conn.Rename("mirror/w", "/w"))

	// The directory moved with its files; its link now climbs out and is refused.
	assert.Equal(t, "data", retrText(t, conn, "w/data.txt"))

	_, err := conn.Retr("w/latest")
	requireRefused(t, err, "RETR w/latest", openRefused)
	requireRefused(t, conn.Append("w/latest", strings.NewReader("appended")), "APPE w/latest", openRefused)
	requireRefused(t, conn.Stor("w/latest", strings.NewReader("stored")), "STOR w/latest", openRefused)

	s.requireOutsideUntouched(t)
}

func TestRootfsLinksLeavingRefused(t *testing.T) {
	// abs and up name the secret outside; chain reaches up through two more links; top is the
	// directory around the served one.
	s := newJailedServer(t, map[string]string{
		"abs": "@/secret.txt", "up": "../secret.txt", "chain": "chain2", "chain2": "sub/chain3",
		"sub/chain3": "../up", "top": "..",
	}, map[string]string{"sub/keep.txt": "keep"})
	conn := s.dial(t)
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK) // SIZE in TYPE A is refused before the file is looked at

	for _, name := range []string{"abs", "up", "chain", "top/secret.txt"} {
		_, err := conn.Retr(name)
		requireRefused(t, err, "RETR "+name, openRefused)
		requireRefused(t, conn.Append(name, strings.NewReader("appended")), "APPE "+name, openRefused)
		requireRefused(t, conn.Stor(name, strings.NewReader("stored")), "STOR "+name, openRefused)

		what := "/" + name
		expectRefused(rc, "SIZE "+name, "Couldn't access "+what+": "+denied)
		expectRefused(rc, "MDTM "+name, "Couldn't access "+what+": "+denied)
		expectRefused(rc, "SITE CHMOD 777 "+name, "Cannot change mode: "+denied)
		expectRefused(rc, "MFMT 20200102030405 "+name, "Cannot set time of "+what+": "+denied)
	}

	// Beneath the directory link: nothing is removed, renamed away, created or listed.
	expectRefused(rc, "DELE top/secret.txt", "Couldn't delete /top/secret.txt: "+denied)
	expectRefused(rc, "RNFR top/secret.txt", "Couldn't access /top/secret.txt: "+denied)
	expectRefused(rc, "MKD top/made", `Could not create "/top/made" : `+denied)
	expectRefused(rc, "CWD top", "CD issue: "+denied)
	expectRefused(rc, "SITE SYMLINK /sub/keep.txt top/planted", "Couldn't symlink: "+denied)
	_, err := conn.List("top")
	requireRefused(t, err, "LIST top", "Could not list: "+denied)
	requireRefused(t, conn.Rename("sub/keep.txt", "top/keep.txt"), "RNTO top/keep.txt",
		"Couldn't rename /sub/keep.txt to /top/keep.txt: "+denied)

	// Removing a link removes the link, never what it names.
	require.NoError(t, conn.Delete("abs"))
	require.NoError(t, conn.Delete("top"))

	s.requireOutsideUntouched(t)
}

func TestRootfsDanglingLinkUpload(t *testing.T) {
	links := map[string]string{"dangling": "../created.txt", "dangling-abs": "@/created-abs.txt"}

	t.Run("in place", func(t *testing.T) {
		s := newJailedServer(t, links, nil)
		conn := s.dial(t)

		for _, name := range []string{"dangling", "dangling-abs"} {
			requireRefused(t, conn.Stor(name, strings.NewReader("stored")), "STOR "+name, openRefused)
			requireRefused(t, conn.Append(name, strings.NewReader("appended")), "APPE "+name, openRefused)
		}

		s.requireOutsideUntouched(t)
	})

	t.Run("atomic", func(t *testing.T) {
		s := newJailedServer(t, links, nil, withSettings(func(s *Settings) { s.AtomicUploads = true }))
		conn := s.dial(t)

		// The upload is renamed over the link: a regular file inside replaces it.
		require.NoError(t, conn.Stor("dangling", strings.NewReader("stored")))
		assert.Equal(t, "stored", retrText(t, conn, "dangling"))

		info, err := os.Lstat(filepath.Join(s.served, "dangling"))
		require.NoError(t, err)
		assert.True(t, info.Mode().IsRegular())

		s.requireOutsideUntouched(t)
	})
}

func TestRootfsLinksInsideWork(t *testing.T) {
	s := newJailedServer(t,
		map[string]string{"docs/current": "v2", "docs/v2/readme": "../../readme.txt", "alias": "docs/current/readme"},
		map[string]string{"readme.txt": "read me"})
	conn := s.dial(t)

	assert.Equal(t, "read me", retrText(t, conn, "alias"))
	assert.Equal(t, "read me", retrText(t, conn, "docs/current/readme"))

	require.NoError(t, conn.Append("alias", strings.NewReader(", please")))
	assert.Equal(t, "read me, please", retrText(t, conn, "readme.txt"))

	rc := s.rawLoggedIn(t)
	rc.expect("SITE CHMOD 600 alias", StatusOK)
	rc.expect("MFMT 20200102030405 alias", StatusFileStatus)
	rc.expect("CWD docs/current", StatusFileOK)

	info, err := os.Stat(filepath.Join(s.served, "readme.txt"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Equal(t, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), info.ModTime().UTC())

	// SITE SYMLINK takes paths of the client; the link is written relative and works.
	rc.expect("SITE SYMLINK /readme.txt /docs/v2/again", StatusOK)
	assert.Equal(t, "read me, please", retrText(t, conn, "docs/current/again"))

	text, err := os.Readlink(filepath.Join(s.served, "docs", "v2", "again"))
	require.NoError(t, err)
	assert.Equal(t, filepath.FromSlash("../../readme.txt"), text)

	s.requireOutsideUntouched(t)
}

// TestRootfsEscapeIsPermissionError keeps the mapping the replies above rely on: rootfs's
// escape error is a permission error, which errorCode answers with 550.
func TestRootfsEscapeIsPermissionError(t *testing.T) {
	err := &os.PathError{Op: "openat", Path: "latest", Err: rootfs.ErrOutsideRoot}

	assert.Equal(t, StatusActionNotTaken, errorCode(err, StatusActionAborted))
	assert.Equal(t, denied, clientErrorText(err))
	assert.NotErrorIs(t, err, os.ErrNotExist)
}
