package engine

import (
	"go.starlark.net/starlark"
)

// Approximate sizes, in bytes, of the parts of Starlark values. They are
// deliberately rough: the point is a stable, cheap bound that grows with
// what a session holds, not an exact account of the Go heap.
const (
	sizeSlot     = 16  // an interface value: a list slot, a tuple element
	sizeGlobal   = 48  // a map entry of the globals, plus its name
	sizeString   = 16  // string header, plus its bytes
	sizeList     = 48  // *List header
	sizeTuple    = 24  // slice header
	sizeDictItem = 64  // hashtable entry: hash, key, value, links
	sizeDict     = 96  // *Dict / *Set header and table
	sizeFunction = 96  // *Function, plus defaults and free variables
	sizeModule   = 256 // a module: program, globals, constants
	sizeBuiltin  = 48  // *Builtin, plus its receiver
	sizeOther    = 32  // any other value
)

// walker visits the values reachable from a set of roots: containers,
// tuples, functions with their module globals, defaults and free
// variables, and bound methods with their receivers. Shared containers,
// functions and modules are visited once; tuples and strings are counted
// at each reference, so sharing makes the size an over-estimate, never an
// under-estimate. It uses an explicit stack: nesting depth cannot
// overflow the Go stack.
type walker struct {
	seen  map[any]struct{} // pointers already visited
	stack []starlark.Value
	size  int64
	limit int64 // stop once size exceeds it
	// visit, when set, is called once per container.
	visit func(v starlark.Value)
	// funcs, when set, is called once per function, and the walk goes
	// into the values of a world's Holders (which the heap's size does
	// not count, as it did not before they were walked).
	funcs func(fn *starlark.Function)
	// leaf, when set, is called with each value that is not a container,
	// a function or a builtin, scalars included.
	leaf func(v starlark.Value)
}

func newWalker(limit int64, visit func(starlark.Value)) *walker {
	return &walker{seen: make(map[any]struct{}), limit: limit, visit: visit}
}

// over reports whether the walk stopped because size exceeded limit.
func (w *walker) over() bool { return w.size > w.limit }

// globals walks a session's globals.
func (w *walker) globals(g starlark.StringDict) {
	for name, v := range g {
		w.size += sizeGlobal + int64(len(name))
		w.push(v)
	}
	w.run()
}

// roots walks the values of world.
func (w *walker) roots(world World) {
	world.Roots(func(v starlark.Value) bool {
		w.push(v)
		w.run()
		return !w.over()
	})
}

// push schedules v for a visit; scalars are counted at once, which keeps
// the stack short for lists of numbers and strings.
func (w *walker) push(v starlark.Value) {
	if n, ok := scalarSize(v); ok && w.leaf == nil {
		w.size += n
		return
	}
	w.stack = append(w.stack, v)
}

// scalarSize returns the size of an immutable value without references.
func scalarSize(v starlark.Value) (int64, bool) {
	switch v := v.(type) {
	case starlark.NoneType, starlark.Bool:
		return 0, true // shared constants
	case starlark.Int:
		if _, ok := v.Int64(); ok {
			return 0, true
		}
		return int64(sizeString + intBits(v)/8), true
	case starlark.Float:
		return 8, true
	case starlark.String:
		return int64(sizeString + len(v)), true
	case starlark.Bytes:
		return int64(sizeString + len(v)), true
	}
	return 0, false
}

// once reports whether p is visited for the first time.
func (w *walker) once(p any) bool {
	if _, ok := w.seen[p]; ok {
		return false
	}
	w.seen[p] = struct{}{}
	return true
}

func (w *walker) run() {
	for len(w.stack) > 0 && !w.over() {
		v := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		w.value(v)
	}
}

func (w *walker) value(v starlark.Value) {
	switch v := v.(type) {
	case starlark.Tuple:
		w.size += int64(sizeTuple + sizeSlot*len(v))
		for _, e := range v {
			w.push(e)
		}
	case *starlark.List:
		if !w.once(v) {
			return
		}
		w.size += int64(sizeList + sizeSlot*v.Len())
		if w.visit != nil {
			w.visit(v)
		}
		for i := range v.Len() {
			w.push(v.Index(i))
		}
	case *starlark.Dict:
		if !w.once(v) {
			return
		}
		w.size += int64(sizeDict + sizeDictItem*v.Len())
		if w.visit != nil {
			w.visit(v)
		}
		for k, e := range v.Entries() {
			w.push(k)
			w.push(e)
		}
	case *starlark.Set:
		if !w.once(v) {
			return
		}
		w.size += int64(sizeDict + sizeDictItem*v.Len())
		if w.visit != nil {
			w.visit(v)
		}
		for e := range v.Elements() {
			w.push(e)
		}
	case *starlark.Function:
		if !w.once(v) {
			return
		}
		if w.funcs != nil {
			w.funcs(v)
		}
		w.size += sizeFunction
		for i := range v.NumParams() {
			if d := v.ParamDefault(i); d != nil {
				w.push(d)
			}
		}
		for i := range v.NumFreeVars() {
			if _, fv := v.FreeVar(i); fv != nil {
				w.push(fv)
			}
		}
		if m := v.Module(); m != nil && w.once(m) {
			w.size += sizeModule
			for _, g := range m.Globals() {
				w.size += sizeSlot
				w.push(g)
			}
		}
	case *starlark.Builtin:
		if !w.once(v) {
			return
		}
		w.size += sizeBuiltin
		if r := v.Receiver(); r != nil {
			w.push(r)
		}
	default:
		if w.leaf != nil {
			w.leaf(v)
		}
		if n, ok := scalarSize(v); ok {
			w.size += n
		} else {
			w.size += sizeOther
		}
		if h, ok := v.(Holder); ok && w.funcs != nil && w.once(h) {
			h.Held(func(e starlark.Value) bool {
				w.push(e)
				return true
			})
		}
	}
}

// heapSize returns the approximate size of everything reachable from g
// and held by world, or a value above limit as soon as it exceeds limit.
func heapSize(g starlark.StringDict, world World, limit int64) int64 {
	w := newWalker(limit, nil)
	w.size = world.Size()
	w.globals(g)
	w.roots(world)
	return w.size
}
