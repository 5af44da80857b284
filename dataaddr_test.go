package ftpserver

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePORTArg(t *testing.T) {
	t.Parallel()

	tests := []struct {
		param string
		want  string // "" when the parse must fail
	}{
		{"127,0,0,1,4,1", "127.0.0.1:1025"},
		{"192,168,1,2,255,255", "192.168.1.2:65535"},
		{" 10 , 0,0 ,1 , 0 , 21 ", "10.0.0.1:21"},
		{"010,000,0,1,0,21", "10.0.0.1:21"},
		{"0,0,0,0,0,1", "0.0.0.0:1"},
		{"127,0,0,1,0,0", ""},
		{"127,0,0,1,4", ""},
		{"127,0,0,1,4,1,", ""},
		{"127,0,0,1,4,1,7", ""},
		{"256,0,0,1,4,1", ""},
		{"127,0,0,1,4,-1", ""},
		{"127,0,0,1,4,+1", ""},
		{"127,0,0,1,4,0001", ""},
		{"127,0,0,1,4,1a", ""},
		{"127,0,,1,4,1", ""},
		{"127.0.0.1,4,1", ""},
		{"", ""},
		{",,,,,", ""},
	}

	for _, tt := range tests {
		addr, err := parsePORTArg(tt.param)
		if tt.want == "" {
			require.ErrorIs(t, err, ErrRemoteAddrFormat, "%q", tt.param)
			assert.Nil(t, addr)

			continue
		}
		require.NoError(t, err, "%q", tt.param)
		assert.Equal(t, tt.want, addr.String())
		assert.Len(t, addr.IP, net.IPv4len)
	}
}

func TestParseEPRTArg(t *testing.T) {
	t.Parallel()

	tests := []struct {
		param       string
		want        string // "" when the parse must fail
		unsupported bool   // the failure is an unknown address family
	}{
		{param: "|1|132.235.1.2|6275|", want: "132.235.1.2:6275"},
		{param: "|2|1080::8:800:200C:417A|5282|", want: "[1080::8:800:200c:417a]:5282"},
		{param: "!1!10.0.0.1!21!", want: "10.0.0.1:21"},
		{param: "~2~::1~65535~", want: "[::1]:65535"},
		{param: " |1|10.0.0.1|21| ", want: "10.0.0.1:21"},
		{param: "|2|::ffff:10.0.0.1|21|", want: "10.0.0.1:21"},
		{param: "|1|10.0.0.1|021|", want: "10.0.0.1:21"},
		{param: "|3|10.0.0.1|21|", unsupported: true},
		{param: "|99999999999999999999|10.0.0.1|21|", unsupported: true},
		{param: "|1|::1|21|"},
		{param: "|1|::ffff:10.0.0.1|21|"},
		{param: "|2|10.0.0.1|21|"},
		{param: "|x|10.0.0.1|21|"},
		{param: "||10.0.0.1|21|"},
		{param: "|-1|10.0.0.1|21|"},
		{param: "|1|10.0.0.1|0|"},
		{param: "|1|10.0.0.1|65536|"},
		{param: "|1|10.0.0.1|+21|"},
		{param: "|1|10.0.0.1||"},
		{param: "|1|10.0.0.1|21"},
		{param: "|1|10.0.0.1|21|x"},
		{param: "|1|10.0.0.1|21||"},
		{param: "|1|host.example|21|"},
		{param: "|2|fe80::1%eth0|21|"},
		{param: ".1.10.0.0.1.21."},
		{param: "\x7f1\x7f10.0.0.1\x7f21\x7f"},
		{param: "\x001\x0010.0.0.1\x0021\x00"},
		{param: "|"},
		{param: ""},
	}

	for _, tt := range tests {
		addr, err := parseEPRTArg(tt.param)
		switch {
		case tt.unsupported:
			require.ErrorIs(t, err, errUnsupportedNetworkProtocol, "%q", tt.param)
			require.NotErrorIs(t, err, ErrRemoteAddrFormat)
			assert.Nil(t, addr)
		case tt.want == "":
			require.ErrorIs(t, err, ErrRemoteAddrFormat, "%q", tt.param)
			require.NotErrorIs(t, err, errUnsupportedNetworkProtocol)
			assert.Nil(t, addr)
		default:
			require.NoError(t, err, "%q", tt.param)
			assert.Equal(t, tt.want, addr.String())
		}
	}
}

func TestFormatPASVAddr(t *testing.T) {
	t.Parallel()

	tests := []struct {
		ip          string
		port        int
		want        string
		unsupported bool
	}{
		{ip: "127.0.0.1", port: 1025, want: "127,0,0,1,4,1"},
		{ip: "192.168.1.2", port: 65535, want: "192,168,1,2,255,255"},
		{ip: "::ffff:10.0.0.1", port: 21, want: "10,0,0,1,0,21"},
		{ip: "0.0.0.0", port: 1, want: "0,0,0,0,0,1"},
		{ip: "::1", port: 21, unsupported: true},
		{ip: "10.0.0.1", port: 0},
		{ip: "10.0.0.1", port: 65536},
		{ip: "10.0.0.1", port: -1},
	}

	for _, tt := range tests {
		got, err := formatPASVAddr(net.ParseIP(tt.ip), tt.port)
		switch {
		case tt.unsupported:
			require.ErrorIs(t, err, errUnsupportedNetworkProtocol)
		case tt.want == "":
			require.Error(t, err, "%s port %d", tt.ip, tt.port)
		default:
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		}
	}

	_, err := formatPASVAddr(nil, 21)
	require.ErrorIs(t, err, errUnsupportedNetworkProtocol)
}

func TestParseEPSVArg(t *testing.T) {
	t.Parallel()

	tests := []struct {
		param       string
		family      int
		all         bool
		unsupported bool
		bad         bool
	}{
		{param: ""},
		{param: "  "},
		{param: "ALL", all: true},
		{param: "all", all: true},
		{param: " All ", all: true},
		{param: "1", family: 1},
		{param: "2", family: 2},
		{param: " 2 ", family: 2},
		{param: "3", unsupported: true},
		{param: "0", unsupported: true},
		{param: "123456789012345678901234567890", unsupported: true},
		{param: "ALLX", bad: true},
		{param: "-1", bad: true},
		{param: "1 2", bad: true},
		{param: "|1|", bad: true},
	}

	for _, tt := range tests {
		family, all, err := parseEPSVArg(tt.param)
		switch {
		case tt.unsupported:
			require.ErrorIs(t, err, errUnsupportedNetworkProtocol, "%q", tt.param)
		case tt.bad:
			require.ErrorIs(t, err, ErrRemoteAddrFormat, "%q", tt.param)
		default:
			require.NoError(t, err, "%q", tt.param)
			assert.Equal(t, tt.family, family, "%q", tt.param)
			assert.Equal(t, tt.all, all, "%q", tt.param)
		}
	}
}

func FuzzParsePORTArg(f *testing.F) {
	for _, seed := range []string{"127,0,0,1,4,1", " 10 , 0,0 ,1 , 0 , 21 ", "256,0,0,1,4,1", "1,2,3,4,5", ",,,,,"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, param string) {
		addr, err := parsePORTArg(param)
		if err != nil {
			require.ErrorIs(t, err, ErrRemoteAddrFormat)
			require.Nil(t, addr)

			return
		}

		// What PORT accepts, PASV writes back the same way.
		text, err := formatPASVAddr(addr.IP, addr.Port)
		require.NoError(t, err)
		again, err := parsePORTArg(text)
		require.NoError(t, err)
		require.Equal(t, addr, again)
		require.Equal(t, strings.Count(param, ","), strings.Count(text, ","))
	})
}

func FuzzParseEPRTArg(f *testing.F) {
	seeds := []string{"|1|132.235.1.2|6275|", "|2|1080::8:800:200C:417A|5282|", "!1!10.0.0.1!21!", "|3|x|1|", "|"}
	for _, seed := range seeds {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, param string) {
		addr, err := parseEPRTArg(param)
		if err != nil {
			require.True(t, errorIsOneOf(err, ErrRemoteAddrFormat, errUnsupportedNetworkProtocol), "%v", err)
			require.Nil(t, addr)

			return
		}
		require.True(t, addr.Port > 0 && addr.Port <= 65535)

		// The address written back in canonical form with the recommended delimiter parses the same.
		family, text := "2", addr.IP.String()
		switch {
		case len(addr.IP) == net.IPv4len:
			family = "1"
		case addr.IP.To4() != nil:
			text = "::ffff:" + text // an IPv4-mapped address given with family 2 stays IPv6 text
		}
		again, err := parseEPRTArg("|" + family + "|" + text + "|" + strconv.Itoa(addr.Port) + "|")
		require.NoError(t, err)
		require.True(t, addr.IP.Equal(again.IP))
		require.Equal(t, addr.Port, again.Port)
	})
}

func FuzzParseEPSVArg(f *testing.F) {
	for _, seed := range []string{"", "ALL", "all", "1", "2", "3", "x", " 2 "} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, param string) {
		family, all, err := parseEPSVArg(param)
		if err != nil {
			require.True(t, errorIsOneOf(err, ErrRemoteAddrFormat, errUnsupportedNetworkProtocol), "%v", err)
			require.Zero(t, family)
			require.False(t, all)

			return
		}
		require.Contains(t, []int{0, 1, 2}, family)
		require.False(t, all && family != 0)
	})
}

// errorIsOneOf tells whether err wraps exactly one of a and b.
func errorIsOneOf(err, a, b error) bool {
	return errors.Is(err, a) != errors.Is(err, b)
}
