package ftpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// NewSlogLogger returns a go-kit logger, for FtpServer.Logger, that writes each line to h as
// one slog record, so an application on log/slog sees the server's logs in its own handler:
//
//	server.Logger = ftpserver.NewSlogLogger(slog.Default().Handler())
//
// The go-kit level (level.Debug, Info, Warn, Error, or a "level" key with one of those names)
// becomes the record's level; a line without one is at slog.LevelInfo. The record's message is
// the "msg" value, or else the "event" value, which the server puts in every line and which
// stays an attribute too. The other pairs become attributes in order: errors and values with a
// String method as text, as go-kit's logfmt writes them. Lines below the handler's level cost
// no more than the level check. Errors of the handler are returned.
func NewSlogLogger(h slog.Handler) log.Logger {
	return slogLogger{handler: h}
}

type slogLogger struct {
	handler slog.Handler
}

// Log writes keyvals as one record.
func (l slogLogger) Log(keyvals ...any) error {
	if len(keyvals)%2 != 0 {
		keyvals = append(keyvals, log.ErrMissingValue)
	}

	lvl := slogLevel(keyvals)

	ctx := context.Background()
	if !l.handler.Enabled(ctx, lvl) {
		return nil
	}

	var msg, event string

	attrs := make([]slog.Attr, 0, len(keyvals)/2)

	for i := 0; i < len(keyvals); i += 2 {
		key, value := fmt.Sprint(keyvals[i]), keyvals[i+1]

		if _, isLevel := value.(level.Value); isLevel || (key == "level" && isLevelName(value)) {
			continue
		}

		switch key {
		case "msg":
			msg = fmt.Sprint(value)

			continue
		case "event":
			event = fmt.Sprint(value)
		}

		attrs = append(attrs, slog.Attr{Key: key, Value: slogValue(value)})
	}

	if msg == "" {
		msg = event
	}

	record := slog.NewRecord(time.Now(), lvl, msg, 0)
	record.AddAttrs(attrs...)

	if err := l.handler.Handle(ctx, record); err != nil {
		return fmt.Errorf("slog handler: %w", err)
	}

	return nil
}

// slogLevel returns the slog level of a go-kit line: its level value, or Info without one.
func slogLevel(keyvals []any) slog.Level {
	for i := 0; i+1 < len(keyvals); i += 2 {
		switch value := keyvals[i+1].(type) {
		case level.Value:
			return levelByName(value.String())
		case string:
			if keyvals[i] == level.Key() && isLevelName(value) {
				return levelByName(value)
			}
		}
	}

	return slog.LevelInfo
}

// isLevelName tells whether value is the name of a go-kit level.
func isLevelName(value any) bool {
	name, ok := value.(string)
	if !ok {
		return false
	}

	switch strings.ToLower(name) {
	case "debug", "info", "warn", "warning", "error":
		return true
	default:
		return false
	}
}

// levelByName maps a go-kit level name to the slog level.
func levelByName(name string) slog.Level {
	switch strings.ToLower(name) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// slogValue converts a go-kit value: slog's own kinds (numbers, durations, times) are kept,
// errors and Stringers (addresses, for example) become text.
func slogValue(value any) slog.Value {
	v := slog.AnyValue(value)
	if v.Kind() != slog.KindAny {
		return v
	}

	switch x := value.(type) {
	case error:
		return slog.StringValue(safeText(x.Error))
	case json.Marshaler, slog.LogValuer:
		return v
	case fmt.Stringer:
		return slog.StringValue(safeText(x.String))
	default:
		return v
	}
}

// safeText returns text(), or "<nil>" when it panics, as the method of a nil pointer may: a
// log line must not bring the server down (go-kit's logfmt does the same).
func safeText(text func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = "<nil>"
		}
	}()

	return text()
}
