package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ftpkit/ftpserver"
)

// The fifth field of a -users line, optional, is the user's own settings: a comma-separated
// list of key=value pairs, each key at most once.
//
//	# name:bcrypt-hash:home:access:settings
//	partner:$2a$10$...:/partner:ro:idle=1h,user-down=1MiB,sessions=2
//	uploader:$2a$10$...:/in:rw:sessions=20,up=none
//
// idle and stall are the idle timeout and the transfer stall timeout, as Go writes durations
// (90s, 30m, 1h30m), or none; they replace -idle-timeout and the stall timeout for the user.
// up and down limit each of the user's connections, replacing -max-upload-rate and
// -max-download-rate, and user-up and user-down all of the user's sessions together; rate and
// user-rate set both directions at once. A rate is bytes per second: 500000, 500k, 10M, 1G
// (powers of 1000) or 512KiB, 10MiB, 1GiB (powers of 1024), or none for no limit. sessions is
// the most sessions the user may have logged in at once; the next login gets 421. A key left
// out keeps the server's value. The settings are read with the file: a reload (SIGHUP) applies
// them to the sessions that log in afterwards.

// errNoValue refuses a key without a value.
var errNoValue = errors.New("want key=value")

// userSetting applies one key's value to settings.
type userSetting func(settings *ftpserver.SessionSettings, value string) error

// userSettings are the keys of the settings field.
var userSettings = map[string]userSetting{
	"idle":  durationSetting(func(s *ftpserver.SessionSettings) *time.Duration { return &s.IdleTimeout }),
	"stall": durationSetting(func(s *ftpserver.SessionSettings) *time.Duration { return &s.TransferStallTimeout }),
	"up":    rateSetting(func(s *ftpserver.SessionSettings) []*int64 { return []*int64{&s.MaxUploadRate} }),
	"down":  rateSetting(func(s *ftpserver.SessionSettings) []*int64 { return []*int64{&s.MaxDownloadRate} }),
	"rate": rateSetting(func(s *ftpserver.SessionSettings) []*int64 {
		return []*int64{&s.MaxUploadRate, &s.MaxDownloadRate}
	}),
	"user-up":   rateSetting(func(s *ftpserver.SessionSettings) []*int64 { return []*int64{&s.MaxUserUploadRate} }),
	"user-down": rateSetting(func(s *ftpserver.SessionSettings) []*int64 { return []*int64{&s.MaxUserDownloadRate} }),
	"user-rate": rateSetting(func(s *ftpserver.SessionSettings) []*int64 {
		return []*int64{&s.MaxUserUploadRate, &s.MaxUserDownloadRate}
	}),
	"sessions": func(s *ftpserver.SessionSettings, value string) error {
		n, err := strconv.Atoi(value)
		if err != nil || n <= 0 {
			return errors.New("want a number of sessions, 1 or more")
		}

		s.MaxSessions = n

		return nil
	},
}

// parseUserSettings parses the settings field of a -users line.
func parseUserSettings(field string) (ftpserver.SessionSettings, error) {
	var settings ftpserver.SessionSettings

	if strings.TrimSpace(field) == "" {
		return settings, nil // a trailing colon
	}

	seen := map[string]bool{}

	for pair := range strings.SplitSeq(field, ",") {
		key, value, found := strings.Cut(strings.TrimSpace(pair), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)

		set, known := userSettings[key]

		switch {
		case !found || value == "":
			return settings, fmt.Errorf("setting %q: %w", pair, errNoValue)
		case !known:
			return settings, fmt.Errorf("setting %q: unknown key (idle, stall, up, down, rate, user-up, user-down, "+
				"user-rate, sessions)", key)
		case seen[key]:
			return settings, fmt.Errorf("setting %q: given twice", key)
		}

		seen[key] = true

		if err := set(&settings, value); err != nil {
			return settings, fmt.Errorf("setting %s=%s: %w", key, value, err)
		}
	}

	for both, one := range map[string][2]string{"rate": {"up", "down"}, "user-rate": {"user-up", "user-down"}} {
		if seen[both] && (seen[one[0]] || seen[one[1]]) {
			return settings, fmt.Errorf("%s cannot be given with %s or %s", both, one[0], one[1])
		}
	}

	return settings, nil
}

// durationSetting returns the setting of the duration field chooses: a positive Go duration,
// or none, which the library takes as a negative one.
func durationSetting(field func(*ftpserver.SessionSettings) *time.Duration) userSetting {
	return func(s *ftpserver.SessionSettings, value string) error {
		if strings.EqualFold(value, "none") {
			*field(s) = -1

			return nil
		}

		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return errors.New("want a duration such as 90s, 30m or 1h, or none")
		}

		*field(s) = d

		return nil
	}
}

// rateSetting returns the setting of the rate fields chooses: a positive rate (parseRate), or
// none, which the library takes as a negative one.
func rateSetting(fields func(*ftpserver.SessionSettings) []*int64) userSetting {
	return func(s *ftpserver.SessionSettings, value string) error {
		bps := int64(-1)

		if !strings.EqualFold(value, "none") {
			var err error
			if bps, err = parseRate(value); err != nil {
				return err
			}
		}

		for _, field := range fields(s) {
			*field = bps
		}

		return nil
	}
}

// rateUnits are the multipliers of parseRate's suffixes, in lower case.
var rateUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// errBadRate refuses a rate parseRate cannot read.
var errBadRate = errors.New("want bytes per second, such as 500000, 500k, 10M, 1G, 512KiB or 10MiB, or none")

// parseRate reads a positive number of bytes per second with an optional unit: k, M, G (also
// kB, MB, GB) for powers of 1000, KiB, MiB, GiB for powers of 1024; the case of the unit does
// not matter. A fraction is allowed before a unit (1.5M).
func parseRate(value string) (int64, error) {
	end := strings.IndexFunc(value, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(value)
	}

	unit, known := rateUnits[strings.ToLower(value[end:])]
	if !known || end == 0 {
		return 0, errBadRate
	}

	n, err := strconv.ParseFloat(value[:end], 64)
	if err != nil {
		return 0, errBadRate
	}

	bps := n * float64(unit)
	if bps < 1 || bps > math.MaxInt64/2 {
		return 0, errBadRate
	}

	return int64(bps), nil
}
