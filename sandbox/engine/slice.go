package engine

import (
	"fmt"

	"go.starlark.net/starlark"
)

// builtinSlice is x[lo:hi:step] with the interpreter's semantics (absent
// bounds arrive as None). Slicing a list, or anything with a step other
// than 1, copies, so it is charged.
func builtinSlice(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, lo, hi, stepv := args[0], args[1], args[2], args[3]
	sliceable, ok := x.(starlark.Sliceable)
	if !ok {
		return nil, fmt.Errorf("invalid slice operand %s", x.Type())
	}
	n := sliceable.Len()
	step := 1
	if stepv != starlark.None {
		var err error
		if step, err = starlark.AsInt32(stepv); err != nil {
			return nil, fmt.Errorf("invalid slice step: %s", err)
		}
		if step == 0 {
			return nil, fmt.Errorf("zero is not a valid slice step")
		}
	}
	var start, end, count int
	if step > 0 {
		start, end = 0, n
		if err := sliceIndex(lo, n, &start); err != nil {
			return nil, fmt.Errorf("invalid start index: %s", err)
		}
		if err := sliceIndex(hi, n, &end); err != nil {
			return nil, fmt.Errorf("invalid end index: %s", err)
		}
		start, end = clamp(start, 0, n), clamp(end, 0, n)
		end = max(end, start)
		count = (end - start + step - 1) / step
	} else {
		start, end = n-1, -1
		if err := sliceIndex(lo, n, &start); err != nil {
			return nil, fmt.Errorf("invalid start index: %s", err)
		}
		if err := sliceIndex(hi, n, &end); err != nil {
			return nil, fmt.Errorf("invalid end index: %s", err)
		}
		start, end = min(start, n-1), max(end, -1)
		start = max(start, end)
		count = (start - end - step - 1) / -step
	}
	switch x.(type) {
	case *starlark.List:
		if err := chargeSlots(thread, count); err != nil {
			return nil, err
		}
	case starlark.Tuple:
		if step != 1 {
			if err := chargeSlots(thread, count); err != nil {
				return nil, err
			}
		}
	case starlark.String, starlark.Bytes:
		if step != 1 {
			if err := chargeBytes(thread, count); err != nil {
				return nil, err
			}
		}
	}
	return sliceable.Slice(start, end, step), nil
}

// sliceIndex sets *result to v (plus n when negative) unless v is None.
func sliceIndex(v starlark.Value, n int, result *int) error {
	if v == starlark.None {
		return nil
	}
	i, err := starlark.AsInt32(v)
	if err != nil {
		return err
	}
	if i < 0 {
		i += n
	}
	*result = i
	return nil
}

func clamp(i, lo, hi int) int { return max(lo, min(i, hi)) }
