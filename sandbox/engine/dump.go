package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// ErrNotPlain reports a session whose globals Dump cannot write as
// source (not plain data and functions): a [NotPlainError] wraps it.
var ErrNotPlain = errors.New("engine: globals cannot be written as source")

// NotPlainError names the global that keeps Dump from writing a
// session's globals as source, and why.
type NotPlainError struct {
	Name   string // the global; "" for a value of the world
	Where  string // where the value is, when not a global's ("the state of <0.4.0>")
	Reason string // e.g. "a builtin_function_or_method", "a list reachable twice (…)"
}

func (e *NotPlainError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("engine: %s cannot be written as source: %s", e.Where, e.Reason)
	}
	return fmt.Sprintf("engine: global %s cannot be written as source: %s", e.Name, e.Reason)
}

func (e *NotPlainError) Unwrap() error { return ErrNotPlain }

// A Dump is a session's globals written as Starlark source: what
// [Session.Dump] returns and [Session.Restore] runs in a new session.
type Dump struct {
	// Data assigns the globals that are data, one per line, in name order.
	Data string `json:"data"`
	// Defs defines the functions among the globals: one chunk per chunk
	// that defined some, in the order those ran, each def statement as it
	// was written and at the line it had there (so that positions in
	// errors stay the same).
	Defs []string `json:"defs,omitempty"`
	// Bound assigns the globals whose values need more than source: a
	// frozen list, dict or set, or a value of the world (a pid, a
	// worker). One per line, name = expression, in name order; the
	// expressions call the world's constructors and frozen(v), and refer
	// to functions by name (see [Writer]).
	Bound string `json:"bound,omitempty"`
	// World is the world's state, as its [SavedWorld.Save] wrote it.
	World string `json:"world,omitempty"`
	// check is what a restore must reproduce besides the source: each
	// function's name, line and defaults.
	check string
	// refs, refs4: what a restore before version 3, or 4, cannot read
	// (see Version).
	refs, refs4 bool
}

// Version is the oldest form of dump a restore must read to read d: 1 for
// data and defs only, 2 with Bound or World, 3 with function(ref) (a
// function in a list or a dict, or one a lambda captured) or a chunk that
// binds kept functions by unpacking ("_3, _5 = _3": lambdas bound as a
// tuple, or one factory for several), and 4 with function(ref) in a
// tuple, as a global's value, or naming a lambda that the restore makes
// by calling the def that made it, or builtin(name). A restore by an engine before 3 or 4
// would fail on those, and before 2 ignore Bound and World: a store that
// keeps dumps says which they are (package sandbox). Only a dump that
// Dump made knows its form.
func (d *Dump) Version() int {
	switch {
	case d.refs4:
		return 4
	case d.refs:
		return 3
	case d.Bound != "" || d.World != "":
		return 2
	}
	return 1
}

// Equal reports whether d and o write the same state: a dump of a
// restored session equals the original's exactly when the restore
// rebuilt it.
func (d *Dump) Equal(o *Dump) bool {
	return d.Data == o.Data && slices.Equal(d.Defs, o.Defs) && d.Bound == o.Bound && d.World == o.World && d.check == o.check
}

// Len is the length of the dump's source.
func (d *Dump) Len() int {
	n := len(d.Data) + len(d.Bound) + len(d.World)
	for _, c := range d.Defs {
		n += len(c)
	}
	return n
}

// Dump writes the session's globals, and the state of its world when it
// is a [SavedWorld], as Starlark source and expressions that, run by
// [Session.Restore] in a new session with the same environment, rebuild
// them. It works only while every global (and every value of the world)
// is
//
//   - plain data: None, bools, ints, floats, strings, bytes, and lists,
//     tuples, dicts and sets of plain data, no list, dict or set reachable
//     twice unless frozen (shared between globals, or inside itself:
//     source cannot write a shared value; nothing tells two frozen copies
//     from one), and the world's [Writable] values; or
//   - a function made by a def statement at the top level of its chunk
//     (not a lambda or a nested def), held by the global of its name,
//     whose defaults are plain data, and which sees every global it
//     mentions as the session holds it now (a function keeps the globals
//     of the chunk that defined it: one that still sees an older x cannot
//     be written again) or a name = lambda statement; or
//   - such a function, or a lambda that sees its globals as they are now,
//     as another global's value, an element of a list or a tuple, or a
//     value of a dict, not frozen (written function(ref), which the
//     restore replaces by the function once the defs ran, rebuilding a
//     tuple with it), or in the world's values, when the world keeps the
//     lambda ([KeepSource]); a lambda that a def made while the def can
//     make more is written as a call of the def, when all the def does is
//     return it (see Session.makerCall);
//
// otherwise it fails with a [*NotPlainError]. Data goes in [Dump.Data];
// values that need more than source (frozen ones, the world's, those
// holding functions) in [Dump.Bound]; def statements and lambdas at their
// lines and columns in [Dump.Defs]. The whole is at most maxBytes long,
// else Dump fails with a size [LimitError].
//
// A sandbox snapshots its journal with it (package sandbox): a dump is a
// canonical form, so a dump of the restored session equals the original
// one ([Dump.Equal]) exactly when the restore rebuilt it.
func (s *Session) Dump(maxBytes int) (*Dump, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return nil, ErrBroken
	}
	d := dumper{s: s, max: maxBytes, seen: make(map[any]bool), setShadowed: s.globals.Has("set")}
	var (
		defs        []dumpDef
		data, bound strings.Builder
	)
	d.inGlobals = true
	for _, name := range s.globals.Keys() { // sorted
		d.name = name
		v := s.globals[name]
		var (
			expr string
			ext  bool
			err  error
		)
		if fn, ok := v.(*starlark.Function); ok {
			if src := s.defs[fn]; src != nil && src.name == name && !d.seen[fn] {
				d.seen[fn] = true
				defs = append(defs, dumpDef{name, fn, src})
				continue
			}
			// Another global's function (g = f), a lambda (add2 =
			// adder(2)) or an older version of a def: a reference that
			// the link step sets (see Reader.bindRefs).
			expr, ext, err = d.funcExpr(fn)
		} else {
			d.settable = true // a global's tuple can be rebuilt
			expr, ext, err = d.expr(v)
		}
		if err != nil {
			return nil, err
		}
		to := &data
		if ext {
			to = &bound
		}
		to.WriteString(name)
		to.WriteString(" = ")
		to.WriteString(expr)
		to.WriteByte('\n')
		if n := data.Len() + bound.Len(); n > d.max {
			return nil, &LimitError{Limit: LimitCodeSize, Max: uint64(d.max), Got: uint64(n)}
		}
	}
	d.inGlobals = false
	out := &Dump{Data: data.String(), Bound: bound.String(), refs: d.refs, refs4: d.refs4}
	if sw, ok := s.world.(SavedWorld); ok {
		d.name = "" // the world's
		var err error
		if out.World, err = sw.Save(&Writer{d: &d}); err != nil {
			return nil, err
		}
		out.refs, out.refs4 = d.refs, d.refs4 // functions its lambdas captured
		if n := out.Len(); n > d.max {
			return nil, &LimitError{Limit: LimitCodeSize, Max: uint64(d.max), Got: uint64(n)}
		}
	}
	for i, fn := range d.kept {
		if d.called[fn] {
			continue // made by calling its def: no chunk
		}
		src := s.lambdas[fn]
		if src == nil {
			src = s.defs[fn] // an older version of a global's function
		}
		defs = append(defs, dumpDef{keptName(i), fn, src})
	}
	if len(defs) == 0 {
		return out, nil
	}

	// Each function must see the globals it mentions as they are now, or
	// as immutable data its chunk binds again (see olderLines), and have
	// plain defaults (written in check, for the restore to compare).
	d.b = &strings.Builder{}
	modules := map[*starlark.Module]starlark.StringDict{}
	// The older values each function sees, by name: a chunk binds those
	// its own functions see (a factory's chunk, its lambda's alone).
	older := map[string]map[string]string{}
	for _, df := range defs {
		d.setName(df)
		mg, ok := modules[df.src.module]
		if !ok {
			mg = df.src.module.Globals()
			maps.Copy(mg, s.moduleRefs[df.src.module]) // a restored chunk's
			modules[df.src.module] = mg
		}
		for _, n := range df.src.names {
			mv, bound := mg[n]
			if !bound || isHidden(n) || mv == df.fn {
				continue // a def's own name: its chunk binds it again
			}
			if sv, ok := s.globals[n]; !ok || !sameBinding(mv, sv) {
				expr, ok2, err := d.immutable(mv)
				if err != nil {
					return nil, err
				}
				if !ok || !ok2 {
					return nil, d.notPlain("a function that sees " + n + " as it was when it was defined, not as it is now")
				}
				if older[df.name] == nil {
					older[df.name] = map[string]string{}
				}
				older[df.name][n] = expr
			}
		}
		fmt.Fprintf(d.b, "%s@%d:%d(", df.name, df.src.line, df.src.col)
		for i := range df.fn.NumParams() {
			if dv := df.fn.ParamDefault(i); dv != nil {
				if err := d.value(dv, 0); err != nil {
					return nil, err
				}
			}
			d.b.WriteByte(',')
		}
		d.b.WriteString(")\n")
	}
	out.check = d.b.String()

	// Factories' lambdas each in a chunk of their own, after the others
	// (see factoryChunk), in the order written: those inside defs, those
	// that capture variables, and those made more than once by one
	// expression (in a loop: one place in the chunk cannot hold two).
	type place struct {
		m         *starlark.Module
		line, col int32
	}
	made := map[place]int{}
	for _, df := range defs {
		if df.src.col != 0 {
			made[place{df.src.module, df.src.line, df.src.col}]++
		}
	}
	var factories []dumpDef
	defs = slices.DeleteFunc(defs, func(df dumpDef) bool {
		f := df.src.factory || df.src.col != 0 && made[place{df.src.module, df.src.line, df.src.col}] > 1
		if !f && df.src.col != 0 {
			extras, _, _ := factoryExtras(df.fn, df.src)
			f = len(extras) > 0 // lambda i=i: only a factory has an i to give it
		}
		if f {
			factories = append(factories, df)
		}
		return f
	})
	// One chunk per defining chunk, in their order; defs at their lines,
	// lambdas at their lines and columns.
	slices.SortFunc(defs, func(a, b dumpDef) int {
		return cmp.Or(cmp.Compare(a.src.order, b.src.order), cmp.Compare(a.src.line, b.src.line), cmp.Compare(a.src.col, b.src.col))
	})
	for i := 0; i < len(defs); {
		j := i + 1
		for j < len(defs) && defs[j].src.module == defs[i].src.module {
			j++
		}
		binds := map[string]string{} // one module: the same values
		for _, df := range defs[i:j] {
			maps.Copy(binds, older[df.name])
		}
		// A lambda on its execution's first line may leave no room for
		// what binds it: the chunk then starts a line lower (see shiftMarker).
		c, failed, why := layoutChunk(defs[i:j], binds, 0)
		if failed != nil {
			if c, _, _ = layoutChunk(defs[i:j], binds, 1); c == nil {
				d.setName(*failed)
				return nil, d.notPlain(why)
			}
		}
		if len(c.unpacks) > 0 || c.shift > 0 {
			out.refs = true
		}
		out.Defs = append(out.Defs, c.String())
		i = j
	}
	// One factory per place: the lambdas made there are closures of one
	// function, as Starlark sees them (one calling another is a
	// recursion), so the restore makes them all with one factory, bound
	// to each of their names: "_3, _5 = _3, _3".
	first := map[place]int{}
	var others [][]string // by factory, the other names it makes lambdas for
	var distinct []dumpDef
	for _, df := range factories {
		p := place{df.src.module, df.src.line, df.src.col}
		if i, ok := first[p]; ok {
			others[i] = append(others[i], bindingOf(df.name))
			continue
		}
		first[p] = len(distinct)
		distinct = append(distinct, df)
		others = append(others, nil)
	}
	for i, df := range distinct {
		chunk, shifted := factoryChunk(df)
		for _, l := range olderLines(older[df.name]) {
			chunk += l + "\n"
		}
		if len(others[i]) > 0 {
			name := bindingOf(df.name)
			lhs := append([]string{name}, others[i]...)
			chunk += strings.Join(lhs, ", ") + " = " + strings.Repeat(name+", ", len(lhs)-1) + name + "\n"
			out.refs = true
		}
		if shifted {
			chunk += shiftMarker + "1\n"
			out.refs = true
		}
		out.Defs = append(out.Defs, chunk)
	}
	if n := out.Len(); n > maxBytes {
		return nil, &LimitError{Limit: LimitCodeSize, Max: uint64(maxBytes), Got: uint64(n)}
	}
	return out, nil
}

// layoutChunk lays out the chunk of one module's functions (defs, in
// order): defs at their lines, lambdas at their lines and columns, then
// the lines that bind what they need (see lambdas, olderLines), all
// shift lines lower than in their execution. It returns nil, the
// function it could not place and why, when one does not fit.
func layoutChunk(defs []dumpDef, binds map[string]string, shift int32) (*chunkLayout, *dumpDef, string) {
	c := &chunkLayout{shift: shift}
	var olds []string
	for i, df := range defs {
		if df.src.col == 0 {
			if !c.def(df.src) {
				return nil, &defs[i], "a def that shares a line with another one"
			}
			if strings.HasPrefix(df.name, nameKept) {
				// An older version: the chunk binds its name again
				// (Restore puts the global back), and it to a hidden one.
				olds = append(olds, bindingOf(df.name)+" = "+df.src.name)
			}
		}
	}
	// The lambdas between two defs are bound in as few assignments as
	// fit, name=(lambda: 1, lambda: 2), their texts at their places
	// (inside the parentheses, lines may break anywhere).
	for k := 0; k < len(defs); {
		if defs[k].src.col == 0 {
			k++
			continue
		}
		end := k
		for end < len(defs) && defs[end].src.col != 0 {
			end++
		}
		n, ok := c.lambdaGroup(defs[k:end])
		if !ok {
			return nil, &defs[k], "no restore can give it its line and column (it shares them with another one, or starts too close to a def)"
		}
		k += n
	}
	tail := slices.Concat(c.unpacks, olds, olderLines(binds))
	if shift > 0 {
		tail = append(tail, shiftMarker+strconv.Itoa(int(shift)))
	}
	for _, b := range tail {
		*c.at(int32(len(c.lines)) + 1) = []rune(b)
	}
	return c, nil, ""
}

// shiftMarker, and a count, is the last line of a Dump's chunk laid out
// that many lines lower than the code it rebuilds: "#up 1" gives a
// lambda on its execution's first line a line above it, for what binds
// it (a factory's def, "_3=(" before l=[lambda: 1]). A Restore moves
// every position of such a chunk up again (see shiftLines).
const shiftMarker = "#up "

// olderMarker starts the lines of a Dump's chunk that bind globals as
// its functions saw them (olderLines): after such a chunk, a Restore
// puts the globals back as they are now.
const olderMarker = "# as its functions saw them"

// olderLines are the lines of a chunk that bind globals to the values its
// functions saw, older than the globals' (y = 1, where def f(): return y
// ran before y = 2): a function reads its chunk's globals when called,
// so lines after its def give it them. Only immutable data is written so
// (none, numbers, strings, bytes, tuples of them): copies of it in two
// chunks are indistinguishable, where a list would not be one list.
func olderLines(binds map[string]string) []string {
	if len(binds) == 0 {
		return nil
	}
	lines := []string{olderMarker}
	for _, n := range slices.Sorted(maps.Keys(binds)) {
		lines = append(lines, n+" = "+binds[n])
	}
	return lines
}

// immutable writes v as source if it is immutable data (see olderLines).
func (d *dumper) immutable(v starlark.Value) (string, bool, error) {
	var ok func(v starlark.Value, depth int) bool
	ok = func(v starlark.Value, depth int) bool {
		switch v := v.(type) {
		case starlark.NoneType, starlark.Bool, starlark.Int, starlark.Float, starlark.String, starlark.Bytes:
			return true
		case starlark.Tuple:
			for _, e := range v {
				if depth > maxReprDepth || !ok(e, depth+1) {
					return false
				}
			}
			return true
		}
		return false
	}
	if !ok(v, 0) {
		return "", false, nil
	}
	expr, ext, err := d.expr(v)
	return expr, err == nil && !ext, err
}

// factoryChunk writes a def that returns the lambda of df, at the
// lambda's line and column, taking the variables it captures: a restore
// calls it with their values (see Session.callFactory). The def's name,
// _3, is hidden by the restore. Its one line goes on the line before the
// lambda's, or before the lambda on its line when it fits; when neither
// does (the first line of its execution), the chunk is shifted: a line
// lower (see shiftMarker).
//
//	def _3(k): return (
//	           lambda args: k)
func factoryChunk(df dumpDef) (string, bool) {
	var params []string
	for i := range df.fn.NumFreeVars() {
		b, _ := df.fn.FreeVar(i)
		params = append(params, b.Name)
	}
	extras, _, _ := factoryExtras(df.fn, df.src)
	params = append(params, extras...)
	header := "def " + bindingOf(df.name) + "(" + strings.Join(params, ", ") + "): return ("
	col := int(df.src.col) - 1
	var b strings.Builder
	switch {
	case df.src.line >= 2:
		b.WriteString(strings.Repeat("\n", int(df.src.line)-2))
		b.WriteString(header + "\n" + strings.Repeat(" ", col))
	case col >= utf8.RuneCountInString(header):
		b.WriteString(header + strings.Repeat(" ", col-utf8.RuneCountInString(header)))
	default:
		// On its execution's first line, too close to its start: a line
		// lower, moved up again by the restore (see shiftMarker).
		b.WriteString(header + "\n" + strings.Repeat(" ", col))
		b.WriteString(df.src.text)
		b.WriteString(")\n")
		return b.String(), true
	}
	b.WriteString(df.src.text)
	b.WriteString(")\n")
	return b.String(), false
}

// factoryExtras returns what a factory of fn (a lambda recorded as src)
// takes besides the variables fn captured: the names its defaults are
// that its maker had as variables (lambda i=i: i, made in a loop), each
// with the default fn has, which the factory gives it again. ok is false
// when a default computes from such a name (lambda i=i + 1: ...): no
// value given to the factory makes it again.
func factoryExtras(fn *starlark.Function, src *defSource) (names []string, values []starlark.Value, ok bool) {
	x, err := fileOptions.ParseExpr(filename, "("+src.text+")", 0) // its lines may break where its parentheses allowed
	if p, ok := x.(*syntax.ParenExpr); ok {
		x = p.X
	}
	l, isLambda := x.(*syntax.LambdaExpr)
	if err != nil || !isLambda || len(l.Params) != fn.NumParams() {
		return nil, nil, false
	}
	free := map[string]bool{}
	for i := range fn.NumFreeVars() {
		b, _ := fn.FreeVar(i)
		free[b.Name] = true
	}
	globals := fn.Module().Globals()
	local := func(n string) bool { _, global := globals[n]; return !free[n] && !global }
	for k, p := range l.Params {
		def, ok := p.(*syntax.BinaryExpr)
		if !ok || def.Op != syntax.EQ {
			continue
		}
		if id, ok := def.Y.(*syntax.Ident); ok && local(id.Name) {
			if !slices.Contains(names, id.Name) {
				names = append(names, id.Name)
				values = append(values, fn.ParamDefault(k))
			}
			continue
		}
		for _, n := range mentioned(def.Y) {
			if local(n) {
				return nil, nil, false
			}
		}
	}
	return names, values, true
}

// dumpDef is a function a Dump writes as source: a global's def or
// name = lambda, or a function only the world keeps, a lambda or an
// older version of a global's function (named by keptName).
type dumpDef struct {
	name string
	fn   *starlark.Function
	src  *defSource
}

// setName makes errors name df: a global, or a lambda by its place.
func (d *dumper) setName(df dumpDef) {
	d.name, d.where = df.name, ""
	switch {
	case strings.HasPrefix(df.name, nameKept) && df.src.col == 0:
		d.name, d.where = "", fmt.Sprintf("an older version of %s that a worker runs (line %d of its execution)", df.src.name, df.src.line)
	case strings.HasPrefix(df.name, nameKept):
		d.name, d.where = "", fmt.Sprintf("a lambda (line %d, column %d of its execution)", df.src.line, df.src.col)
	}
}

// bindingOf is the name a Dump's chunk binds the kept function name to
// (_3 for $kept_3), which a Restore hides as name again.
func bindingOf(name string) string { return keptBinding + strings.TrimPrefix(name, nameKept) }

// keptName is the name by which a dump refers to the i-th function only
// the world keeps (see Writer.WriteFunc), which its chunk binds.
func keptName(i int) string { return nameKept + strconv.Itoa(i) }

// chunkLayout places the texts of a chunk's defs and lambdas at their
// lines and columns (in runes).
type chunkLayout struct {
	lines   [][]rune
	full    []bool   // a def's line: nothing else goes there
	unpacks []string // _3, _5 = _3: a group bound as a tuple (see lambdas)
	shift   int32    // lines the chunk is laid out lower than its execution (see shiftMarker)
}

func (c *chunkLayout) at(line int32) *[]rune {
	for int(line) > len(c.lines) {
		c.lines = append(c.lines, nil)
		c.full = append(c.full, false)
	}
	return &c.lines[line-1]
}

// def places a def's text at its line.
func (c *chunkLayout) def(src *defSource) bool {
	line := src.line + c.shift
	for k, text := range strings.Split(src.text, "\n") {
		l := c.at(line + int32(k))
		if len(*l) > 0 {
			return false
		}
		*l = []rune(text)
		c.full[line+int32(k)-1] = true
	}
	return true
}

// lambdaGroup places the longest run of the lambdas ls (items of a
// Dump, in order, with no def between them) that one assignment can
// bind, and returns its length; 0 and false when not even the first one
// can be placed.
func (c *chunkLayout) lambdaGroup(ls []dumpDef) (int, bool) {
	for n := len(ls); n > 0; n-- {
		try := c.clone()
		names := make([]string, n)
		srcs := make([]*defSource, n)
		for g, x := range ls[:n] {
			names[g], srcs[g] = bindingOf(x.name), x.src
		}
		if try.lambdas(names, srcs) {
			*c = *try
			return n, true
		}
	}
	return 0, false
}

func (c *chunkLayout) clone() *chunkLayout {
	out := &chunkLayout{lines: make([][]rune, len(c.lines)), full: slices.Clone(c.full), unpacks: slices.Clone(c.unpacks), shift: c.shift}
	for i, l := range c.lines {
		out.lines[i] = slices.Clone(l)
	}
	return out
}

// lambdas places the texts of lambdas (in order, none on a def's line)
// at their lines and columns, bound to names in one assignment whose
// "name=(" goes on the line before the first, or before it on its line
// when it fits. Several are bound as a tuple to the first name, which a
// line at the end of the chunk unpacks: "_3, _5 = _3" (a Restore hides
// the names on both sides; see instrumentFor). "_3=(" fits before
// fs = [lambda: 1, lambda: 2] where "_3, _5 = (" would not.
func (c *chunkLayout) lambdas(names []string, srcs []*defSource) bool {
	opener := []rune(names[0] + "=(") // as short as it gets: x = [lambda: 1] leaves it 5 columns
	if len(names) > 1 {
		c.unpacks = append(c.unpacks, strings.Join(names, ", ")+" = "+names[0])
	}
	if c.shift != 0 {
		shifted := make([]*defSource, len(srcs))
		for i, src := range srcs {
			cp := *src
			cp.line += c.shift
			shifted[i] = &cp
		}
		srcs = shifted
	}
	first := srcs[0]
	l := c.at(first.line)
	switch {
	case first.line > 1 && len(*c.at(first.line - 1)) == 0 && !c.full[first.line-2] && len(*l) == 0:
		*c.at(first.line - 1) = opener
	case len(*l) == 0 && int(first.col)-1 >= len(opener):
		*l = opener
	case len(*l) > 0 && !c.full[first.line-1] && len(*l)+1+len(opener) <= int(first.col)-1:
		// After another group on the line: ...);_4=(lambda ...
		*l = append(append(*l, ';'), opener...)
	default:
		return false
	}
	var last *[]rune
	for i, src := range srcs {
		if i > 0 {
			*last = append(*last, ',')
		}
		for k, text := range strings.Split(src.text, "\n") {
			l := c.at(src.line + int32(k))
			if c.full[src.line+int32(k)-1] {
				return false
			}
			col := 1
			if k == 0 {
				col = int(src.col)
			}
			if len(*l) > col-1 || (k > 0 && len(*l) > 0) {
				return false
			}
			for len(*l) < col-1 {
				*l = append(*l, ' ')
			}
			*l = append(*l, []rune(text)...)
			last = l
		}
	}
	*last = append(*last, ')')
	return true
}

func (c *chunkLayout) String() string {
	var b strings.Builder
	for _, l := range c.lines {
		b.WriteString(string(l))
		b.WriteByte('\n')
	}
	return b.String()
}

// Restore runs a [Dump] in this session (a new one): its data, then its
// functions' chunks, each as [Session.Replay] runs an execution, without
// the code size limit (the source is the runtime's, not the user's, and
// as long as the state it rebuilds). Steps are those of all of them.
func (s *Session) Restore(ctx context.Context, d *Dump) (*Result, error) {
	limits := s.limits
	limits.MaxDuration = replayDuration
	limits.MaxCodeBytes = max(limits.MaxCodeBytes, d.Len())
	res, err := s.executeWith(ctx, d.Data, &limits, true)
	if err != nil {
		return nil, err
	}
	r := newReader(s.world)
	s.mu.Lock()
	s.restored = make(map[string]*starlark.Function)
	s.mu.Unlock()
	// function(ref): in Bound's lists and dicts, and among what the
	// lambdas of Bound and World captured (see funcRef).
	r.env[nameFuncRef] = funcRefBuiltin
	r.env[nameBuiltin] = s.env.builtinByName()
	if err := s.bind(r, d.Bound); err != nil {
		return nil, err
	}
	if d.World != "" {
		sw, ok := s.world.(SavedWorld)
		if !ok {
			return nil, errors.New("engine: the dump holds a world's state, and the session has no world to load it")
		}
		if err := sw.Load(d.World, r); err != nil {
			return nil, err
		}
	}
	delete(r.env, nameFuncRef)
	delete(r.env, nameBuiltin)
	if len(r.refs) > 0 {
		// The chunks see the globals bound to function(ref) as
		// predeclared names, which the link step sets.
		s.mu.Lock()
		s.restoreEnv, s.restoreRefs = maps.Clone(s.env.predeclared), make(starlark.StringDict, len(r.refs))
		for _, name := range r.refs {
			s.restoreEnv[name], s.restoreRefs[name] = s.globals[name], s.globals[name]
		}
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.restoreEnv, s.restoreRefs = nil, nil // a failed restore's
			s.mu.Unlock()
		}()
	}
	// A chunk that defines an older version of a function binds its name
	// again: the globals bound before the defs keep their values.
	s.mu.Lock()
	before := maps.Clone(s.globals)
	s.mu.Unlock()
	for _, chunk := range d.Defs {
		r, err := s.executeWith(ctx, chunk, &limits, true)
		if err != nil {
			return nil, err
		}
		res.Steps += r.Steps
		res.Duration += r.Duration
		if strings.Contains(chunk, olderMarker) {
			// Its functions see older values; the chunks after it (their
			// functions, their modules) see the globals as they are now.
			s.mu.Lock()
			for name, v := range before {
				s.globals[name] = v
			}
			s.mu.Unlock()
		}
	}
	return res, s.link(r, before)
}

// dumper writes values as Starlark expressions.
type dumper struct {
	s           *Session
	b           *strings.Builder
	max         int
	name        string                         // the global being written
	where       string                         // or the place in the world (name "")
	seen        map[any]bool                   // mutable values written so far
	setShadowed bool                           // a global named set hides the builtin
	depth       int                            // of the value being written
	frozen      bool                           // writing inside frozen(...)
	ext         bool                           // the expression needs a Reader: frozen(...), the world's values, function names
	inGlobals   bool                           // writing the globals' values, where functions may be in lists and dicts
	refs        bool                           // a function written in a list or a dict (see Dump.Version)
	refs4       bool                           // one in a tuple, as a global, or made by calling its def (see Dump.Version)
	inTuple     bool                           // the value being written is an element of a tuple
	called      map[*starlark.Function]bool    // kept lambdas the restore makes by calling their def (see Session.makerCall)
	makers      map[*defSource]*syntax.DefStmt // their defs, parsed once a dump
	kept        []*starlark.Function           // lambdas and older versions written so far, in order (see keptName)
	keptIdx     map[*starlark.Function]int
	writing     map[*starlark.Function]bool // lambdas whose captured values are being written
	asValue     bool                        // writing a function that code may call (not a worker's handler)
	settable    bool                        // the value being written is a global's, an element of a mutable list, a value of a mutable dict, or an element of a tuple in such a place
}

func (d *dumper) notPlain(reason string) error {
	return &NotPlainError{Name: d.name, Where: d.where, Reason: reason}
}

// expr writes v as an expression, and reports whether it is one that
// only a Reader evaluates (see Dump.Bound).
func (d *dumper) expr(v starlark.Value) (string, bool, error) {
	prev := d.b
	d.b, d.ext = &strings.Builder{}, false
	defer func() { d.b = prev }()
	err := d.value(v, 0)
	return d.b.String(), d.ext, err
}

// funcExpr writes fn, a global's value, as function(ref).
func (d *dumper) funcExpr(fn *starlark.Function) (string, bool, error) {
	prev := d.b
	d.b, d.ext, d.refs4 = &strings.Builder{}, true, true
	defer func() { d.b = prev }()
	err := d.ref(fn)
	return d.b.String(), true, err
}

// mutable records a mutable value; reachable twice, it cannot be written.
func (d *dumper) mutable(v any, what string) error {
	if d.seen[v] {
		return d.notPlain(what + " reachable twice (shared, or inside itself)")
	}
	d.seen[v] = true
	return nil
}

func (d *dumper) value(v starlark.Value, depth int) error {
	settable, inTuple := d.settable, d.inTuple
	d.settable, d.inTuple = false, false
	if depth > maxReprDepth {
		return d.notPlain("nested too deeply")
	}
	if d.b.Len() > d.max {
		return &LimitError{Limit: LimitCodeSize, Max: uint64(d.max), Got: uint64(d.b.Len())}
	}
	switch v := v.(type) {
	case starlark.NoneType:
		d.b.WriteString("None")
	case starlark.Bool:
		d.b.WriteString(v.String())
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			d.b.WriteString(strconv.FormatInt(i, 10))
			break
		}
		// Hexadecimal: linear to write and to parse, at any size.
		bi := v.BigInt()
		if bi.Sign() < 0 {
			d.b.WriteByte('-')
			bi.Neg(bi)
		}
		d.b.WriteString("0x")
		d.b.WriteString(bi.Text(16))
	case starlark.Float:
		d.float(float64(v))
	case starlark.String:
		d.b.WriteString(v.String())
	case starlark.Bytes:
		d.b.WriteString(v.String())
	case starlark.Tuple:
		// Its elements are places the restore can set a function in when
		// it is in one itself: it is then rebuilt (see Reader.bindRefs).
		d.b.WriteByte('(')
		if err := d.elems(v, depth, settable && !d.frozen, true); err != nil {
			return err
		}
		if len(v) == 1 {
			d.b.WriteByte(',')
		}
		d.b.WriteByte(')')
	case *starlark.List:
		return d.container(v, "a list", frozenList(v), func() error {
			d.b.WriteByte('[')
			if err := d.elems(slices.Collect(v.Elements()), depth, !d.frozen, false); err != nil {
				return err
			}
			d.b.WriteByte(']')
			return nil
		})
	case *starlark.Dict:
		return d.container(v, "a dict", frozenDict(v), func() error {
			d.b.WriteByte('{')
			for i, kv := range v.Items() {
				if i > 0 {
					d.b.WriteString(", ")
				}
				if err := d.value(kv[0], depth+1); err != nil {
					return err
				}
				d.b.WriteString(": ")
				d.settable = !d.frozen
				if err := d.value(kv[1], depth+1); err != nil {
					return err
				}
			}
			d.b.WriteByte('}')
			return nil
		})
	case *starlark.Set:
		if d.setShadowed {
			d.ext = true // a Reader's set is the builtin
		}
		return d.container(v, "a set", frozenSet(v), func() error {
			d.b.WriteString("set([")
			if err := d.elems(slices.Collect(v.Elements()), depth, false, false); err != nil {
				return err
			}
			d.b.WriteString("])")
			return nil
		})
	case *starlark.Function:
		// In a list, a dict or a tuple (handlers = {"inc": lambda s: s +
		// 1}, ops = (add, sub)): a reference that the restore replaces by
		// the function once the defs ran (see Reader.bindRefs). A set, a
		// key or a frozen value cannot take it then.
		switch {
		case !d.inGlobals:
			return d.notPlain("a function inside a value of the processes, a default or a captured value")
		case !settable:
			return d.notPlain("a function inside a set, a frozen value or a dict's key")
		}
		d.ext = true
		d.refs4 = d.refs4 || inTuple // rebuilt with its tuple
		prev := d.depth
		d.depth = depth
		defer func() { d.depth = prev }()
		return d.ref(v)
	case *starlark.Builtin:
		return d.builtin(v)
	case Writable:
		d.ext = true
		prev := d.depth
		d.depth = depth
		defer func() { d.depth = prev }()
		return v.WriteTo(&Writer{d: d})
	default:
		return d.notPlain("a " + v.Type())
	}
	return nil
}

// builtin writes b as builtin("name"), which a Reader evaluates to the
// session's builtin of that name: b must be it (not a method bound to a
// value, such as [].append, nor a builtin of the instrumentation).
func (d *dumper) builtin(b *starlark.Builtin) error {
	if b.Receiver() != nil || d.s.env.builtin(b.Name()) != b {
		return d.notPlain("the method " + b.Name() + " of a value, or a builtin under another name")
	}
	d.ext, d.refs4 = true, true
	d.b.WriteString(nameBuiltin + "(")
	d.b.WriteString(strconv.Quote(b.Name()))
	d.b.WriteByte(')')
	return nil
}

// ref writes fn as function(ref), a function that code may call (in a
// list or a dict, or captured by a lambda), which the link step sets in
// its place (see Reader.bindRefs). Nothing it captured holds another.
func (d *dumper) ref(fn *starlark.Function) error {
	prevIn, prevAs := d.inGlobals, d.asValue
	d.refs, d.inGlobals, d.asValue = true, false, true
	defer func() { d.inGlobals, d.asValue = prevIn, prevAs }()
	d.b.WriteString(nameFuncRef + "(")
	if err := (&Writer{d: d}).WriteFunc(fn); err != nil {
		return err
	}
	d.b.WriteByte(')')
	return nil
}

// container writes a list, dict or set with write. A frozen one (frozen
// by worker(), a child spec's args or a message, which freeze what they
// are given) is written as frozen(...), for a Reader: source would make
// it mutable again, and code that failed on it would then work. Frozen,
// it may also be reachable twice: nothing can tell two frozen copies
// from one value. An unfrozen one may not.
func (d *dumper) container(v any, what string, frozen bool, write func() error) error {
	if d.frozen { // freezing is deep
		return write()
	}
	if !frozen {
		if err := d.mutable(v, what); err != nil {
			return err
		}
		return write()
	}
	d.ext, d.frozen = true, true
	defer func() { d.frozen = false }()
	d.b.WriteString("frozen(")
	if err := write(); err != nil {
		return err
	}
	d.b.WriteByte(')')
	return nil
}

// Starlark does not say whether a value is frozen; a mutation that
// changes nothing does: it fails exactly when the value is frozen (no
// iteration is running between executions, the other reason to fail).

func frozenList(l *starlark.List) bool {
	if l.Len() == 0 {
		return l.Clear() != nil
	}
	return l.SetIndex(0, l.Index(0)) != nil
}

func frozenDict(m *starlark.Dict) bool {
	if m.Len() == 0 {
		return m.Clear() != nil
	}
	k := m.Keys()[0] // not within Entries: an iteration forbids mutation
	v, _, _ := m.Get(k)
	return m.SetKey(k, v) != nil // an existing key keeps its place
}

func frozenSet(s *starlark.Set) bool {
	if s.Len() == 0 {
		return s.Clear() != nil
	}
	var first starlark.Value
	for e := range s.Elements() {
		first = e
		break
	}
	return s.Insert(first) != nil // already there: nothing moves
}

// elems writes the values of a container at depth, comma-separated;
// settable: each is a slot the restore can set a function in (see
// value); tuple: the container is a tuple. They come as a slice, not an iterator: a container being
// iterated cannot be probed for frozenness (see frozenList).
func (d *dumper) elems(all []starlark.Value, depth int, settable, tuple bool) error {
	first := true
	for _, e := range all {
		if !first {
			d.b.WriteString(", ")
		}
		first = false
		d.settable, d.inTuple = settable, tuple
		if err := d.value(e, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// float writes f so that it parses back to the same bits, with no
// builtin (a global may hide float): infinities and NaN as arithmetic.
func (d *dumper) float(f float64) {
	switch {
	case math.IsInf(f, 1):
		d.b.WriteString("(1e308 * 10)")
	case math.IsInf(f, -1):
		d.b.WriteString("(-1e308 * 10)")
	case math.IsNaN(f):
		d.b.WriteString("(1e308 * 10 - 1e308 * 10)")
	default:
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		if f < 0 || math.Signbit(f) {
			s = "(" + s + ")"
		}
		d.b.WriteString(s)
	}
}
