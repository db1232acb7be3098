package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Writer writes the values of a world for a [Dump]: the expressions of
// its state ([Writer.Expr]) and, for a [Writable] value, the expression
// that rebuilds it. One Writer serves a whole dump, so that a list
// reachable from a global and from the world counts as reachable twice.
type Writer struct{ d *dumper }

// Expr writes v as an expression that a [Reader] evaluates. where names
// the place of v in the world for a [NotPlainError] (such as "the state
// of <0.4.0>").
func (w *Writer) Expr(where string, v starlark.Value) (string, error) {
	prevName, prevWhere := w.d.name, w.d.where
	w.d.name, w.d.where = "", where
	defer func() { w.d.name, w.d.where = prevName, prevWhere }()
	s, _, err := w.d.expr(v) // value bounds it by the dump's size
	return s, err
}

// State writes v, a value code reaches and calls functions through (a
// process's state), as Expr does, except that the functions in its
// lists, dicts and tuples, or v itself when it is one, are written as
// references that the restore sets once the functions are defined (see
// [Reader.State]).
func (w *Writer) State(where string, v starlark.Value) (string, error) {
	d := w.d
	prevName, prevWhere, prevIn, prevRefs := d.name, d.where, d.inGlobals, d.refs
	d.name, d.where, d.inGlobals, d.refs = "", where, true, false
	defer func() {
		d.name, d.where, d.inGlobals = prevName, prevWhere, prevIn
		d.refs4 = d.refs4 || d.refs // a state with references: version 4
		d.refs = d.refs || prevRefs
	}()
	if fn, ok := v.(*starlark.Function); ok {
		s, _, err := d.funcExpr(fn)
		return s, err
	}
	d.settable = true // the state is replaced by a tuple rebuilt
	s, _, err := d.expr(v)
	return s, err
}

// WriteString writes text of the expression as it is.
func (w *Writer) WriteString(s string) { w.d.b.WriteString(s) }

// WriteValue writes v, an argument of a constructor.
func (w *Writer) WriteValue(v starlark.Value) error { return w.d.value(v, w.d.depth+1) }

// WriteFunc writes a function, a constructor's argument, by a name that a
// [Reader] links to the restored function once the dump's defs ran
// ([Reader.Func]). It must be a function whose source the session keeps:
// a global's top-level def or name = lambda (by the global's name), or a
// lambda the world keeps ([KeepSource]: by a hidden name, its text
// written at its line and column in its chunk).
func (w *Writer) WriteFunc(c starlark.Callable) error {
	fn, ok := c.(*starlark.Function)
	if ok {
		w.d.s.lambdaOf(fn) // one a process's state holds
	}
	if src := w.d.s.defs[fn]; ok && src != nil && w.d.s.globals[src.name] == fn {
		w.d.b.WriteString(strconv.Quote(src.name)) // a global's def or lambda
		return nil
	}
	if ok && (w.d.s.lambdas[fn] != nil || w.d.s.defs[fn] != nil) {
		// A lambda the world keeps, or an older version of a global's
		// function: written at its place in its chunk, bound to a
		// hidden name.
		i, seen := w.d.keptIdx[fn]
		if !seen {
			if w.d.keptIdx == nil {
				w.d.keptIdx = make(map[*starlark.Function]int)
			}
			i = len(w.d.kept)
			w.d.keptIdx[fn] = i
			w.d.kept = append(w.d.kept, fn)
		}
		if w.d.s.lambdas[fn] == nil { // an older version: by its name
			w.d.b.WriteString(strconv.Quote(keptName(i)))
			return nil
		}
		// A lambda: its name and the values it captured (for a factory
		// to capture them again; see factoryChunk). A captured function
		// is a reference that the link step resolves first.
		src := w.d.s.lambdas[fn]
		if w.d.writing[fn] {
			return w.NotPlain("a lambda that captured itself")
		}
		var (
			args  starlark.Tuple
			maker string
		)
		if w.d.asValue && w.d.s.makesMore(fn, src) {
			// A worker's handler is called by the runtime alone; a value
			// by code, which may call one made after the restore too: a
			// function made for it would be another than those to
			// Starlark's recursion check. Its def makes it, when it can.
			var ok bool
			if src.maker == "" {
				return w.NotPlain("a lambda that a lambda the sandbox keeps made, which can make more of it: restored, it would be another function than those to Starlark's recursion check")
			}
			if w.d.makers == nil {
				w.d.makers = make(map[*defSource]*syntax.DefStmt)
			}
			if maker, args, ok = w.d.s.makerCall(fn, src, w.d.makers); !ok {
				return w.NotPlain("a lambda that " + src.maker + "() made, which can make more of it and does more than return it: restored, it would be another function than those to Starlark's recursion check")
			}
			if w.d.called == nil {
				w.d.called = make(map[*starlark.Function]bool)
			}
			w.d.called[fn], w.d.refs4 = true, true
		} else {
			for j := range fn.NumFreeVars() {
				_, v := fn.FreeVar(j)
				args = append(args, v)
			}
			_, extras, ok := factoryExtras(fn, src)
			if !ok {
				return w.NotPlain("a lambda whose default is computed from a variable of the code that made it")
			}
			args = append(args, extras...)
		}
		if w.d.writing == nil {
			w.d.writing = make(map[*starlark.Function]bool)
		}
		w.d.writing[fn] = true
		defer delete(w.d.writing, fn)
		w.d.b.WriteString("(" + strconv.Quote(keptName(i)) + ", (")
		for _, v := range args {
			var err error
			if f, ok := v.(*starlark.Function); ok {
				err = w.d.ref(f) // the lambda may call it
			} else {
				err = w.d.value(v, w.d.depth+1)
			}
			if err != nil {
				return err
			}
			w.d.b.WriteString(", ")
		}
		w.d.b.WriteString(")")
		if maker != "" {
			w.d.b.WriteString(", " + strconv.Quote(maker)) // made by calling maker with them
		}
		w.d.b.WriteString(")")
		return nil
	}
	return w.NotPlain("a function whose source no snapshot keeps (" + c.Name() + ": a nested def, a def inside a block, a builtin, or a closure of either)")
}

// NotPlain is the error of a value that the world cannot write.
func (w *Writer) NotPlain(reason string) error { return w.d.notPlain(reason) }

// Reader evaluates the expressions of a [Dump] that need more than
// source ([Dump.Bound], [Dump.World]): literals, frozen(v), and calls of
// the world's constructors ([SavedWorld.Constructors]), which reach the
// reader with [ReaderOf].
type Reader struct {
	env     starlark.StringDict
	refs    []string // globals bound to function(ref) (see Session.restoreRefs)
	links   []link
	fetched map[string][]starlark.Value // by expression: values of Prefetch not taken yet
}

type link struct {
	name     string
	captured starlark.Tuple // a lambda's: what it captured (or its maker's arguments); nil for a name
	maker    string         // the def that makes the lambda, called with captured ("": its factory)
	set      func(*starlark.Function)
}

// readerKey is the thread-local key of the Reader evaluating.
const readerKey = "otpbox.engine.reader"

// ReaderOf returns the Reader whose expression thread evaluates, or nil.
func ReaderOf(thread *starlark.Thread) *Reader {
	r, _ := thread.Local(readerKey).(*Reader)
	return r
}

func newReader(w World) *Reader {
	env := starlark.StringDict{"frozen": frozenBuiltin}
	if sw, ok := w.(SavedWorld); ok {
		for name, c := range sw.Constructors() {
			env[name] = c
		}
	}
	return &Reader{env: env}
}

var frozenBuiltin = starlark.NewBuiltin("frozen", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	v.Freeze()
	return v, nil
})

// readerSteps bounds the steps of one expression per byte of it: an
// expression of a dump is literals and calls, a step or so per token.
const readerSteps = 16

// Prefetch evaluates exprs in one go (one parse and compilation instead
// of one each), for the Value calls that follow: each value it made is
// given once, to a Value of the same expression. The batch is a list with
// each expression on lines of its own, and is used only if its parse has
// one element per expression, each where its expression starts (so that
// a corrupt expression cannot take its neighbour's place); otherwise
// Value evaluates, and reports, each on its own.
func (r *Reader) Prefetch(exprs []string) {
	if len(exprs) < 2 {
		return
	}
	var b strings.Builder
	b.WriteString("[\n")
	starts := make([]int32, len(exprs))
	line := int32(2)
	for i, e := range exprs {
		starts[i] = line
		line += int32(strings.Count(e, "\n")) + 1
		b.WriteString(e)
		b.WriteString(",\n")
	}
	b.WriteString("]")
	opts := &syntax.FileOptions{Set: true}
	x, err := opts.ParseExpr("<snapshot>", b.String(), 0)
	list, ok := x.(*syntax.ListExpr)
	if err != nil || !ok || len(list.List) != len(exprs) {
		return
	}
	for i, e := range list.List {
		if start, _ := e.Span(); start.Line != starts[i] || start.Col != 1 {
			return
		}
	}
	v, err := starlark.EvalExprOptions(opts, r.thread(b.Len()), list, r.env)
	vs, ok := v.(*starlark.List)
	if err != nil || !ok || vs.Len() != len(exprs) {
		return
	}
	if r.fetched == nil {
		r.fetched = make(map[string][]starlark.Value, len(exprs))
	}
	for i, e := range exprs {
		r.fetched[e] = append(r.fetched[e], vs.Index(i))
	}
}

// thread returns a thread for an expression of n bytes, its steps
// bounded by them; the constructors find r on it (ReaderOf).
func (r *Reader) thread(n int) *starlark.Thread {
	thread := &starlark.Thread{Name: "restore"}
	thread.SetLocal(readerKey, r)
	thread.SetMaxExecutionSteps(uint64(readerSteps*n + 1024))
	return thread
}

// Value evaluates expr, as [Writer.Expr] wrote it.
func (r *Reader) Value(expr string) (starlark.Value, error) {
	if vs := r.fetched[expr]; len(vs) > 0 {
		r.fetched[expr] = vs[1:]
		return vs[0], nil
	}
	v, err := starlark.EvalOptions(&syntax.FileOptions{Set: true}, r.thread(len(expr)), "<snapshot>", expr, r.env)
	if err != nil {
		return nil, fmt.Errorf("engine: a value of the dump: %w", err)
	}
	return v, nil
}

// State evaluates expr, as [Writer.State] wrote it, and calls set with
// the value; the link step sets the functions in it once the dump's defs
// have run (and calls set again with the function when the value is
// one).
func (r *Reader) State(expr string, set func(starlark.Value)) error {
	v, err := r.Value(expr)
	if err != nil {
		return err
	}
	if f, ok := v.(*funcRef); ok {
		set(v)
		return r.Func(f.ref, func(fn *starlark.Function) { set(fn) })
	}
	if v, _, err = r.bindRefs(v, 0); err != nil {
		return err
	}
	set(v)
	return nil
}

// Func calls set, once the dump's defs have run, with the function ref
// names, as WriteFunc wrote it: a name, or a name and the values a
// lambda captured. A restore fails if there is none.
func (r *Reader) Func(ref starlark.Value, set func(*starlark.Function)) error {
	name, captured, maker, err := refParts(ref)
	if err != nil {
		return err
	}
	r.links = append(r.links, link{name: name, captured: captured, maker: maker, set: set})
	return nil
}

// refParts reads a function reference as WriteFunc wrote it: a name; a
// name and what a lambda captured; or a name, arguments and the def that
// makes the lambda when called with them (see Session.makerCall).
func refParts(ref starlark.Value) (name string, captured starlark.Tuple, maker string, err error) {
	switch ref := ref.(type) {
	case starlark.String:
		return string(ref), nil, "", nil
	case starlark.Tuple:
		if len(ref) == 2 || len(ref) == 3 {
			name, ok := ref[0].(starlark.String)
			captured, ok2 := ref[1].(starlark.Tuple)
			var maker starlark.String
			ok3 := true
			if len(ref) == 3 {
				maker, ok3 = ref[2].(starlark.String)
				ok3 = ok3 && maker != ""
			}
			if ok && ok2 && ok3 {
				return string(name), captured, string(maker), nil
			}
		}
	}
	return "", nil, "", fmt.Errorf("a function reference, got %s", ref.Type())
}

// funcRef is what function(ref) makes in an expression of Dump.Bound: a
// placeholder in a list or a dict for the function ref names, which
// bindRefs has the link step put in its place.
type funcRef struct{ ref starlark.Value }

var (
	_ starlark.Value = (*funcRef)(nil)

	funcRefBuiltin = starlark.NewBuiltin(nameFuncRef, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var ref starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &ref); err != nil {
			return nil, err
		}
		return &funcRef{ref}, nil
	})
	errRefPlace = errors.New("engine: a function reference of the dump where no function can be set (a frozen value)")
)

func (f *funcRef) String() string        { return nameFuncRef + "(" + f.ref.String() + ")" }
func (f *funcRef) Type() string          { return "function reference" }
func (f *funcRef) Freeze()               {}
func (f *funcRef) Truth() starlark.Bool  { return true }
func (f *funcRef) Hash() (uint32, error) { return 0, errors.New("unhashable: a function reference") }

// bindRefs has the link step replace each function reference in v (see
// funcRef) by the function it names: in place in a list or a dict that
// is not frozen; in a tuple, which nothing can change, in a copy of it
// that bindRefs returns (with changed true) for the caller to put where
// the tuple was. Nothing tells a copy of a tuple from the tuple (Starlark
// has no identity comparison), and the copy's elements are set before
// any code sees it.
func (r *Reader) bindRefs(v starlark.Value, depth int) (out starlark.Value, changed bool, err error) {
	if depth > maxReprDepth {
		return nil, false, errors.New("engine: a bound value of the dump nested too deeply")
	}
	switch v := v.(type) {
	case *starlark.List:
		for i := range v.Len() {
			e := v.Index(i)
			if f, ok := e.(*funcRef); ok {
				if frozenList(v) {
					return nil, false, errRefPlace
				}
				if err := r.Func(f.ref, func(fn *starlark.Function) { _ = v.SetIndex(i, fn) }); err != nil {
					return nil, false, err
				}
				continue
			}
			ne, changed, err := r.bindRefs(e, depth+1)
			switch {
			case err != nil:
				return nil, false, err
			case changed && frozenList(v):
				return nil, false, errRefPlace
			case changed:
				_ = v.SetIndex(i, ne)
			}
		}
	case *starlark.Dict:
		for _, kv := range v.Items() { // a key holds no reference: one is unhashable
			k := kv[0]
			if f, ok := kv[1].(*funcRef); ok {
				if frozenDict(v) {
					return nil, false, errRefPlace
				}
				if err := r.Func(f.ref, func(fn *starlark.Function) { _ = v.SetKey(k, fn) }); err != nil {
					return nil, false, err
				}
				continue
			}
			ne, changed, err := r.bindRefs(kv[1], depth+1)
			switch {
			case err != nil:
				return nil, false, err
			case changed && frozenDict(v):
				return nil, false, errRefPlace
			case changed:
				_ = v.SetKey(k, ne) // an existing key keeps its place
			}
		}
	case starlark.Tuple:
		var cp starlark.Tuple // made at the first element that changes
		for i, e := range v {
			if f, ok := e.(*funcRef); ok {
				if cp == nil {
					cp = slices.Clone(v)
				}
				t := cp
				if err := r.Func(f.ref, func(fn *starlark.Function) { t[i] = fn }); err != nil {
					return nil, false, err
				}
				continue
			}
			ne, changed, err := r.bindRefs(e, depth+1)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if cp == nil {
					cp = slices.Clone(v)
				}
				cp[i] = ne
			}
		}
		if cp != nil {
			return cp, true, nil
		}
	}
	return v, false, nil
}

// bind assigns the globals of d.Bound; the functions in their lists and
// dicts are set by the link step.
func (s *Session) bind(r *Reader, bound string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var exprs []string
	for line := range strings.Lines(bound) {
		if _, expr, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " = "); ok {
			exprs = append(exprs, expr)
		}
	}
	r.Prefetch(exprs)
	for line := range strings.Lines(bound) {
		name, expr, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " = ")
		if !ok || !isIdent(name) {
			return fmt.Errorf("engine: a bound global of the dump: %q", line)
		}
		v, err := r.Value(expr)
		if err != nil {
			return err
		}
		if f, ref := v.(*funcRef); ref {
			// g = f, add2 = adder(2): the link step sets the global.
			if err := r.Func(f.ref, func(fn *starlark.Function) { s.globals[name] = fn }); err != nil {
				return err
			}
			r.refs = append(r.refs, name)
		} else if v, _, err = r.bindRefs(v, 0); err != nil {
			return err
		}
		s.globals[name] = v
	}
	return nil
}

// callFactory calls a factory of a Restore's chunk (see factoryChunk)
// with the values its lambda captured, and records the lambda's source
// as the original's was.
func (s *Session) callFactory(factory *starlark.Function, captured starlark.Tuple) (*starlark.Function, error) {
	src := s.factories[factory]
	if src == nil {
		return nil, errors.New("not a factory")
	}
	thread := &starlark.Thread{Name: "restore"}
	thread.SetMaxExecutionSteps(1024)
	v, err := starlark.Call(thread, factory, captured, nil)
	if err != nil {
		return nil, err
	}
	fn, ok := v.(*starlark.Function)
	if !ok || fn.Name() != "lambda" {
		return nil, fmt.Errorf("made a %s", v.Type())
	}
	rec := *src
	rec.module = fn.Module()
	s.recordLambda(fn, &rec)
	return fn, nil
}

// recordLambda records src as the source of fn, a lambda (a Restore's,
// or one a dump met), as a commit records one.
func (s *Session) recordLambda(fn *starlark.Function, src *defSource) {
	if s.lambdas == nil {
		s.lambdas = make(map[*starlark.Function]*defSource)
	}
	s.lambdas[fn] = src
	s.defBytes += int64(len(src.text)) + lambdaRecordBytes
}

// linker resolves the function names of a Restore's links.
type linker struct {
	s      *Session
	made   map[string]*starlark.Function // one lambda per name, however often it is named
	making map[string]bool               // factories being called: a corrupt dump's cycle
}

// resolve returns the function name names: a global's def, or one a
// chunk bound (a lambda, an older version); for a factory's lambda, the
// lambda it returns with captured, whose function references it resolves
// first; with a maker, the lambda name stands for, made by calling the
// def maker with captured.
func (k *linker) resolve(name string, captured starlark.Tuple, maker string) (*starlark.Function, error) {
	s := k.s
	if maker != "" {
		return k.call(name, captured, maker)
	}
	fn, ok := s.globals[name].(*starlark.Function)
	if strings.HasPrefix(name, nameKept) {
		fn, ok = s.restored[name], s.restored[name] != nil
	} else if ok && s.defs[fn] == nil {
		ok = false
	}
	if !ok {
		return nil, errors.New("engine: the dump refers to a function " + name + " that it does not define")
	}
	if s.factories[fn] == nil {
		return fn, nil
	}
	// A factory: the lambda it returns, with what it captured.
	if m := k.made[name]; m != nil {
		return m, nil
	}
	if k.making[name] {
		return nil, errors.New("engine: the dump's function " + name + " captures itself")
	}
	k.making[name] = true
	args, err := k.args(captured)
	if err != nil {
		return nil, err
	}
	m, err := s.callFactory(fn, args)
	if err != nil {
		return nil, fmt.Errorf("engine: the factory %s: %w", name, err)
	}
	k.made[name] = m
	return m, nil
}

// args returns captured with its function references resolved.
func (k *linker) args(captured starlark.Tuple) (starlark.Tuple, error) {
	args := make(starlark.Tuple, len(captured))
	for i, v := range captured {
		args[i] = v
		if ref, ok := v.(*funcRef); ok {
			name, captured, maker, err := refParts(ref.ref)
			if err != nil {
				return nil, err
			}
			if args[i], err = k.resolve(name, captured, maker); err != nil {
				return nil, err
			}
		}
	}
	return args, nil
}

// call makes the lambda name stands for by calling the global def maker
// with the arguments (see Session.makerCall), and records its source as
// a commit records a lambda a def made.
func (k *linker) call(name string, captured starlark.Tuple, maker string) (*starlark.Function, error) {
	s := k.s
	if m := k.made[name]; m != nil {
		return m, nil
	}
	if k.making[name] {
		return nil, errors.New("engine: the dump's function " + name + " captures itself")
	}
	k.making[name] = true
	def, ok := s.globals[maker].(*starlark.Function)
	if !ok || s.defs[def] == nil || s.defs[def].name != maker {
		return nil, errors.New("engine: the dump makes " + name + " with a function " + maker + " that it does not define")
	}
	args, err := k.args(captured)
	if err != nil {
		return nil, err
	}
	thread := &starlark.Thread{Name: "restore"}
	thread.SetMaxExecutionSteps(1024)
	v, err := starlark.Call(thread, def, args, nil)
	if err != nil {
		return nil, fmt.Errorf("engine: the dump's call of %s: %w", maker, err)
	}
	m, ok := v.(*starlark.Function)
	var src *defSource
	if ok && m.Name() == "lambda" {
		src = s.innerLambda(m)
	}
	if src == nil || src.maker != maker {
		return nil, fmt.Errorf("engine: the dump's call of %s made a %s, not a lambda of it", maker, v.Type())
	}
	src.module, src.order = m.Module(), s.defs[def].order
	s.recordLambda(m, src)
	k.made[name] = m
	return m, nil
}

// noRefsLeft fails when a function reference is left in the globals or
// the world (a corrupt dump's, where no link replaced it).
func (s *Session) noRefsLeft() error {
	var left bool
	w := newWalker(math.MaxInt64, nil)
	w.funcs = func(*starlark.Function) {}
	w.leaf = func(v starlark.Value) {
		if _, ok := v.(*funcRef); ok {
			left = true
		}
	}
	w.globals(s.globals)
	w.roots(s.world)
	if left {
		return errors.New("engine: a function reference of the dump where no function can be set")
	}
	return nil
}

// link resolves r's function names in the restored globals, puts back
// the globals as they were before the defs ran (before) where a chunk
// bound one again, then counts the session's state as a commit does.
func (s *Session) link(r *Reader, before starlark.StringDict) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, v := range before {
		s.globals[name] = v // first: a link may set a global
	}
	k := linker{s: s, made: map[string]*starlark.Function{}, making: map[string]bool{}}
	for _, l := range r.links {
		fn, err := k.resolve(l.name, l.captured, l.maker)
		if err != nil {
			return err
		}
		l.set(fn)
	}
	for name := range s.restoreRefs {
		// What the chunks' functions see by that name, now the function.
		s.restoreRefs[name], s.restoreEnv[name] = s.globals[name], s.globals[name]
	}
	s.restoreEnv, s.restoreRefs = nil, nil
	if err := s.noRefsLeft(); err != nil {
		return err
	}
	s.restored, s.factories = nil, nil
	s.pruneDefs()
	s.names = namesDigest(s.env.digest, s.globals)
	s.heap = heapSize(s.globals, s.world, s.limits.MaxHeapBytes)
	return nil
}
