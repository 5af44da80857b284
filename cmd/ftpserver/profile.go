package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startCPUProfile starts Go's CPU profiler writing to path, for -cpuprofile, and returns the
// function that stops it and closes the file; run calls that after the shutdown, so the profile
// covers the server's whole life. An empty path profiles nothing.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}

	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}

	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()

		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}

	return func() error {
		pprof.StopCPUProfile()

		if err := f.Close(); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}

		return nil
	}, nil
}
