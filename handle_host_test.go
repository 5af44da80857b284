package ftpserver

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errUnknownSite = errors.New("no such site")

// hostDriver serves one site per virtual host, chosen by HOST; a client that sends no HOST
// gets the test driver's file system.
type hostDriver struct {
	*testDriver

	sites    map[string]afero.Fs
	accepted recorder[string] // every host AcceptHost was asked about
	authHost recorder[string] // the host AuthUser saw, login after login
}

func (d *hostDriver) AcceptHost(_ ClientContext, host string) error {
	d.accepted.add(host)

	if _, ok := d.sites[host]; !ok {
		return errUnknownSite
	}

	return nil
}

func (d *hostDriver) AuthUser(cc ClientContext, user, pass string) (ClientDriver, error) {
	h, ok := cc.(ClientContextHost)
	if !ok {
		return nil, errUnknownSite
	}

	d.authHost.add(h.Host())

	if _, err := d.testDriver.AuthUser(cc, user, pass); err != nil {
		return nil, err
	}

	if site, ok := d.sites[h.Host()]; ok {
		return site, nil
	}

	return d.fs, nil
}

func newHostServer(t *testing.T) (*testServer, *hostDriver) {
	t.Helper()

	hosts := &hostDriver{sites: map[string]afero.Fs{}}

	for _, name := range []string{"one.example", "two.example"} {
		site := afero.NewMemMapFs()
		require.NoError(t, writeFile(site, "/"+name+".txt", []byte("welcome to "+name)))
		hosts.sites[name] = site
	}

	s := newTestServerMain(t, func(d *testDriver) MainDriver {
		hosts.testDriver = d

		return hosts
	})
	require.NoError(t, writeFile(s.driver.fs, "/default.txt", []byte("default site")))

	return s, hosts
}

func TestHOSTServesSitesByName(t *testing.T) {
	s, hosts := newHostServer(t)

	one := s.raw(t)
	assert.Equal(t, "Host accepted", one.expect("HOST one.example", StatusServiceReady))
	one.loginAs()

	two := s.raw(t)
	two.expect("HOST TWO.Example.", StatusServiceReady) // names are compared in canonical form
	two.loginAs()

	none := s.raw(t)
	none.loginAs()

	assert.Equal(t, []string{"one.example.txt"}, one.listing("NLST"))
	assert.Equal(t, "welcome to one.example", string(one.download("RETR one.example.txt")))
	assert.Equal(t, []string{"two.example.txt"}, two.listing("NLST"))
	assert.Equal(t, "welcome to two.example", string(two.download("RETR two.example.txt")))
	one.expect("SIZE two.example.txt", StatusActionNotTaken)
	assert.Equal(t, []string{"default.txt"}, none.listing("NLST"))

	// A refused host leaves the client where it was; REIN forgets the host.
	assert.Equal(t, "Unknown host", s.raw(t).expect("HOST three.example", StatusNotImplementedParam))
	one.expect("REIN", StatusServiceReady)
	one.expect("HOST two.example", StatusServiceReady)
	one.loginAs()
	assert.Equal(t, []string{"two.example.txt"}, one.listing("NLST"))

	assert.ElementsMatch(t, []string{"one.example", "two.example", "", "two.example"}, hosts.authHost.all())
	assert.ElementsMatch(t, []string{"one.example", "two.example", "three.example", "two.example"},
		hosts.accepted.all())
}

func TestHOSTSequence(t *testing.T) {
	s, hosts := newHostServer(t)

	rc := s.raw(t)
	assert.Contains(t, strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n"), " HOST")
	rc.expect("HOST", StatusSyntaxErrorParameters)

	// RFC 7151: HOST comes before USER; after it, and after login, it is a bad sequence.
	rc.expect("USER "+testUser, StatusUserOK)
	assert.Equal(t, "HOST must be sent before USER", rc.expect("HOST one.example", StatusBadCommandSequence))
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("HOST one.example", StatusBadCommandSequence)
	assert.Empty(t, hosts.accepted.all(), "the driver is not asked out of sequence")

	// After a failed login the client may still choose its host.
	rc = s.raw(t)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS wrong", StatusNotLoggedIn)
	rc.expect("HOST one.example", StatusServiceReady)
	rc.loginAs()
	assert.Equal(t, []string{"one.example.txt"}, rc.listing("NLST"))
}

func TestHOSTWithoutExtension(t *testing.T) {
	s := newTestServer(t)
	rc := s.raw(t)

	// A server with one site answers every well-formed name with that site.
	rc.expect("HOST [2001:DB8::1]", StatusServiceReady)
	rc.loginAs()

	s.driver.mu.Lock()
	cc := s.driver.lastClientCtx
	s.driver.mu.Unlock()

	h, ok := cc.(ClientContextHost)
	require.True(t, ok, "every ClientContext the server gives has Host")
	assert.Equal(t, "[2001:db8::1]", h.Host())

	rc.expect("REIN", StatusServiceReady)
	assert.Empty(t, h.Host(), "REIN forgets the host")

	for _, bad := range []string{"exa mple.com", "127.0.0.1:21", "[::1]:21", "::1", "-bad.example", "a_b.example"} {
		assert.Equal(t, "HOST takes a domain name, an IPv4 address or an [IPv6] address",
			rc.expect("HOST "+bad, StatusSyntaxErrorParameters), bad)
	}
}

func TestParseHOSTArg(t *testing.T) {
	t.Parallel()

	tests := []struct {
		arg, host string
		ok        bool
	}{
		{"ftp.example.com", "ftp.example.com", true},
		{"FTP.Example.COM.", "ftp.example.com", true},
		{"localhost", "localhost", true},
		{"xn--caf-dma.example", "xn--caf-dma.example", true},
		{"192.0.2.10", "192.0.2.10", true},
		{"[::1]", "[::1]", true},
		{"[2001:DB8:0:0:0:0:0:1]", "[2001:db8::1]", true},
		{"[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]", true},
		{"a-b.c-d", "a-b.c-d", true},
		{strings.Repeat("a", 63) + ".example", strings.Repeat("a", 63) + ".example", true},
		{"", "", false},
		{".", "", false},
		{"..", "", false},
		{"a..b", "", false},
		{"-a.example", "", false},
		{"a-.example", "", false},
		{strings.Repeat("a", 64) + ".example", "", false},
		{strings.Repeat("a.", 127) + "ab", "", false},
		{"café.example", "", false},
		{"under_score.example", "", false},
		{"with space", "", false},
		{"192.0.2.10:21", "", false},
		{"::1", "", false},
		{"[::1", "", false},
		{"[::1]:21", "", false},
		{"[192.0.2.1]", "", false},
		{"[fe80::1%eth0]", "", false},
	}

	for _, tt := range tests {
		host, ok := parseHOSTArg(tt.arg)
		assert.Equal(t, tt.ok, ok, "%q", tt.arg)

		if tt.ok {
			assert.Equal(t, tt.host, host, "%q", tt.arg)
		}
	}
}

func FuzzParseHOSTArg(f *testing.F) {
	for _, seed := range []string{"ftp.example.com", "[::1]", "192.0.2.1", "A.B.", "[::1]:21", "x_y", "a..b"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, arg string) {
		host, ok := parseHOSTArg(arg)
		if !ok {
			return
		}

		require.NotEmpty(t, host)
		require.Equal(t, strings.ToLower(host), host)
		require.NotContains(t, host, " ")
		require.LessOrEqual(t, len(host), maxHostNameLength+2) // an IPv6 literal has brackets

		if strings.Contains(host, ":") {
			require.True(t, strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"), "%q", host)
		}

		again, ok := parseHOSTArg(host)
		require.True(t, ok, "the canonical form %q of %q is accepted", host, arg)
		require.Equal(t, host, again, "canonical forms are stable")
	})
}
