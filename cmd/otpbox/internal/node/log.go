package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// NewLogger returns the node's logger writing to w: level is debug, info,
// warn or error; format text or json.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%w: log level %q", ErrInvalid, s)
	}
	return l, nil
}

// libraryLogger returns the logger protoactor logs through: log, but
// only from WARN up unless level is debug. protoactor logs its start-up
// steps and every dead letter at INFO; dead letters are counted in
// otpbox_deadletters_total instead.
func libraryLogger(log *slog.Logger, level string) *slog.Logger {
	if l, err := parseLevel(level); err == nil && l <= slog.LevelDebug {
		return log.With("lib", "protoactor")
	}
	return slog.New(floor{log.Handler(), slog.LevelWarn}).With("lib", "protoactor")
}

// floor is a slog.Handler that drops records below min.
type floor struct {
	slog.Handler
	min slog.Level
}

func (f floor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f floor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return floor{f.Handler.WithAttrs(attrs), f.min}
}

func (f floor) WithGroup(name string) slog.Handler { return floor{f.Handler.WithGroup(name), f.min} }
