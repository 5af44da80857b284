// Package cli is what the benchmark commands share in reading their command lines.
package cli

import (
	"errors"
	"flag"
	"fmt"
)

// ErrUsage reports a bad command line; the usage has been printed.
var ErrUsage = errors.New("invalid command line")

// Parse parses args with flags, then runs check (when not nil) and refuses an argument left
// after the flags. On an error it prints the error and the usage to the flag set's output, and
// returns an error wrapping ErrUsage.
func Parse(flags *flag.FlagSet, args []string, check func() error) error {
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}

	var err error
	if check != nil {
		err = check()
	}

	if err == nil && flags.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}

	if err != nil {
		fmt.Fprintln(flags.Output(), err)
		flags.Usage()

		return fmt.Errorf("%w: %w", ErrUsage, err)
	}

	return nil
}
