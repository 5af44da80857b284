package ftpserver

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendLISTLine(t *testing.T) {
	t.Parallel()

	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		file listingTestFile
		want string
	}{
		{
			name: "recent file",
			file: listingTestFile{"a.txt", 123, 0o644, time.Date(2026, time.March, 2, 9, 5, 0, 0, time.UTC)},
			want: "-rw-r--r-- 1 ftp ftp          123 Mar  2 09:05 a.txt\r\n",
		},
		{
			name: "old file shows the year",
			file: listingTestFile{"old", 0, 0o600, time.Date(2024, time.December, 25, 9, 5, 0, 0, time.UTC)},
			want: "-rw------- 1 ftp ftp            0 Dec 25  2024 old\r\n",
		},
		{
			name: "directory with spaces in its name",
			file: listingTestFile{"my dir", 4096, fs.ModeDir | 0o755, time.Date(2026, time.January, 10, 23, 59, 0, 0, time.UTC)},
			want: "drwxr-xr-x 1 ftp ftp         4096 Jan 10 23:59 my dir\r\n",
		},
		{
			name: "symlink",
			file: listingTestFile{"link", 7, fs.ModeSymlink | 0o777, listingTestNow},
			want: "lrwxrwxrwx 1 ftp ftp            7 Mar 15 12:00 link\r\n",
		},
		{
			name: "shown in UTC",
			file: listingTestFile{"z", 1, 0o644, time.Date(2026, time.March, 1, 0, 30, 0, 0, paris)},
			want: "-rw-r--r-- 1 ftp ftp            1 Feb 28 23:30 z\r\n",
		},
		{
			name: "a little in the future",
			file: listingTestFile{"f", 1, 0o644, listingTestNow.Add(30 * time.Minute)},
			want: "-rw-r--r-- 1 ftp ftp            1 Mar 15 12:30 f\r\n",
		},
		{
			name: "far in the future shows the year",
			file: listingTestFile{"f", 1, 0o644, listingTestNow.Add(48 * time.Hour)},
			want: "-rw-r--r-- 1 ftp ftp            1 Mar 17  2026 f\r\n",
		},
		{
			name: "just under six months",
			file: listingTestFile{"f", 1, 0o644, listingTestNow.Add(-listingRecentPast + time.Second)},
			want: "-rw-r--r-- 1 ftp ftp            1 Sep 13 21:05 f\r\n",
		},
		{
			name: "six months",
			file: listingTestFile{"f", 1, 0o644, listingTestNow.Add(-listingRecentPast)},
			want: "-rw-r--r-- 1 ftp ftp            1 Sep 13  2025 f\r\n",
		},
		{
			name: "size wider than the column",
			file: listingTestFile{"big", 12345678901234, 0o644, listingTestNow},
			want: "-rw-r--r-- 1 ftp ftp 12345678901234 Mar 15 12:00 big\r\n",
		},
		{
			name: "size exactly the column",
			file: listingTestFile{"big", 123456789012, 0o644, listingTestNow},
			want: "-rw-r--r-- 1 ftp ftp 123456789012 Mar 15 12:00 big\r\n",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			prefix := []byte("kept|")
			got := appendLISTLine(prefix, tt.file, listingTestNow)
			assert.Equal(t, "kept|"+tt.want, string(got))
		})
	}
}

func TestListingTimesMatchAppendFormat(t *testing.T) {
	times := []time.Time{
		time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, time.December, 31, 23, 59, 59, 999, time.UTC),
		time.Date(1999, time.February, 28, 0, 0, 0, 0, time.UTC),
		time.Date(0, time.March, 10, 12, 30, 0, 0, time.UTC),
		time.Date(999, time.October, 9, 9, 9, 9, 0, time.UTC),
		time.Date(9999, time.November, 30, 1, 2, 3, 0, time.UTC),
		time.Date(10000, time.May, 1, 1, 1, 1, 0, time.UTC),
		time.Date(-1, time.June, 1, 1, 1, 1, 0, time.UTC),
		time.Unix(0, 0).UTC(),
	}

	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(1<<36)-(1<<35), 0).UTC())
	}

	for _, tm := range times {
		assert.Equal(t, tm.Format("Jan _2 15:04"), string(appendLSTime(nil, tm, true)), "%v", tm)
		assert.Equal(t, tm.Format("Jan _2  2006"), string(appendLSTime(nil, tm, false)), "%v", tm)
		assert.Equal(t, tm.Format("20060102150405"), string(appendTimeVal(nil, tm)), "%v", tm)
	}
}

func TestAppendLSMode(t *testing.T) {
	t.Parallel()

	tests := []struct {
		mode fs.FileMode
		want string
	}{
		{0o644, "-rw-r--r--"},
		{0, "----------"},
		{fs.ModeDir | 0o755, "drwxr-xr-x"},
		{fs.ModeSymlink | 0o777, "lrwxrwxrwx"},
		{fs.ModeNamedPipe | 0o600, "prw-------"},
		{fs.ModeSocket | 0o755, "srwxr-xr-x"},
		{fs.ModeDevice | fs.ModeCharDevice | 0o666, "crw-rw-rw-"},
		{fs.ModeDevice | 0o660, "brw-rw----"},
		{fs.ModeIrregular | 0o644, "?rw-r--r--"},
		{fs.ModeSetuid | 0o755, "-rwsr-xr-x"},
		{fs.ModeSetuid | 0o644, "-rwSr--r--"},
		{fs.ModeSetgid | 0o2755, "-rwxr-sr-x"},
		{fs.ModeSetgid | 0o644, "-rw-r-Sr--"},
		{fs.ModeDir | fs.ModeSticky | 0o777, "drwxrwxrwt"},
		{fs.ModeDir | fs.ModeSticky | 0o776, "drwxrwxrwT"},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendLSMode(nil, tt.mode)), "mode %v", tt.mode)
	}
}

func TestAppendNLSTLine(t *testing.T) {
	t.Parallel()

	assert.Equal(t, "a\r\nmy file\r\n", string(appendNLSTLine(appendNLSTLine(nil, "a"), "my file")))
}

func TestParseMLSTFacts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		opt  string
		want mlstFacts
	}{
		{"type;size;", factType | factSize},
		{"TYPE;Size;MODIFY;perm;UNIQUE;unix.MODE;Unix.Owner;unix.group;", allMLSTFacts},
		{"TYPE;Size;MODIFY;perm;unix.MODE;", allMLSTFacts &^ (factUnique | factUnixOwner | factUnixGroup)},
		{"type;size", factType | factSize},
		{"", 0},
		{";;;", 0},
		{"unique;type;lang;create;", factUnique | factType},
		{"UNIX.owner;UNIX.group;", factUnixOwner | factUnixGroup},
		{" type ; perm;", factType | factPerm},
		{"typo;", 0},
		{"type;type;", factType},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.want, parseMLSTFacts(tt.opt), "%q", tt.opt)
	}
}

func TestMLSTFactsText(t *testing.T) {
	t.Parallel()

	tests := []struct {
		facts mlstFacts
		str   string
		feat  string
	}{
		{
			allMLSTFacts, "type;size;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;",
			"MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;UNIX.owner*;UNIX.group*;",
		},
		{0, "", "MLST type;size;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;"},
		{
			factUnixMode | factType, "type;UNIX.mode;",
			"MLST type*;size;modify;perm;unique;UNIX.mode*;UNIX.owner;UNIX.group;",
		},
		{
			factSize | factModify, "size;modify;",
			"MLST type;size*;modify*;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;",
		},
		{
			factUnique | factUnixGroup, "unique;UNIX.group;",
			"MLST type;size;modify;perm;unique*;UNIX.mode;UNIX.owner;UNIX.group*;",
		},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.str, tt.facts.String())
		assert.Equal(t, tt.feat, tt.facts.featLine())
		assert.Equal(t, tt.facts, parseMLSTFacts(tt.facts.String()))
	}
}

func TestAppendMLSxEntry(t *testing.T) {
	t.Parallel()

	mtime := time.Date(2026, time.January, 2, 15, 4, 5, 0, time.FixedZone("X", 2*3600))
	file := listingTestFile{"a.txt", 123, 0o644, mtime}
	dir := listingTestFile{"sub", 4096, fs.ModeDir | 0o755, mtime}
	tests := []struct {
		name     string
		fi       listingTestFile
		entry    string
		kind     string
		facts    mlstFacts
		readOnly bool
		want     string
	}{
		{
			name: "file", fi: file, entry: "a.txt", facts: allMLSTFacts,
			want: "type=file;size=123;modify=20260102130405;perm=adfrw;UNIX.mode=0644; a.txt\r\n",
		},
		{
			name: "read-only file", fi: file, entry: "a.txt", facts: allMLSTFacts, readOnly: true,
			want: "type=file;size=123;modify=20260102130405;perm=r;UNIX.mode=0644; a.txt\r\n",
		},
		{
			name: "unreadable file", fi: listingTestFile{"s", 0, 0o200, mtime}, entry: "s", facts: allMLSTFacts,
			want: "type=file;size=0;modify=20260102130405;perm=adfw;UNIX.mode=0200; s\r\n",
		},
		{
			name: "directory has no size", fi: dir, entry: "sub", facts: allMLSTFacts,
			want: "type=dir;modify=20260102130405;perm=cdeflmp;UNIX.mode=0755; sub\r\n",
		},
		{
			name: "read-only directory", fi: dir, entry: "sub", facts: allMLSTFacts, readOnly: true,
			want: "type=dir;modify=20260102130405;perm=el;UNIX.mode=0755; sub\r\n",
		},
		{
			name: "current directory", fi: dir, entry: ".", kind: "cdir", facts: factType | factPerm, readOnly: true,
			want: "type=cdir;perm=el; .\r\n",
		},
		{
			name: "parent directory", fi: dir, entry: "..", kind: "pdir", facts: factType,
			want: "type=pdir; ..\r\n",
		},
		{
			name: "name given, not the file's", fi: file, entry: "/full/path to/a.txt", facts: factSize,
			want: "size=123; /full/path to/a.txt\r\n",
		},
		{
			name: "no facts", fi: file, entry: "a.txt", facts: 0,
			want: " a.txt\r\n",
		},
		{
			name: "mode with special bits", fi: listingTestFile{"x", 1, fs.ModeSetuid | 0o4755, mtime}, entry: "x",
			facts: factUnixMode,
			want:  "UNIX.mode=0755; x\r\n",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := appendMLSxEntry([]byte("kept|"), tt.fi, tt.entry, tt.kind, tt.facts, tt.readOnly)
			assert.Equal(t, "kept|"+tt.want, string(got))
		})
	}
}

func TestParseLISTArgs(t *testing.T) {
	t.Parallel()

	tests := []struct {
		param, flags, path string
	}{
		{"", "", ""},
		{"-la /tmp", "la", "/tmp"},
		{"-la", "la", ""},
		{"-al", "al", ""},
		{"my file", "", "my file"},
		{"-a -l dir", "al", "dir"},
		{"-A", "A", ""},
		{"-1", "1", ""},
		{"  -l   some dir  ", "l", "some dir"},
		{"-", "", "-"},
		{"--", "", "--"},
		{"-l --weird", "l", "--weird"},
		{"-l-x", "", "-l-x"},
		{"-la.txt", "", "-la.txt"},
		{"dir -l", "", "dir -l"},
		{"./-l", "", "./-l"},
		{"-l dir with -a inside", "l", "dir with -a inside"},
	}

	for _, tt := range tests {
		flags, path := parseLISTArgs(tt.param)
		assert.Equal(t, tt.flags, flags, "flags of %q", tt.param)
		assert.Equal(t, tt.path, path, "path of %q", tt.param)
	}
}

// Not parallel: AllocsPerRun counts the allocations of every goroutine, so it runs alone.
func TestListingNoAllocs(t *testing.T) {
	// An interface value already, as drivers return it: converting here would allocate in the loop.
	var file os.FileInfo = listingTestFile{"some-file-name.txt", 123456, 0o644, listingTestNow.Add(-time.Hour)}
	buf := make([]byte, 0, 256)

	assert.Zero(t, testing.AllocsPerRun(100, func() {
		buf = appendLISTLine(buf[:0], file, listingTestNow)
	}))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		buf = appendMLSxEntry(buf[:0], file, file.Name(), "", allMLSTFacts, false)
	}))
}

func FuzzParseLISTArgs(f *testing.F) {
	for _, seed := range []string{"", "-la /tmp", "-a -l dir", "my file", "-", " -l  x ", "-l-x"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, param string) {
		flags, path := parseLISTArgs(param)
		require.Empty(t, strings.Trim(flags, listOptionLetters), "flags %q", flags)
		require.Equal(t, strings.Trim(path, " "), path)
		require.LessOrEqual(t, len(flags)+len(path), len(param))

		// What was found is found again from its canonical spelling.
		if flags != "" {
			again, againPath := parseLISTArgs("-" + flags + " " + path)
			require.Equal(t, flags, again)
			require.Equal(t, path, againPath)
		}
		// A path left is never itself an option group.
		if again, _ := parseLISTArgs(path); again != "" {
			t.Fatalf("path %q of %q still holds options %q", path, param, again)
		}
	})
}

func FuzzParseMLSTFacts(f *testing.F) {
	for _, seed := range []string{"", "type;size;", "TYPE;unix.mode", ";;x;perm;", " modify ;"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, opt string) {
		facts := parseMLSTFacts(opt)
		require.Zero(t, facts&^allMLSTFacts)
		require.Equal(t, facts, parseMLSTFacts(facts.String()))
		require.Equal(t, facts, parseMLSTFacts(asciiUpper(opt)))
		require.True(t, strings.HasPrefix(facts.featLine(), "MLST type"))
	})
}

// asciiUpper upper-cases ASCII letters only, leaving every other byte alone.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}

	return string(b)
}

func BenchmarkAppendLISTLine(b *testing.B) {
	// An interface value already, as drivers return it: converting here would allocate in the loop.
	var file os.FileInfo = listingTestFile{"some-file-name.txt", 123456, 0o644, listingTestNow.Add(-time.Hour)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()

	for b.Loop() {
		buf = appendLISTLine(buf[:0], file, listingTestNow)
	}
}

func BenchmarkAppendMLSxEntry(b *testing.B) {
	// An interface value already, as drivers return it: converting here would allocate in the loop.
	var file os.FileInfo = listingTestFile{"some-file-name.txt", 123456, 0o644, listingTestNow.Add(-time.Hour)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()

	for b.Loop() {
		buf = appendMLSxEntry(buf[:0], file, file.Name(), "", allMLSTFacts, false)
	}
}
