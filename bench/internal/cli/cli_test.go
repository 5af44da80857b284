package cli

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()

	errBad := errors.New("-n: too large")

	for _, tc := range []struct {
		args    []string
		wantErr string // "" for none; else what the output shows
	}{
		{[]string{"-n", "3"}, ""},
		{[]string{"-n", "30"}, "-n: too large"},
		{[]string{"-n", "3", "extra"}, `unexpected argument "extra"`},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
	} {
		var out strings.Builder

		flags := flag.NewFlagSet("tool", flag.ContinueOnError)
		flags.SetOutput(&out)
		n := flags.Int("n", 0, "a number")

		err := Parse(flags, tc.args, func() error {
			if *n > 10 {
				return errBad
			}

			return nil
		})

		if tc.wantErr == "" {
			require.NoError(t, err, "%q", tc.args)
			require.Equal(t, 3, *n)
			require.Empty(t, out.String())

			continue
		}

		require.ErrorIs(t, err, ErrUsage, "%q", tc.args)
		require.Contains(t, out.String(), tc.wantErr, "%q", tc.args)
		require.Contains(t, out.String(), "Usage of tool", "%q: the usage is printed", tc.args)
	}

	require.NoError(t, Parse(flag.NewFlagSet("tool", flag.ContinueOnError), nil, nil))
}
