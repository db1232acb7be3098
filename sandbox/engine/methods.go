package engine

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// methodCost charges for a call of a built-in method before it runs.
type methodCost func(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) error

// guardedMethods are the methods of the built-in types whose result grows
// with their receiver or arguments. The rewriter routes every x.name with
// one of these names through $attr, which wraps the bound method of a
// string, list, dict or set with its cost; other receivers are untouched.
var guardedMethods = map[string]methodCost{
	"capitalize":           costCaseMap,
	"lower":                costCaseMap,
	"upper":                costCaseMap,
	"title":                costCaseMap,
	"format":               costFormat,
	"join":                 costJoin,
	"replace":              costReplace,
	"split":                costSplit,
	"rsplit":               costSplit,
	"splitlines":           costSplitlines,
	"items":                costCopy(3), // a list of 2-tuples
	"keys":                 costCopy(1),
	"values":               costCopy(1),
	"extend":               costArgs(false),
	"update":               costHashedArgs(costArgs(false)),
	"union":                costHashedArgs(costArgs(true)),
	"intersection":         costHashedArgs(costArgs(true)),
	"difference":           costHashedArgs(costArgs(true)),
	"symmetric_difference": costHashedArgs(costArgs(true)),
	// Methods that hash, compare or scan (see compare.go).
	"get":        costKeyArg,
	"pop":        costKeyArg,
	"setdefault": costKeyArg,
	"add":        costKeyArg,
	"discard":    costKeyArg,
	"remove":     costKeyArg,
	"index":      costKeyArg,
	"count":      costKeyArg,
	"issubset":   costHashedArgs(nil),
	"issuperset": costHashedArgs(nil),
	"isdisjoint": costHashedArgs(nil),
	"find":       costScan,
	"rfind":      costScan,
	"rindex":     costScan,
	"startswith": costScan,
	"endswith":   costScan,
	"strip":      costScan,
	"lstrip":     costScan,
	"rstrip":     costScan,
	"partition":  costScan,
	"rpartition": costScan,
	"elems":      costScan,
	"codepoints": costScan,
}

// costKeyArg charges for the first argument as these methods use it: a
// key hashed into a dict or set, or a value compared with each element of
// a list, or a substring looked for in a string.
func costKeyArg(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) error {
	switch recv.(type) {
	case starlark.String:
		return costScan(thread, recv, args, nil)
	case *starlark.List:
		if len(args) > 0 {
			return chargeMembership(thread, args[0], recv)
		}
	case *starlark.Dict, *starlark.Set:
		if len(args) > 0 {
			return chargeHash(thread, args[0])
		}
	}
	return nil
}

// costHashedArgs adds to cost (when not nil) the work of hashing every
// element of the receiver and the arguments, as set and dict methods do
// (extend is a list's: it hashes nothing).
func costHashedArgs(cost methodCost) methodCost {
	return func(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) error {
		if cost != nil {
			if err := cost(thread, recv, args, kwargs); err != nil {
				return err
			}
		}
		if _, ok := recv.(*starlark.List); ok {
			return nil
		}
		for _, v := range append(starlark.Tuple{recv}, args...) {
			if err := chargeHashEach(thread, v); err != nil {
				return err
			}
		}
		return nil
	}
}

// costScan charges for a pass over the receiver string and the
// arguments: these methods run in one interpreter step however long the
// string.
func costScan(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) error {
	n := len(recvString(recv))
	for _, a := range args {
		if s, ok := starlark.AsString(a); ok {
			n += len(s)
		}
	}
	return chargeWork(thread, n/16)
}

func builtinAttr(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x := args[0]
	name, _ := starlark.AsString(args[1])
	v, err := attr(x, name)
	if err != nil {
		return nil, err
	}
	return guardMethod(x, name, v), nil
}

// attr is x.name as the interpreter evaluates it.
func attr(x starlark.Value, name string) (starlark.Value, error) {
	if h, ok := x.(starlark.HasAttrs); ok {
		v, err := h.Attr(name)
		if err != nil {
			if nsa, ok := err.(starlark.NoSuchAttrError); ok {
				return nil, fmt.Errorf("%s", string(nsa))
			}
			return nil, err
		}
		if v != nil {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
}

// guardMethod wraps v, the bound method recv.name, with its cost when it
// is a guarded method of a built-in type.
func guardMethod(recv starlark.Value, name string, v starlark.Value) starlark.Value {
	cost, ok := guardedMethods[name]
	method, isBuiltin := v.(*starlark.Builtin)
	if !ok || !isBuiltin {
		return v
	}
	switch recv.(type) {
	case starlark.String, *starlark.List, *starlark.Dict, *starlark.Set:
	default:
		return v
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := cost(thread, recv, args, kwargs); err != nil {
			return nil, err
		}
		return method.CallInternal(thread, args, kwargs)
	}).BindReceiver(recv)
}

func recvString(recv starlark.Value) string {
	s, _ := starlark.AsString(recv)
	return s
}

func costCaseMap(thread *starlark.Thread, recv starlark.Value, _ starlark.Tuple, _ []starlark.Tuple) error {
	return chargeBytes(thread, 2*len(recvString(recv))) // some runes grow when case-mapped
}

func costFormat(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) error {
	f := recvString(recv)
	vals := append([]starlark.Value(nil), args...)
	for _, kv := range kwargs {
		vals = append(vals, kv[1])
	}
	return chargeFormat(thread, f, strings.Count(f, "{"), vals)
}

func costJoin(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) error {
	if len(args) != 1 {
		return nil // the method reports it
	}
	iterable, ok := args[0].(starlark.Iterable)
	if !ok {
		return nil
	}
	sep := len(recvString(recv))
	budget := budgetOf(thread)
	total, n := 0, 0
	it := iterable.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		if s, ok := x.(starlark.String); ok {
			total += len(s)
		}
		if n > 0 {
			total += sep
		}
		n++
		if total > budget {
			break
		}
	}
	if err := chargeSlots(thread, n); err != nil {
		return err
	}
	return chargeText(thread, total)
}

func costReplace(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) error {
	s := recvString(recv)
	if len(args) < 2 {
		return nil
	}
	old, ok1 := starlark.AsString(args[0])
	repl, ok2 := starlark.AsString(args[1])
	if !ok1 || !ok2 || len(repl) <= len(old) {
		return chargeBytes(thread, len(s))
	}
	var n int
	if old == "" {
		n = utf8.RuneCountInString(s) + 1
	} else {
		n = strings.Count(s, old)
	}
	if len(args) > 2 {
		if c, ok := args[2].(starlark.Int); ok {
			if c, ok := c.Int64(); ok && c >= 0 && c < int64(n) {
				n = int(c)
			}
		}
	}
	if n > 0 && len(repl)-len(old) > (budgetOf(thread)-len(s))/n {
		return chargeText(thread, budgetOf(thread)+1)
	}
	return chargeText(thread, len(s)+n*(len(repl)-len(old)))
}

func costSplit(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) error {
	s := recvString(recv)
	pieces := len(s)/2 + 1 // whitespace split
	if len(args) > 0 {
		if sep, ok := starlark.AsString(args[0]); ok && sep != "" {
			pieces = strings.Count(s, sep) + 1
		}
	}
	return chargeSlots(thread, 2*pieces)
}

func costSplitlines(thread *starlark.Thread, recv starlark.Value, _ starlark.Tuple, _ []starlark.Tuple) error {
	s := recvString(recv)
	return chargeSlots(thread, 2*(strings.Count(s, "\n")+strings.Count(s, "\r")+1))
}

// costCopy charges slots per element of the receiver.
func costCopy(slotsPerElem int) methodCost {
	return func(thread *starlark.Thread, recv starlark.Value, _ starlark.Tuple, _ []starlark.Tuple) error {
		return chargeSlots(thread, slotsPerElem*max(0, starlark.Len(recv)))
	}
}

// costArgs charges for the elements of every iterable argument, and for
// the receiver too when the method returns a copy of it. A lazy iterable
// (unknown length) is walked once first, charging as it goes.
func costArgs(copiesRecv bool) methodCost {
	return func(thread *starlark.Thread, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) error {
		n := 0
		if copiesRecv {
			n = max(0, starlark.Len(recv))
		}
		for _, a := range args {
			if l := starlark.Len(a); l >= 0 {
				n += l
				continue
			}
			if _, ok := a.(starlark.Iterable); !ok {
				continue // the method reports it
			}
			if _, err := materialize(thread, a); err != nil {
				return err
			}
		}
		if _, ok := recv.(*starlark.List); ok {
			return chargeSlots(thread, n)
		}
		return chargeEntries(thread, n)
	}
}
