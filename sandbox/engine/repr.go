package engine

import (
	"errors"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// Bounds on converting values to text. Starlark renders a value in one
// interpreter step that cannot be cancelled, so a repr is sized before it
// is built: a value shared many times (x = [x, x] in a loop) has a tiny
// heap but an exponential repr.
const (
	// maxReprDepth is the deepest nesting str, repr, print and % accept.
	maxReprDepth = 1000
	// maxIntDigits caps int<->decimal conversions, which are quadratic,
	// as Python does since 3.11.
	maxIntDigits = 4300
	// unknownReprSize is assumed for values of types this package does
	// not know (added by builtins); their real size is checked after.
	unknownReprSize = 64
)

var (
	errReprTooDeep = errors.New("value nested too deeply to convert to string")
	errIntDigits   = errors.New("integer too large to convert to decimal (4300 digit limit)")
)

// reprSize returns an upper bound on the length of v's repr (of v itself
// when str is set and v is a string), or a value above limit as soon as
// the bound exceeds limit. Cycles count as "..." like Starlark prints them.
func reprSize(v starlark.Value, str bool, limit int) (int, error) {
	if s, ok := v.(starlark.String); ok && str {
		return len(s), nil
	}
	e := reprSizer{limit: limit}
	e.value(v, 0)
	return e.n, e.err
}

type reprSizer struct {
	n, limit int
	path     []starlark.Value // containers being sized, for cycles
	err      error
}

func (e *reprSizer) add(n int) bool {
	e.n += n
	return e.n <= e.limit && e.err == nil
}

func (e *reprSizer) onPath(v starlark.Value) bool {
	for _, p := range e.path {
		if p == v {
			return true
		}
	}
	return false
}

func (e *reprSizer) value(v starlark.Value, depth int) bool {
	if depth > maxReprDepth {
		e.err = errReprTooDeep
		return false
	}
	switch v := v.(type) {
	case starlark.NoneType, starlark.Bool:
		return e.add(5)
	case starlark.Int:
		n, err := intDigits(v)
		if err != nil {
			e.err = err
			return false
		}
		return e.add(n)
	case starlark.Float:
		return e.add(32)
	case starlark.String:
		return e.add(quotedLen(string(v)))
	case starlark.Bytes:
		return e.add(1 + quotedLen(string(v)))
	case starlark.Tuple:
		return e.elems(v, 3, depth)
	case *starlark.List:
		if e.onPath(v) {
			return e.add(5)
		}
		e.path = append(e.path, v)
		ok := e.add(2)
		for i := 0; ok && i < v.Len(); i++ {
			ok = e.add(2) && e.value(v.Index(i), depth+1)
		}
		e.path = e.path[:len(e.path)-1]
		return ok
	case *starlark.Dict:
		if e.onPath(v) {
			return e.add(5)
		}
		e.path = append(e.path, v)
		ok := e.add(2)
		for k, val := range v.Entries() {
			if ok = ok && e.add(4) && e.value(k, depth+1) && e.value(val, depth+1); !ok {
				break
			}
		}
		e.path = e.path[:len(e.path)-1]
		return ok
	case *starlark.Set:
		ok := e.add(7)
		for x := range v.Elements() {
			if ok = ok && e.add(2) && e.value(x, depth+1); !ok {
				break
			}
		}
		return ok
	case *starlark.Function:
		return e.add(12 + len(v.Name()))
	case *starlark.Builtin:
		return e.add(48 + len(v.Name()))
	default:
		return e.add(unknownReprSize)
	}
}

func (e *reprSizer) elems(vs []starlark.Value, overhead, depth int) bool {
	if !e.add(overhead) {
		return false
	}
	for _, x := range vs {
		if !e.add(2) || !e.value(x, depth+1) {
			return false
		}
	}
	return true
}

// intDigits bounds the decimal length of i, failing beyond maxIntDigits.
func intDigits(i starlark.Int) (int, error) {
	if _, ok := i.Int64(); ok {
		return 20, nil
	}
	n := intBits(i)*30103/100000 + 2 // log10(2) ≈ 0.30103
	if n > maxIntDigits+2 {
		return 0, errIntDigits
	}
	return n, nil
}

// intBits returns the bit length of |i|.
func intBits(i starlark.Int) int {
	if x, ok := i.Int64(); ok {
		if x < 0 {
			x = -x
		}
		return bits.Len64(uint64(x))
	}
	return i.BigInt().BitLen()
}

// quotedLen is len(syntax.Quote(s, false)), computed without building it.
func quotedLen(s string) int {
	n := 2
	for len(s) > 0 {
		r, w := rune(s[0]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(s)
		}
		switch {
		case w == 1 && r == utf8.RuneError:
			n += 4
		case r == '"' || r == '\\':
			n += 2
		case strconv.IsPrint(r):
			n += w
		case r == '\a' || r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t' || r == '\v':
			n += 2
		case r < ' ' || r == 0x7f:
			n += 4
		case r < 0x10000:
			n += 6
		default:
			n += 10
		}
		s = s[w:]
	}
	return n
}

// render converts v to text as str (when str is set) or repr would,
// after checking that the text fits in limit bytes and charging for it.
// It fails with errTooLarge-style errors the caller maps to its limit.
func render(thread *starlark.Thread, v starlark.Value, str bool, limit int) (string, error) {
	if s, ok := v.(starlark.String); ok && str {
		return string(s), nil
	}
	n, err := reprSize(v, str, limit)
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", &sizeError{size: n, limit: limit}
	}
	if err := chargeBytes(thread, n); err != nil {
		return "", err
	}
	if b, ok := v.(starlark.Bytes); ok && str {
		return string(b), nil
	}
	return v.String(), nil
}

// sizeError reports text that would exceed the bytes allowed for it.
type sizeError struct{ size, limit int }

func (e *sizeError) Error() string {
	return "value too large to convert to string (about " + strconv.Itoa(e.size) + " bytes, " + strconv.Itoa(e.limit) + " allowed)"
}

// Repr returns v's repr for display, cut to about limit bytes with "…"
// when it is longer. Its work is bounded by limit whatever v is: a value
// shared many times (an exponential repr) or nested deeply costs no more
// than a short one.
func Repr(v starlark.Value, limit int) string {
	if n, err := reprSize(v, false, limit); err == nil && n <= limit {
		return v.String()
	}
	w := reprWriter{left: limit}
	w.value(v, 0)
	return w.b.String() + "…"
}

// reprWriter writes a repr until its budget is spent.
type reprWriter struct {
	b    strings.Builder
	left int
	path []starlark.Value // containers being written, for cycles
}

func (w *reprWriter) write(s string) bool {
	if len(s) > w.left {
		w.b.WriteString(strings.ToValidUTF8(s[:w.left], ""))
		w.left = 0
		return false
	}
	w.b.WriteString(s)
	w.left -= len(s)
	return w.left > 0
}

func (w *reprWriter) onPath(v starlark.Value) bool { return slices.Contains(w.path, v) }

func (w *reprWriter) value(v starlark.Value, depth int) bool {
	if depth > maxReprDepth {
		return w.write("...")
	}
	switch v := v.(type) {
	case starlark.Tuple:
		return w.seq("(", ")", v, depth)
	case *starlark.List:
		if w.onPath(v) {
			return w.write("[...]")
		}
		w.path = append(w.path, v)
		defer func() { w.path = w.path[:len(w.path)-1] }()
		elems := make([]starlark.Value, 0, min(v.Len(), w.left))
		for i := 0; i < v.Len() && i < w.left; i++ {
			elems = append(elems, v.Index(i))
		}
		return w.seq("[", "]", elems, depth)
	case *starlark.Dict:
		if w.onPath(v) {
			return w.write("{...}")
		}
		w.path = append(w.path, v)
		defer func() { w.path = w.path[:len(w.path)-1] }()
		if !w.write("{") {
			return false
		}
		i := 0
		for k, e := range v.Entries() {
			if i > 0 && !w.write(", ") {
				return false
			}
			if !w.value(k, depth+1) || !w.write(": ") || !w.value(e, depth+1) {
				return false
			}
			i++
		}
		return w.write("}")
	case *starlark.Set:
		if !w.write("set([") {
			return false
		}
		i := 0
		for e := range v.Elements() {
			if i > 0 && !w.write(", ") {
				return false
			}
			if !w.value(e, depth+1) {
				return false
			}
			i++
		}
		return w.write("])")
	case starlark.String:
		if len(v) > w.left {
			v = v[:w.left]
		}
		return w.write(v.String())
	case starlark.Int:
		if _, err := intDigits(v); err != nil {
			return w.write("<int of " + strconv.Itoa(intBits(v)) + " bits>")
		}
	}
	if n, err := reprSize(v, false, w.left); err != nil || n > w.left {
		return w.write("<" + v.Type() + ">")
	}
	return w.write(v.String())
}

func (w *reprWriter) seq(open, close string, elems []starlark.Value, depth int) bool {
	if !w.write(open) {
		return false
	}
	for i, e := range elems {
		if i > 0 && !w.write(", ") {
			return false
		}
		if !w.value(e, depth+1) {
			return false
		}
	}
	if open == "(" && len(elems) == 1 && !w.write(",") {
		return false
	}
	return w.write(close)
}
