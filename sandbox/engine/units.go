package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Limits read from JSON take sizes and durations as numbers in base units
// (bytes, nanoseconds), as they are written, or in human units: "64KiB",
// "1 MB", "5s", "250ms".

// UnmarshalJSON reads limits with human units.
func (l *Limits) UnmarshalJSON(b []byte) error {
	var raw struct {
		MaxSteps       json.RawMessage `json:"max_steps"`
		MaxDuration    json.RawMessage `json:"max_duration"`
		MaxCodeBytes   json.RawMessage `json:"max_code_bytes"`
		MaxOutputBytes json.RawMessage `json:"max_output_bytes"`
		MaxGlobals     json.RawMessage `json:"max_globals"`
		MaxHeapBytes   json.RawMessage `json:"max_heap_bytes"`
		MaxActors      json.RawMessage `json:"max_actors"`
		MaxMailbox     json.RawMessage `json:"max_mailbox"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	var out Limits
	var d int64
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		into func() error
	}{
		{"max_steps", raw.MaxSteps, func() error {
			n, err := parseCount(raw.MaxSteps)
			if err == nil && n < 0 {
				err = fmt.Errorf("want a whole number of steps, got %d", n)
			}
			out.MaxSteps = uint64(n)
			return err
		}},
		{"max_duration", raw.MaxDuration, func() error {
			err := parseDuration(raw.MaxDuration, &d)
			out.MaxDuration = time.Duration(d)
			return err
		}},
		{"max_code_bytes", raw.MaxCodeBytes, func() error { return parseInt(raw.MaxCodeBytes, &out.MaxCodeBytes, true) }},
		{"max_output_bytes", raw.MaxOutputBytes, func() error { return parseInt(raw.MaxOutputBytes, &out.MaxOutputBytes, true) }},
		{"max_globals", raw.MaxGlobals, func() error { return parseInt(raw.MaxGlobals, &out.MaxGlobals, false) }},
		{"max_heap_bytes", raw.MaxHeapBytes, func() error { return ParseSize(raw.MaxHeapBytes, &out.MaxHeapBytes) }},
		{"max_actors", raw.MaxActors, func() error { return parseInt(raw.MaxActors, &out.MaxActors, false) }},
		{"max_mailbox", raw.MaxMailbox, func() error { return parseInt(raw.MaxMailbox, &out.MaxMailbox, false) }},
	} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		if err := f.into(); err != nil {
			return fmt.Errorf("limits: %s: %w", f.name, err)
		}
	}
	*l = out
	return nil
}

// ParseSize reads a size in bytes from JSON: a number, or a string such
// as "64KiB", "1 MB" or "1048576".
func ParseSize(raw json.RawMessage, into *int64) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n int64 // a number as is: a negative one is for the caller to refuse
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("want a size such as 65536 or \"64KiB\", got %s", raw)
		}
		*into = n
		return nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n > math.MaxInt64 {
		return fmt.Errorf("want a size such as 65536 or \"64KiB\", got %q", s)
	}
	*into = int64(n)
	return nil
}

// parseInt reads an integer, a size when size is set.
func parseInt(raw json.RawMessage, into *int, size bool) error {
	var n int64
	if size {
		if err := ParseSize(raw, &n); err != nil {
			return err
		}
	} else {
		var err error
		if n, err = parseCount(raw); err != nil {
			return err
		}
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return fmt.Errorf("%d is out of range", n)
	}
	*into = int(n)
	return nil
}

// parseCount reads a whole number, also written with an exponent (1e6).
func parseCount(raw json.RawMessage) (int64, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, fmt.Errorf("want a whole number, got %s", raw)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil // exact beyond 2^53
	}
	return int64(f), nil
}

// parseDuration reads nanoseconds, or a Go duration such as "5s".
func parseDuration(raw json.RawMessage, into *int64) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("want nanoseconds or a duration such as \"5s\", got %s", raw)
		}
		*into = n
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*into = n
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want nanoseconds or a duration such as \"5s\", got %q", s)
	}
	*into = int64(d)
	return nil
}

// ParseCount reads a non-negative whole number from JSON, also written
// with an exponent (1e6).
func ParseCount(raw json.RawMessage, into *uint64) error {
	n, err := parseCount(raw)
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("want a non-negative number, got %s", raw)
	}
	*into = uint64(n)
	return nil
}
