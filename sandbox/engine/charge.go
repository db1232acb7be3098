package engine

import (
	"errors"
	"math"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// What the hidden builtins charge for each operation, before doing it.

// chargeBinary charges for x op y before it is computed.
func chargeBinary(thread *starlark.Thread, op syntax.Token, x, y starlark.Value) error {
	switch op {
	case syntax.PLUS:
		switch x := x.(type) {
		case starlark.String:
			if y, ok := y.(starlark.String); ok {
				return chargeBytes(thread, len(x)+len(y))
			}
		case starlark.Bytes:
			if y, ok := y.(starlark.Bytes); ok {
				return chargeBytes(thread, len(x)+len(y))
			}
		case *starlark.List, starlark.Tuple:
			return chargeSlots(thread, max(0, starlark.Len(x))+max(0, starlark.Len(y)))
		}
	case syntax.STAR:
		return chargeRepeat(thread, x, y)
	case syntax.PERCENT:
		if f, ok := x.(starlark.String); ok {
			return chargeFormat(thread, string(f), strings.Count(string(f), "%"), formatArgs(y))
		}
	case syntax.MINUS, syntax.AMP, syntax.PIPE, syntax.CIRCUMFLEX:
		switch x.(type) {
		case *starlark.Set, *starlark.Dict:
			if err := chargeEntries(thread, max(0, starlark.Len(x))+max(0, starlark.Len(y))); err != nil {
				return err
			}
			if err := chargeHashEach(thread, x); err != nil { // every element hashed again
				return err
			}
			return chargeHashEach(thread, y)
		}
	case syntax.LTLT:
		if i, ok := x.(starlark.Int); ok {
			return chargeBytes(thread, 3*(intBits(i)+512)/8)
		}
	}
	xi, ok1 := x.(starlark.Int)
	yi, ok2 := y.(starlark.Int)
	if !ok1 || !ok2 {
		return nil
	}
	switch op {
	case syntax.STAR, syntax.SLASHSLASH, syntax.PERCENT:
		return chargeIntQuadratic(thread, xi, yi)
	}
	return chargeIntLinear(thread, xi, yi)
}

func isSmall(i starlark.Int) bool { _, ok := i.Int64(); return ok }

// chargeIntLinear charges for an operation linear in the operands' size:
// the result, and the copies starlark.Int makes along the way (measuring
// a big int copies it too).
func chargeIntLinear(thread *starlark.Thread, x, y starlark.Int) error {
	if isSmall(x) && isSmall(y) {
		return nil
	}
	return chargeBytes(thread, 3*(intBits(x)+intBits(y))/8)
}

// chargeIntQuadratic charges for multiplication or division: one step per
// 16 word products, plus the result and copies.
func chargeIntQuadratic(thread *starlark.Thread, x, y starlark.Int) error {
	if isSmall(x) && isSmall(y) {
		return nil
	}
	wx, wy := uint64(intBits(x)/64+1), uint64(intBits(y)/64+1)
	return Charge(thread, wx*wy/16+3*(wx+wy)*8/bytesPerStep+1)
}

// chargeRepeat charges for sequence repetition and int multiplication.
func chargeRepeat(thread *starlark.Thread, x, y starlark.Value) error {
	if _, ok := x.(starlark.Int); ok {
		if _, ok := y.(starlark.Int); !ok {
			x, y = y, x // n * seq
		}
	}
	if xi, ok := x.(starlark.Int); ok {
		return chargeIntQuadratic(thread, xi, y.(starlark.Int))
	}
	yi, ok := y.(starlark.Int)
	if !ok {
		return nil
	}
	n, ok := yi.Int64()
	if !ok || n > math.MaxInt32 {
		return nil // starlark rejects the count itself
	}
	if n <= 0 {
		return nil
	}
	size, slot := 0, false
	switch x := x.(type) {
	case starlark.String:
		size = len(x)
	case starlark.Bytes:
		size = len(x)
	case *starlark.List, starlark.Tuple:
		size, slot = starlark.Len(x), true
	default:
		return nil
	}
	if size == 0 {
		return nil
	}
	if int64(size)*n >= 1<<30 {
		return nil // starlark rejects it as an excessive repeat
	}
	if slot {
		return chargeSlots(thread, size*int(n))
	}
	return chargeBytes(thread, size*int(n))
}

// maxTextBytes caps the text one operation may produce (str, repr, %,
// format, join, replace), whatever the budget left: sizing a repr walks
// the value, and that walk is not charged when it fails.
const maxTextBytes = 4 << 20

// errTextTooLarge reports text over maxTextBytes.
var errTextTooLarge = errors.New("result too large (over 4 MiB of text)")

// chargeText charges for producing n bytes of text, which may not exceed
// maxTextBytes.
func chargeText(thread *starlark.Thread, n int) error {
	if n > maxTextBytes {
		return errTextTooLarge
	}
	return chargeBytes(thread, n)
}

// budgetOf is how many bytes of text the step budget left can pay for.
func budgetOf(thread *starlark.Thread) int {
	if x := executionOf(thread); x != nil {
		return min(x.budgetBytes(thread), maxTextBytes)
	}
	return maxTextBytes
}

// formatArgs returns the values a % or format may interpolate.
func formatArgs(y starlark.Value) []starlark.Value {
	switch y := y.(type) {
	case starlark.Tuple:
		return y
	case *starlark.Dict:
		vs := make([]starlark.Value, 0, y.Len())
		for _, v := range y.Entries() {
			vs = append(vs, v)
		}
		return vs
	}
	return []starlark.Value{y}
}

// chargeFormat charges for a format string with at most holes
// interpolations, each of at most the largest argument.
func chargeFormat(thread *starlark.Thread, format string, holes int, args []starlark.Value) error {
	budget := budgetOf(thread)
	widest := 0
	for _, a := range args {
		n, err := reprSize(a, false, budget)
		if err != nil {
			return err
		}
		widest = max(widest, n)
	}
	if holes > 0 && widest > (budget-len(format))/holes {
		return chargeText(thread, budget+1)
	}
	return chargeText(thread, len(format)+holes*widest)
}
