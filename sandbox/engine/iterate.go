package engine

import (
	"fmt"

	"go.starlark.net/starlark"
)

// materialize returns the elements of an iterable, charging one slot per
// element as it goes, so that even a lazy iterable of unknown length
// cannot outrun the budget.
func materialize(thread *starlark.Thread, v starlark.Value) ([]starlark.Value, error) {
	if t, ok := v.(starlark.Tuple); ok {
		return t, chargeSlots(thread, len(t))
	}
	if n := starlark.Len(v); n >= 0 {
		if err := chargeSlots(thread, n); err != nil {
			return nil, err
		}
	}
	iterable, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("got %s, want iterable", v.Type())
	}
	known := starlark.Len(v) >= 0
	it := iterable.Iterate()
	defer it.Done()
	var elems []starlark.Value
	var e starlark.Value
	for it.Next(&e) {
		if !known && len(elems)%64 == 0 {
			if err := chargeSlots(thread, 64); err != nil {
				return nil, err
			}
		}
		elems = append(elems, e)
	}
	return elems, nil
}

// bounded charges for iterating v and returns a value to use in its
// place: v itself when its length is known, else its elements as a tuple.
func bounded(thread *starlark.Thread, v starlark.Value) (starlark.Value, error) {
	if n := starlark.Len(v); n >= 0 {
		return v, chargeSlots(thread, n)
	}
	if _, ok := v.(starlark.Iterable); !ok {
		return v, nil // let the callee report the type error
	}
	elems, err := materialize(thread, v)
	return starlark.Tuple(elems), err
}

func builtinSpread(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	return bounded(thread, args[0])
}
