package engine

import (
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Hashing and comparing are charged before they happen. The interpreter
// hashes a tuple by hashing each element, and compares lists, tuples and
// dicts element by element, without ever noticing a value it saw before:
// a tuple nested in itself n times (t = (t, t) in a loop) is 2^n hashes,
// and a list repeated into itself a few times ([x] * 1000, three levels)
// is 10^9 comparisons, built in a few thousand steps. Neither can be
// cancelled once the interpreter started it. So every operation that
// hashes or compares values that are not literals (==, <, in, d[k],
// dict and set literals and methods, sorted, min, max, set, dict, ...)
// first measures its operands the way the interpreter will walk them,
// stopping as soon as the measure exceeds what the budget can pay, and
// charges one step per workPerStep nodes.

// workPerStep is how many nodes of a hash or a comparison one step pays
// for: hashing or comparing a node costs a few nanoseconds, a step tens.
const workPerStep = 4

// hashWork returns the nodes hashing v visits (a tuple's elements at each
// occurrence), or more than limit as soon as it exceeds limit. Hashing
// stops at the first unhashable element (a list, a dict), so those count
// one.
func hashWork(v starlark.Value, limit int) int {
	n := 0
	stack := []starlark.Value{v}
	for len(stack) > 0 && n <= limit {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n += nodeWork(v)
		if t, ok := v.(starlark.Tuple); ok {
			stack = append(stack, t...)
		}
	}
	return n
}

// compareWork returns the nodes comparing v with an equal value visits,
// down to the interpreter's comparison depth limit, or more than limit as
// soon as it exceeds limit.
func compareWork(v starlark.Value, limit int) int {
	type item struct {
		v     starlark.Value
		depth int
	}
	n := 0
	stack := []item{{v, starlark.CompareLimit}}
	for len(stack) > 0 && n <= limit {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n += nodeWork(it.v)
		if it.depth <= 0 {
			continue
		}
		switch x := it.v.(type) {
		case starlark.Tuple:
			for _, e := range x {
				stack = append(stack, item{e, it.depth - 1})
			}
		case *starlark.List:
			for i := range x.Len() {
				stack = append(stack, item{x.Index(i), it.depth - 1})
			}
		case *starlark.Dict:
			for k, e := range x.Entries() {
				stack = append(stack, item{k, it.depth - 1}, item{e, it.depth - 1})
			}
		case *starlark.Set:
			for e := range x.Elements() {
				stack = append(stack, item{e, it.depth - 1})
			}
		}
	}
	return n
}

// nodeWork is the cost of one node by itself: one, plus the length of a
// long string or integer.
func nodeWork(v starlark.Value) int {
	switch v := v.(type) {
	case starlark.String:
		return 1 + len(v)/64
	case starlark.Bytes:
		return 1 + len(v)/64
	case starlark.Int:
		if _, ok := v.Int64(); !ok {
			return 1 + intBits(v)/512
		}
	}
	return 1
}

// scalar reports whether hashing or comparing v is one node's work.
func scalar(v starlark.Value) bool {
	switch v := v.(type) {
	case starlark.NoneType, starlark.Bool, starlark.Float:
		return true
	case starlark.Int:
		_, ok := v.Int64()
		return ok
	case starlark.String:
		return len(v) < 64
	}
	return false
}

// workLimit is how many nodes the remaining budget of thread pays for.
func workLimit(thread *starlark.Thread) int {
	x := executionOf(thread)
	if x == nil || thread.Steps >= x.limits.MaxSteps {
		return 0
	}
	left := x.limits.MaxSteps - thread.Steps
	const maxInt = int(^uint(0) >> 1)
	if left > uint64(maxInt/workPerStep) {
		return maxInt
	}
	return int(left) * workPerStep
}

// chargeWork charges for work nodes, rounding up: a measure cut at the
// work limit then always exceeds the budget.
func chargeWork(thread *starlark.Thread, work int) error {
	if work < workPerStep {
		return nil
	}
	return Charge(thread, (uint64(work)+workPerStep-1)/workPerStep)
}

// chargeHash charges for hashing v (as a dict key or set element) and
// comparing it with a key of the same hash.
func chargeHash(thread *starlark.Thread, v starlark.Value) error {
	if scalar(v) {
		return nil
	}
	limit := workLimit(thread)
	return chargeWork(thread, hashWork(v, limit)+compareWork(v, limit))
}

// chargeCompare charges for comparing x with y.
func chargeCompare(thread *starlark.Thread, x, y starlark.Value) error {
	if scalar(x) || scalar(y) {
		return nil // one node, or a type mismatch at the first node
	}
	limit := workLimit(thread)
	return chargeWork(thread, min(compareWork(x, limit), compareWork(y, limit)))
}

// chargeEach charges for comparing each element of an iterable with
// others (in, sorted, min, max, list.index, ...): its compare work.
func chargeEach(thread *starlark.Thread, v starlark.Value) error {
	switch v.(type) {
	case starlark.Tuple, *starlark.List, *starlark.Dict, *starlark.Set:
		return chargeWork(thread, compareWork(v, workLimit(thread)))
	}
	return nil
}

// chargeHashEach charges for hashing each element of an iterable into a
// dict or set (set(), dict(), set and dict operators and methods, which
// hash every element again).
func chargeHashEach(thread *starlark.Thread, v starlark.Value) error {
	var elems func(yield func(starlark.Value) bool)
	switch v := v.(type) {
	case starlark.Tuple:
		elems = func(yield func(starlark.Value) bool) {
			for _, e := range v {
				if !yield(e) {
					return
				}
			}
		}
	case *starlark.List:
		elems = func(yield func(starlark.Value) bool) {
			for i := range v.Len() {
				if !yield(v.Index(i)) {
					return
				}
			}
		}
	case *starlark.Dict:
		elems = func(yield func(starlark.Value) bool) {
			for k := range v.Keys() {
				if !yield(v.Keys()[k]) {
					return
				}
			}
		}
	case *starlark.Set:
		elems = v.Elements()
	default:
		return nil
	}
	limit, work := workLimit(thread), 0
	for e := range elems {
		if scalar(e) {
			work++
		} else {
			work += hashWork(e, limit-work) + compareWork(e, limit-work)
		}
		if work > limit {
			break
		}
	}
	return chargeWork(thread, work)
}

// chargeMembership charges for x in y.
func chargeMembership(thread *starlark.Thread, x, y starlark.Value) error {
	switch y := y.(type) {
	case *starlark.Dict, *starlark.Set:
		return chargeHash(thread, x)
	case starlark.String:
		if s, ok := x.(starlark.String); ok {
			return chargeBytes(thread, len(y)+len(s))
		}
	case starlark.Bytes:
		if s, ok := x.(starlark.Bytes); ok {
			return chargeBytes(thread, len(y)+len(s))
		}
	case *starlark.List, starlark.Tuple:
		if scalar(x) {
			return chargeWork(thread, starlark.Len(y))
		}
		return chargeEach(thread, y)
	}
	return nil
}

// compareOps are the comparisons routed through a hidden builtin.
var compareOps = []syntax.Token{
	syntax.EQL, syntax.NEQ, syntax.LT, syntax.GT, syntax.LE, syntax.GE, syntax.IN, syntax.NOT_IN,
}

func compareBuiltin(op syntax.Token) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, y := args[0], args[1]
		var err error
		if op == syntax.IN || op == syntax.NOT_IN {
			if err = chargeMembership(thread, x, y); err != nil {
				return nil, err
			}
			return starlark.Binary(op, x, y)
		}
		if err = chargeCompare(thread, x, y); err != nil {
			return nil, err
		}
		ok, err := starlark.Compare(op, x, y)
		if err != nil {
			return nil, err
		}
		return starlark.Bool(ok), nil
	}
}

// builtinKey charges for hashing its argument and returns it: the
// rewriter wraps keys in it (d[k], {k: v}, {k}).
func builtinKey(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if err := chargeHash(thread, args[0]); err != nil {
		return nil, err
	}
	return args[0], nil
}
