package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// ErrNotPlain reports a session whose globals Dump cannot write as
// source: a [NotPlainError] wraps it.
var ErrNotPlain = errors.New("engine: globals are not plain data")

// NotPlainError names the global that keeps Dump from writing a
// session's globals as source, and why.
type NotPlainError struct {
	Name   string // the global
	Reason string // e.g. "a function", "a list shared with another value"
}

func (e *NotPlainError) Error() string {
	return fmt.Sprintf("engine: global %s is not plain data: %s", e.Name, e.Reason)
}

func (e *NotPlainError) Unwrap() error { return ErrNotPlain }

// Dump returns Starlark source that, run by [Session.Restore] in a new
// session with the same environment, rebuilds this session's globals:
// one assignment per global, in name order. It works only while every
// global is plain data (None, bools, ints, floats, strings, bytes, and
// lists, tuples, dicts and sets of plain data) and no mutable value is
// reachable twice (shared between globals, or inside itself), since
// source cannot write a shared value; otherwise it fails with a
// [*NotPlainError]. A world's state is not part of the dump. The source
// is at most maxBytes long, else Dump fails with a size [LimitError].
//
// A sandbox snapshots its journal with it (package sandbox): a dump is a
// canonical form, so a dump of the restored session equals the original
// one exactly when the restore rebuilt it.
func (s *Session) Dump(maxBytes int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return "", ErrBroken
	}
	d := dumper{max: maxBytes, seen: make(map[any]bool), setShadowed: s.globals.Has("set")}
	for _, name := range s.globals.Keys() { // sorted
		d.name = name
		d.b.WriteString(name)
		d.b.WriteString(" = ")
		if err := d.value(s.globals[name], 0); err != nil {
			return "", err
		}
		d.b.WriteByte('\n')
		if d.b.Len() > d.max {
			return "", &LimitError{Limit: LimitCodeSize, Max: uint64(d.max), Got: uint64(d.b.Len())}
		}
	}
	return d.b.String(), nil
}

// Restore runs source that Dump wrote in this session (a new one) as
// [Session.Replay] does, without the code size limit: the source is the
// runtime's, not the user's, and it is as long as the state it rebuilds.
func (s *Session) Restore(ctx context.Context, source string) (*Result, error) {
	limits := s.limits
	limits.MaxDuration = replayDuration
	limits.MaxCodeBytes = max(limits.MaxCodeBytes, len(source))
	return s.executeWith(ctx, source, &limits, false)
}

// dumper writes values as Starlark expressions.
type dumper struct {
	b           strings.Builder
	max         int
	name        string       // the global being written
	seen        map[any]bool // mutable values written so far
	setShadowed bool         // a global named set hides the builtin
}

func (d *dumper) notPlain(reason string) error { return &NotPlainError{Name: d.name, Reason: reason} }

// mutable records a mutable value; reachable twice, it cannot be written.
func (d *dumper) mutable(v any, what string) error {
	if d.seen[v] {
		return d.notPlain(what + " reachable twice (shared, or inside itself)")
	}
	d.seen[v] = true
	return nil
}

func (d *dumper) value(v starlark.Value, depth int) error {
	if depth > maxReprDepth {
		return d.notPlain("nested too deeply")
	}
	if d.b.Len() > d.max {
		return &LimitError{Limit: LimitCodeSize, Max: uint64(d.max), Got: uint64(d.b.Len())}
	}
	switch v := v.(type) {
	case starlark.NoneType:
		d.b.WriteString("None")
	case starlark.Bool:
		d.b.WriteString(v.String())
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			d.b.WriteString(strconv.FormatInt(i, 10))
			break
		}
		// Hexadecimal: linear to write and to parse, at any size.
		bi := v.BigInt()
		if bi.Sign() < 0 {
			d.b.WriteByte('-')
			bi.Neg(bi)
		}
		d.b.WriteString("0x")
		d.b.WriteString(bi.Text(16))
	case starlark.Float:
		d.float(float64(v))
	case starlark.String:
		d.b.WriteString(v.String())
	case starlark.Bytes:
		d.b.WriteString(v.String())
	case starlark.Tuple:
		d.b.WriteByte('(')
		for i, e := range v {
			if i > 0 {
				d.b.WriteString(", ")
			}
			if err := d.value(e, depth+1); err != nil {
				return err
			}
		}
		if len(v) == 1 {
			d.b.WriteByte(',')
		}
		d.b.WriteByte(')')
	case *starlark.List:
		if err := d.mutable(v, "a list"); err != nil {
			return err
		}
		d.b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				d.b.WriteString(", ")
			}
			if err := d.value(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		d.b.WriteByte(']')
	case *starlark.Dict:
		if err := d.mutable(v, "a dict"); err != nil {
			return err
		}
		d.b.WriteByte('{')
		i := 0
		for k, e := range v.Entries() {
			if i > 0 {
				d.b.WriteString(", ")
			}
			i++
			if err := d.value(k, depth+1); err != nil {
				return err
			}
			d.b.WriteString(": ")
			if err := d.value(e, depth+1); err != nil {
				return err
			}
		}
		d.b.WriteByte('}')
	case *starlark.Set:
		if d.setShadowed {
			return d.notPlain("a set, while a global named set hides the builtin")
		}
		if err := d.mutable(v, "a set"); err != nil {
			return err
		}
		d.b.WriteString("set([")
		i := 0
		for e := range v.Elements() {
			if i > 0 {
				d.b.WriteString(", ")
			}
			i++
			if err := d.value(e, depth+1); err != nil {
				return err
			}
		}
		d.b.WriteString("])")
	default:
		return d.notPlain("a " + v.Type())
	}
	return nil
}

// float writes f so that it parses back to the same bits, with no
// builtin (a global may hide float): infinities and NaN as arithmetic.
func (d *dumper) float(f float64) {
	switch {
	case math.IsInf(f, 1):
		d.b.WriteString("(1e308 * 10)")
	case math.IsInf(f, -1):
		d.b.WriteString("(-1e308 * 10)")
	case math.IsNaN(f):
		d.b.WriteString("(1e308 * 10 - 1e308 * 10)")
	default:
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		if f < 0 || math.Signbit(f) {
			s = "(" + s + ")"
		}
		d.b.WriteString(s)
	}
}
