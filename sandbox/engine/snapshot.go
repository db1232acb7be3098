package engine

import (
	"reflect"

	"go.starlark.net/starlark"
)

// A snapshot records the contents of every mutable container reachable
// from a session's globals, so that a failed execution can be undone in
// place.
//
// Why in place: a function keeps the globals of the execution that
// defined it, so a container is shared between the session's globals and
// any function that uses it. Executing against a deep copy would split
// those two apart; restoring the originals' contents keeps every alias
// intact. Taking a snapshot costs a walk of the globals, bounded by
// Limits.MaxHeapBytes, and only impure chunks (see rewrite.go) take one.
type snapshot struct {
	lists []listState
	dicts []dictState
	sets  []setState
}

type listState struct {
	list  *starlark.List
	elems []starlark.Value
}

type dictState struct {
	dict  *starlark.Dict
	items []starlark.Value // key, value, key, value...
}

type setState struct {
	set   *starlark.Set
	elems []starlark.Value
}

// takeSnapshot records the containers reachable from g and the roots of
// world. What was committed is within limit, so the walk is bounded by it.
func takeSnapshot(g starlark.StringDict, world World, limit int64) *snapshot {
	s := new(snapshot)
	w := newWalker(limit*2, func(v starlark.Value) {
		switch v := v.(type) {
		case *starlark.List:
			elems := make([]starlark.Value, v.Len())
			for i := range elems {
				elems[i] = v.Index(i)
			}
			s.lists = append(s.lists, listState{v, elems})
		case *starlark.Dict:
			items := make([]starlark.Value, 0, 2*v.Len())
			for k, e := range v.Entries() {
				items = append(items, k, e)
			}
			s.dicts = append(s.dicts, dictState{v, items})
		case *starlark.Set:
			elems := make([]starlark.Value, 0, v.Len())
			for e := range v.Elements() {
				elems = append(elems, e)
			}
			s.sets = append(s.sets, setState{v, elems})
		}
	})
	w.globals(g)
	w.roots(world)
	return s
}

// restore puts back the recorded contents of every container that
// changed. It fails only if a changed container cannot be mutated any
// more (frozen, or still being iterated).
func (s *snapshot) restore() error {
	for _, l := range s.lists {
		if listUnchanged(l) {
			continue
		}
		if err := l.list.Clear(); err != nil {
			return err
		}
		for _, e := range l.elems {
			if err := l.list.Append(e); err != nil {
				return err
			}
		}
	}
	for _, d := range s.dicts {
		if dictUnchanged(d) {
			continue
		}
		if err := d.dict.Clear(); err != nil {
			return err
		}
		for i := 0; i < len(d.items); i += 2 {
			if err := d.dict.SetKey(d.items[i], d.items[i+1]); err != nil {
				return err
			}
		}
	}
	for _, st := range s.sets {
		if setUnchanged(st) {
			continue
		}
		if err := st.set.Clear(); err != nil {
			return err
		}
		for _, e := range st.elems {
			if err := st.set.Insert(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func listUnchanged(l listState) bool {
	if l.list.Len() != len(l.elems) {
		return false
	}
	for i, e := range l.elems {
		if !identical(l.list.Index(i), e) {
			return false
		}
	}
	return true
}

func dictUnchanged(d dictState) bool {
	if d.dict.Len()*2 != len(d.items) {
		return false
	}
	i := 0
	for k, v := range d.dict.Entries() {
		if !identical(k, d.items[i]) || !identical(v, d.items[i+1]) {
			return false
		}
		i += 2
	}
	return true
}

func setUnchanged(s setState) bool {
	if s.set.Len() != len(s.elems) {
		return false
	}
	i := 0
	for e := range s.set.Elements() {
		if !identical(e, s.elems[i]) {
			return false
		}
		i++
	}
	return true
}

// identical reports whether a and b are the same value: the same pointer
// for reference types, equal contents for immutable scalars. It is
// conservative: false means "maybe different".
func identical(a, b starlark.Value) bool {
	switch a := a.(type) {
	case starlark.String:
		b, ok := b.(starlark.String)
		return ok && a == b
	case starlark.Bytes:
		b, ok := b.(starlark.Bytes)
		return ok && a == b
	case starlark.Int:
		b, ok := b.(starlark.Int)
		if !ok {
			return false
		}
		c, err := a.Cmp(b, 0)
		return err == nil && c == 0
	case starlark.Float:
		b, ok := b.(starlark.Float)
		return ok && a == b
	case starlark.Bool:
		b, ok := b.(starlark.Bool)
		return ok && a == b
	case starlark.NoneType:
		return b == starlark.None
	case starlark.Tuple:
		b, ok := b.(starlark.Tuple)
		return ok && len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
	}
	// Comparing interfaces is safe (cannot panic) for pointer types, and
	// for struct types of comparable fields only (a world's pid).
	switch t := reflect.TypeOf(a); t.Kind() {
	case reflect.Pointer, reflect.Chan, reflect.UnsafePointer:
		return a == b
	case reflect.Struct:
		return t == reflect.TypeOf(b) && plainStruct(t) && a == b
	}
	return false
}

// plainStruct reports whether == on values of the struct type t compares
// numbers and strings only (it cannot panic).
func plainStruct(t reflect.Type) bool {
	for i := range t.NumField() {
		switch t.Field(i).Type.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64, reflect.String:
		default:
			return false
		}
	}
	return true
}
