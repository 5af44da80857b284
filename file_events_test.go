package ftpserver

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileEventCase is one file operation a client runs, and the event it must produce.
type fileEventCase struct {
	name string
	// client runs the operation with jlaffaye/ftp; when nil, raw is sent and must get code.
	client  func(conn *ftp.ServerConn) error
	raw     string
	code    int
	want    Event // Time and Duration are not compared; Err is checked by wantErr
	wantErr error // nil: the operation succeeded; else the event's Err must wrap it
	// check looks at the file system after the operation.
	check func(t *testing.T, fs afero.Fs)
}

// fileEventCases are the file operations and their events, successful and failed, over a file
// system holding /f.txt (5 bytes), /a.txt and the empty directory /empty.
func fileEventCases() []fileEventCase {
	owner := strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
	mtime := time.Date(2020, 2, 29, 12, 34, 56, 0, time.UTC)

	return []fileEventCase{
		{
			name: "DELE", client: func(conn *ftp.ServerConn) error { return conn.Delete("/f.txt") },
			want:  Event{Kind: EventFileDeleted, Command: "DELE", Path: "/f.txt", Bytes: 5},
			check: missing("/f.txt"),
		},
		{
			name: "DELE missing", raw: "DELE /nothing", code: StatusActionNotTaken,
			want: Event{Kind: EventFileDeleted, Command: "DELE", Path: "/nothing"}, wantErr: os.ErrNotExist,
		},
		{
			name: "DELE directory", raw: "DELE /empty", code: StatusActionNotTaken,
			want: Event{Kind: EventFileDeleted, Command: "DELE", Path: "/empty"}, wantErr: errIsDirectory,
		},
		{
			name: "MKD", client: func(conn *ftp.ServerConn) error { return conn.MakeDir("/new") },
			want: Event{Kind: EventDirCreated, Command: "MKD", Path: "/new"}, check: isDir("/new"),
		},
		{
			name: "XMKD", raw: "XMKD /x", code: StatusPathCreated,
			want: Event{Kind: EventDirCreated, Command: "XMKD", Path: "/x"}, check: isDir("/x"),
		},
		{
			name: "MKD existing", raw: "MKD /empty", code: StatusActionNotTaken,
			want: Event{Kind: EventDirCreated, Command: "MKD", Path: "/empty"}, wantErr: os.ErrExist,
		},
		{
			name: "RMD", client: func(conn *ftp.ServerConn) error { return conn.RemoveDir("/empty") },
			want: Event{Kind: EventDirRemoved, Command: "RMD", Path: "/empty"}, check: missing("/empty"),
		},
		{
			name: "XRMD missing", raw: "XRMD /nothing", code: StatusActionNotTaken,
			want: Event{Kind: EventDirRemoved, Command: "XRMD", Path: "/nothing"}, wantErr: os.ErrNotExist,
		},
		{
			name: "rename", client: func(conn *ftp.ServerConn) error { return conn.Rename("/a.txt", "/b.txt") },
			want:  Event{Kind: EventRenamed, Command: "RNTO", Path: "/a.txt", Target: "/b.txt"},
			check: func(t *testing.T, fs afero.Fs) { t.Helper(); missing("/a.txt")(t, fs); isFile("/b.txt", "a")(t, fs) },
		},
		{
			name:   "rename missing source",
			client: func(conn *ftp.ServerConn) error { return conn.Rename("/nothing", "/b.txt") },
			want:   Event{Kind: EventRenamed, Command: "RNFR", Path: "/nothing"}, wantErr: os.ErrNotExist,
		},
		{
			name:    "rename into a missing directory",
			client:  func(conn *ftp.ServerConn) error { return conn.Rename("/a.txt", "/no/b.txt") },
			want:    Event{Kind: EventRenamed, Command: "RNTO", Path: "/a.txt", Target: "/no/b.txt"},
			wantErr: os.ErrNotExist, check: isFile("/a.txt", "a"),
		},
		{
			name: "SITE CHMOD", raw: "SITE CHMOD 600 /f.txt", code: StatusOK,
			want: Event{Kind: EventModeChanged, Command: "SITE CHMOD", Path: "/f.txt"},
			check: func(t *testing.T, fs afero.Fs) {
				t.Helper()

				info, err := fs.Stat("/f.txt")
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			},
		},
		{
			name: "SITE CHMOD missing", raw: "SITE CHMOD 600 /nothing", code: StatusActionNotTaken,
			want: Event{Kind: EventModeChanged, Command: "SITE CHMOD", Path: "/nothing"}, wantErr: os.ErrNotExist,
		},
		{
			name: "SITE CHOWN", raw: "SITE CHOWN " + owner + " /f.txt", code: StatusOK,
			want: Event{Kind: EventOwnerChanged, Command: "SITE CHOWN", Path: "/f.txt"},
		},
		{
			name: "SITE SYMLINK", raw: "SITE SYMLINK /f.txt /link", code: StatusOK,
			want: Event{Kind: EventSymlinkCreated, Command: "SITE SYMLINK", Path: "/link", Target: "/f.txt"},
		},
		{
			name: "SITE MKDIR", raw: "SITE MKDIR /p/q", code: StatusFileOK,
			want: Event{Kind: EventDirCreated, Command: "SITE MKDIR", Path: "/p/q"}, check: isDir("/p/q"),
		},
		{
			name: "SITE RMDIR", raw: "SITE RMDIR /empty", code: StatusFileOK,
			want: Event{Kind: EventDirRemoved, Command: "SITE RMDIR", Path: "/empty"}, check: missing("/empty"),
		},
		{
			name: "MFMT", client: func(conn *ftp.ServerConn) error { return conn.SetTime("/f.txt", mtime) },
			want: Event{Kind: EventTimeChanged, Command: "MFMT", Path: "/f.txt"},
			check: func(t *testing.T, fs afero.Fs) {
				t.Helper()

				info, err := fs.Stat("/f.txt")
				require.NoError(t, err)
				assert.True(t, mtime.Equal(info.ModTime()), "mtime %s", info.ModTime())
			},
		},
		{
			name: "MFMT missing", raw: "MFMT 20200229123456 /nothing", code: StatusActionNotTaken,
			want: Event{Kind: EventTimeChanged, Command: "MFMT", Path: "/nothing"}, wantErr: os.ErrNotExist,
		},
	}
}

// TestFileEvents runs each file operation on a fresh server and checks that it produced
// exactly one event, with the right kind, user, command, paths and result.
func TestFileEvents(t *testing.T) {
	for _, tc := range fileEventCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, events := newEventsServer(t, withOsFs(t))
			require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("hello")))
			require.NoError(t, writeFile(s.driver.fs, "/a.txt", []byte("a")))
			require.NoError(t, s.driver.fs.Mkdir("/empty", 0o755))

			conn := s.dial(t)
			skipLogin(t, events)

			if tc.client != nil {
				err := tc.client(conn)
				if tc.wantErr == nil {
					require.NoError(t, err)
				} else {
					require.Error(t, err)
				}
			} else {
				rc := s.rawLoggedIn(t)
				skipLogin(t, events)
				rc.expect(tc.raw, tc.code)
			}

			got := onlyEvent(t, events)
			want := tc.want
			want.User = testUser
			want.Time, want.Duration, want.Err = got.Time, got.Duration, got.Err
			assert.Equal(t, want, got.Event)

			if tc.wantErr == nil {
				require.NoError(t, got.Err)
			} else {
				require.ErrorIs(t, got.Err, tc.wantErr)
			}

			if tc.check != nil {
				tc.check(t, s.driver.fs)
			}
		})
	}
}

// TestFileEventsCOMB reports a COMB as the file it made and the removal of each part.
func TestFileEventsCOMB(t *testing.T) {
	s, events := newEventsServer(t, withOsFs(t), withSettings(func(st *Settings) { st.EnableCOMB = true }))
	require.NoError(t, writeFile(s.driver.fs, "/part1", []byte("abc")))
	require.NoError(t, writeFile(s.driver.fs, "/part2", []byte("defg")))

	rc := s.rawLoggedIn(t)
	skipLogin(t, events)
	rc.expect("COMB /whole /part1 /part2", StatusFileOK)

	for _, want := range []Event{
		{Kind: EventCombined, Command: "COMB", Path: "/whole", Bytes: 7},
		{Kind: EventFileDeleted, Command: "COMB", Path: "/part1", Bytes: 3},
		{Kind: EventFileDeleted, Command: "COMB", Path: "/part2", Bytes: 4},
	} {
		got := nextEvent(t, events)
		want.User = testUser
		want.Time, want.Duration = got.Time, got.Duration
		assert.Equal(t, want, got.Event)
	}

	isFile("/whole", "abcdefg")(t, s.driver.fs)

	// A part that is missing: nothing is made, nothing removed.
	rc.expect("COMB /whole /part1", StatusActionNotTaken)

	got := onlyEvent(t, events)
	assert.Equal(t, EventCombined, got.Kind)
	require.ErrorIs(t, got.Err, os.ErrNotExist)
}

// TestFileEventsWithoutExtension runs file operations, good and failed, for a driver without
// MainDriverExtensionEvents, as every ftpserverlib driver is, and for one with it: the replies
// are the same, word for word.
func TestFileEventsWithoutExtension(t *testing.T) {
	lines := []string{
		"MKD /d", "MKD /d", "RNFR /f.txt", "RNTO /d/g.txt", "RNFR /f.txt", "SITE CHMOD 600 /d/g.txt",
		"MFMT 20200229123456 /d/g.txt", "DELE /d/g.txt", "DELE /d/g.txt", "RMD /d", "XRMD /d",
	}

	replies := func(s *testServer) []string {
		require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("hello")))

		rc := s.rawLoggedIn(t)
		got := make([]string, 0, len(lines))

		for _, line := range lines {
			code, msg := rc.cmd(line)
			got = append(got, strconv.Itoa(code)+" "+msg)
		}

		return got
	}

	without := replies(newTestServer(t, withOsFs(t)))
	withEvents, _ := newEventsServer(t, withOsFs(t))

	assert.Equal(t, without, replies(withEvents))
	assert.Equal(t, "550", without[1][:3], "MKD of an existing directory")
	assert.Equal(t, "550", without[4][:3], "RNFR of a missing file")
}

// missing checks that name does not exist.
func missing(name string) func(*testing.T, afero.Fs) {
	return func(t *testing.T, fs afero.Fs) {
		t.Helper()

		_, err := fs.Stat(name)
		require.ErrorIs(t, err, os.ErrNotExist)
	}
}

// isDir checks that name is a directory.
func isDir(name string) func(*testing.T, afero.Fs) {
	return func(t *testing.T, fs afero.Fs) {
		t.Helper()

		info, err := fs.Stat(name)
		require.NoError(t, err)
		assert.True(t, info.IsDir(), "%s is a directory", name)
	}
}

// isFile checks that name is a file holding content.
func isFile(name, content string) func(*testing.T, afero.Fs) {
	return func(t *testing.T, fs afero.Fs) {
		t.Helper()

		data, err := afero.ReadFile(fs, name)
		require.NoError(t, err)
		assert.Equal(t, content, string(data))
	}
}
