package ftpserver

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unusualNames are file names that trip naive clients and servers: non-Latin scripts (RFC 2640
// UTF-8 pathnames), spaces, a leading dash (an ls option), a double quote (PWD and MKD quote
// paths), '#' (a URL fragment, a shell comment).
var unusualNames = []string{"café", "日本語.txt", "Ελληνικά και русский.txt", "-dash", `a"b`, "#hash", "with space"}

func TestUnusualNamesWithJlaffaye(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		conn := s.dial(t)
		contents := map[string][]byte{}

		for i, name := range unusualNames {
			contents[name] = testContent(1000 + i)
			require.NoError(t, conn.Stor(name, bytes.NewReader(contents[name])), name)

			stored, err := afero.ReadFile(s.driver.fs, "/"+name)
			require.NoError(t, err, name)
			assert.Equal(t, sha256Hex(contents[name]), sha256Hex(stored), name)
		}

		// MLSD (jlaffaye/ftp's List when FEAT has MLST), LIST and NLST give the names exactly.
		entries, err := conn.List("")
		require.NoError(t, err)
		assert.ElementsMatch(t, unusualNames, entryNames(entries), "MLSD")

		lister := s.dial(t, ftp.DialWithDisabledMLSD(true))
		entries, err = lister.List("")
		require.NoError(t, err)
		assert.ElementsMatch(t, unusualNames, entryNames(entries), "LIST")

		names, err := conn.NameList("")
		require.NoError(t, err)
		assert.ElementsMatch(t, unusualNames, names, "NLST")

		for _, name := range unusualNames {
			r, retrErr := conn.Retr(name)
			require.NoError(t, retrErr, name)
			assert.Equal(t, sha256Hex(contents[name]), sha256Hex(readAllClose(t, r)), name)

			size, sizeErr := conn.FileSize(name)
			require.NoError(t, sizeErr, name)
			assert.EqualValues(t, len(contents[name]), size, name)

			require.NoError(t, conn.Delete(name), name)
		}

		names, err = conn.NameList("")
		require.NoError(t, err)
		assert.Empty(t, names)
	})
}

// entryNames returns the names of a listing, without MLSD's entry for the listed directory.
func entryNames(entries []*ftp.Entry) []string {
	names := make([]string, 0, len(entries))

	for _, e := range entries {
		if e.Name != "." {
			names = append(names, e.Name)
		}
	}

	return names
}

func TestUnusualNamesRaw(t *testing.T) {
	s := newTestServer(t, withOsFs(t))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	for _, name := range unusualNames {
		code, msg := rc.upload("STOR "+name, []byte(name))
		require.Equal(t, StatusClosingDataConn, code, "%s: %s", name, msg)
	}

	nlst := rc.listing("NLST")
	assert.ElementsMatch(t, unusualNames, nlst, "NLST")

	var listed []string

	for _, line := range rc.listing("LIST") {
		m := lsLine.FindStringSubmatch(line)
		require.NotNil(t, m, line)
		listed = append(listed, m[7])
	}

	assert.ElementsMatch(t, unusualNames, listed, "LIST")

	var mlsd []string

	for _, line := range rc.listing("MLSD") {
		facts, name := mlsxFacts(t, line)
		if facts["type"] == "file" {
			mlsd = append(mlsd, name)
		}
	}

	assert.ElementsMatch(t, unusualNames, mlsd, "MLSD")

	for _, name := range unusualNames {
		assert.Equal(t, name, string(rc.download("RETR "+name)), name)
		assert.Equal(t, name, mlstName(t, rc.expect("MLST "+name, StatusFileOK)), name)
	}

	// A name that looks like ls options is reached through a path; RNFR/RNTO and DELE take
	// names as they are.
	assert.Equal(t, []string{"-dash"}, rc.listing("NLST ./-dash"))
	rc.expect("RNFR with space", StatusFileActionPending)
	rc.expect("RNTO 日本 語", StatusFileOK)
	assert.Equal(t, "with space", string(rc.download("RETR 日本 語")))

	// RFC 959 appendix II: a double quote in a quoted path is doubled.
	assert.Equal(t, `"/q""d" created`, rc.expect(`MKD q"d`, StatusPathCreated))
	rc.expect(`CWD q"d`, StatusFileOK)
	assert.Equal(t, `"/q""d" is the current directory`, rc.expect("PWD", StatusPathCreated))
	rc.expect("CDUP", StatusFileOK)

	for _, name := range append(slices.DeleteFunc(slices.Clone(unusualNames), func(n string) bool {
		return n == "with space"
	}), "日本 語") {
		rc.expect("DELE "+name, StatusFileOK)
	}

	rc.expect(`RMD q"d`, StatusFileOK)
	assert.Empty(t, rc.listing("NLST"))
}

func TestLANG(t *testing.T) {
	s := newTestServer(t)
	rc := s.raw(t) // LANG is allowed before login, so the login replies can use it

	feat := strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n")
	assert.Contains(t, feat, " LANG EN*", "RFC 2640 4.3: the languages, the current one starred")
	assert.Contains(t, feat, " UTF8")

	for _, tag := range []string{"", "EN", "en", "en-US", "EN-gb", "en-GB-oed"} {
		assert.Equal(t, "Language set to EN", rc.expect(strings.TrimSpace("LANG "+tag), StatusOK), tag)
	}

	// Before login, a reply repeats nothing the client sent.
	assert.Equal(t, "Unsupported language, only EN is available", rc.expect("LANG FR", StatusNotImplementedParam))

	for _, tag := range []string{"fr-CA", "zh-Hant", "es-419", "i-klingon"} {
		rc.expect("LANG "+tag, StatusNotImplementedParam)
	}

	for _, tag := range []string{"e!n", "englishes", "en--us", "12", "en-", "-en", "en_US", "ën"} {
		assert.Equal(t, "LANG takes a language tag such as EN", rc.expect("LANG "+tag, StatusSyntaxErrorParameters), tag)
	}

	rc.loginAs()
	rc.expect("LANG EN", StatusOK)
	assert.Equal(t, "Unsupported language FR, only EN is available", rc.expect("LANG FR", StatusNotImplementedParam))
}

func TestIsLanguageTag(t *testing.T) {
	t.Parallel()

	for _, tag := range []string{"EN", "en-US", "x-klingon", "es-419", "abcdefgh-12345678", "a-b-c"} {
		assert.True(t, isLanguageTag(tag), tag)
	}

	for _, tag := range []string{"", "-", "en-", "-en", "abcdefghi", "en-123456789", "1en", "en us", "en\x10", "en-\x19"} {
		assert.False(t, isLanguageTag(tag), "%q", tag)
	}
}

func FuzzIsLanguageTag(f *testing.F) {
	for _, seed := range []string{"EN", "en-US", "", "en--us", "x-12", "fr-CA-x"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, tag string) {
		if !isLanguageTag(tag) {
			return
		}

		subtags := strings.Split(tag, "-")
		require.NotEmpty(t, subtags[0])

		for i, subtag := range subtags {
			require.NotEmpty(t, subtag)
			require.LessOrEqual(t, len(subtag), 8)
			require.Empty(t, strings.Trim(subtag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))

			if i == 0 {
				require.Empty(t, strings.Trim(subtag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
			}
		}
	})
}
