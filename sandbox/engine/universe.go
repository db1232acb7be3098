package engine

import (
	"errors"
	"math/bits"
	"strings"

	"go.starlark.net/starlark"
)

// universe returns the predeclared replacements of Starlark's built-in
// functions whose cost grows with their arguments. Each charges the
// execution's budget, then calls the original; the rest of
// starlark.Universe (len, range, type, ...) is used as is. Nothing here
// reaches the host: there is no load, file, clock, random or environment
// access in Starlark's universe to begin with.
func universe() starlark.StringDict {
	u := starlark.Universe
	d := starlark.StringDict{
		"print":   starlark.NewBuiltin("print", builtinPrint),
		"fail":    starlark.NewBuiltin("fail", builtinFail),
		"str":     wrap(u, "str", costText(true)),
		"repr":    wrap(u, "repr", costText(false)),
		"int":     wrap(u, "int", costInt),
		"abs":     wrap(u, "abs", costAbs),
		"bytes":   wrap(u, "bytes", costBytes),
		"zip":     wrap(u, "zip", costZip),
		"sorted":  wrap(u, "sorted", costSorted),
		"getattr": wrap(u, "getattr", nil),
	}
	for _, name := range []string{"list", "tuple", "reversed", "any", "all"} {
		d[name] = wrap(u, name, costFirstIterable(1))
	}
	for _, name := range []string{"min", "max"} { // comparisons
		d[name] = wrap(u, name, costHashed(costFirstIterable(1), chargeEach))
	}
	d["set"] = wrap(u, "set", costHashed(costFirstIterable(2), chargeHashEach)) // hash entries
	d["dict"] = wrap(u, "dict", costHashed(costFirstIterable(3), chargeHashEach))
	d["enumerate"] = wrap(u, "enumerate", costFirstIterable(3)) // 2-tuples
	return d
}

// argsCost charges for a builtin call; it may replace lazy iterables in
// args by their elements (args is then a copy).
type argsCost func(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Tuple, error)

// wrap returns u[name] behind cost. getattr (cost nil) instead guards the
// methods it returns, like x.name does.
func wrap(u starlark.StringDict, name string, cost argsCost) *starlark.Builtin {
	orig := u[name].(*starlark.Builtin)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if cost != nil {
			var err error
			if args, err = cost(thread, args, kwargs); err != nil {
				return nil, err
			}
		}
		v, err := orig.CallInternal(thread, args, kwargs)
		if err == nil && cost == nil && len(args) >= 2 {
			if n, ok := starlark.AsString(args[1]); ok {
				v = guardMethod(args[0], n, v)
			}
		}
		return v, err
	})
}

// costFirstIterable charges slotsPerElem slots per element of the
// iterable first argument, materialising it when lazy; calls with several
// positional arguments (min(a, b)) cost nothing more.
func costFirstIterable(slotsPerElem int) argsCost {
	return func(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
		if len(args) != 1 {
			return args, nil
		}
		v, err := bounded(thread, args[0])
		if err != nil {
			return nil, err
		}
		if slotsPerElem > 1 {
			if err := chargeSlots(thread, (slotsPerElem-1)*max(0, starlark.Len(v))); err != nil {
				return nil, err
			}
		}
		if v != args[0] {
			args = starlark.Tuple{v}
		}
		return args, nil
	}
}

func costSorted(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Tuple, error) {
	args, err := costFirstIterable(1)(thread, args, kwargs)
	if err != nil || len(args) != 1 {
		return args, err
	}
	n := max(0, starlark.Len(args[0]))
	// n·log n comparisons, each as deep as the elements.
	return args, chargeWork(thread, compareWork(args[0], workLimit(thread))*bits.Len(uint(n)))
}

// costHashed adds to cost the work of hashing or comparing (each) the
// elements of the arguments (set, dict, min, max).
func costHashed(cost argsCost, each func(*starlark.Thread, starlark.Value) error) argsCost {
	return func(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Tuple, error) {
		args, err := cost(thread, args, kwargs)
		if err != nil {
			return args, err
		}
		for _, a := range args {
			if err := each(thread, a); err != nil {
				return args, err
			}
		}
		return args, nil
	}
}

func costZip(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
	out := args
	shortest := -1
	for i, a := range args {
		v, err := bounded(thread, a)
		if err != nil {
			return nil, err
		}
		if v != a {
			if &out[0] == &args[0] {
				out = append(starlark.Tuple(nil), args...)
			}
			out[i] = v
		}
		if n := starlark.Len(v); n >= 0 && (shortest < 0 || n < shortest) {
			shortest = n
		}
	}
	return out, chargeSlots(thread, max(0, shortest)*(len(args)+3))
}

func costBytes(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Tuple, error) {
	if len(args) == 1 {
		switch args[0].(type) {
		case starlark.String, starlark.Bytes:
			return args, chargeBytes(thread, starlark.Len(args[0]))
		}
	}
	return costFirstIterable(1)(thread, args, kwargs)
}

var errIntString = errors.New("int: string too long to convert (4300 digit limit)")

func costInt(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
	if len(args) > 0 {
		if s, ok := starlark.AsString(args[0]); ok {
			if len(strings.TrimSpace(s)) > maxIntDigits+3 { // sign and base prefix
				return nil, errIntString
			}
			return args, chargeBytes(thread, len(s))
		}
	}
	return args, nil
}

func costAbs(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
	if len(args) == 1 {
		if i, ok := args[0].(starlark.Int); ok {
			return args, chargeIntLinear(thread, i, i)
		}
	}
	return args, nil
}

// costText sizes str(x) or repr(x) before it is built.
func costText(str bool) argsCost {
	return func(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Tuple, error) {
		if len(args) != 1 {
			return args, nil
		}
		budget := budgetOf(thread)
		n, err := reprSize(args[0], str, budget)
		if err != nil {
			return nil, err
		}
		return args, chargeText(thread, min(n, budget+1))
	}
}

// builtinPrint is Starlark's print, writing to the execution's bounded
// output, with every argument sized before it is rendered.
func builtinPrint(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x := executionOf(thread)
	limit := DefaultMaxOutputBytes
	if x != nil {
		limit = x.outputLeft()
	}
	line, err := joinArgs(thread, b.Name(), args, kwargs, limit)
	if err != nil {
		var se *sizeError
		if errors.As(err, &se) && x != nil {
			return nil, &LimitError{Limit: LimitOutputSize, Max: uint64(x.limits.MaxOutputBytes), Got: uint64(x.out.Len() + se.size)}
		}
		return nil, err
	}
	if x == nil {
		return starlark.None, nil // no execution to print to
	}
	if err := x.write(line + "\n"); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// builtinFail is Starlark's fail, with its message sized like print's.
func builtinFail(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	limit := DefaultMaxOutputBytes
	if x := executionOf(thread); x != nil {
		limit = x.limits.MaxOutputBytes
	}
	msg, err := joinArgs(thread, b.Name(), args, kwargs, limit)
	if err != nil {
		return nil, err
	}
	return nil, errors.New("fail: " + msg)
}

// joinArgs renders args as print does (strings raw, the rest as repr),
// separated by the sep keyword (default " "), within limit bytes.
func joinArgs(thread *starlark.Thread, fn string, args starlark.Tuple, kwargs []starlark.Tuple, limit int) (string, error) {
	sep := " "
	if err := starlark.UnpackArgs(fn, nil, kwargs, "sep?", &sep); err != nil {
		return "", err
	}
	var buf strings.Builder
	for i, v := range args {
		if i > 0 {
			buf.WriteString(sep)
		}
		s, err := render(thread, v, true, limit-buf.Len())
		if err != nil {
			return "", err
		}
		buf.WriteString(s)
		if buf.Len() > limit {
			return "", &sizeError{size: buf.Len(), limit: limit}
		}
	}
	return buf.String(), nil
}
