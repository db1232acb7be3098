package engine

import (
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// A session remembers the source of the functions its globals hold, so
// that Dump can write them: the text of each top-level def statement
// that made one, where it stood in its chunk, and the names it mentions.
//
// A function is recorded when the chunk that defined it commits: such a
// chunk starts with a hidden def, $mod (see instrument), whose module is
// the chunk's, so that a function is known to come from this chunk (and
// not, say, from a container of an earlier one) by its module. Only a
// def written at the top level of its chunk, in column 1, is recorded:
// lambdas, nested defs and defs inside if or for blocks are not, and a
// global holding one is not plain. The texts kept are bounded by the
// session's MaxHeapBytes: past it, a new function is not recorded (and
// the session cannot be dumped while a global holds it).
type defSource struct {
	module *starlark.Module
	order  uint64 // commit order of its chunk
	line   int32  // of the def keyword; column 1
	col    int32  // a lambda's column (runes, from 1); 0 for a def
	text   string // the statement's lines; a lambda's expression
	names  []string
	name   string // the global the statement binds ("" for a lambda)
	// factory: a lambda inside a def's body, or one that captures
	// variables: a dump rebuilds it by calling a def made for it (see
	// factoryChunk) with the values it captured.
	factory bool
	// maker: the def whose body made the lambda, by name ("" for one
	// made by top-level code).
	maker string
}

// madeBy reports whether st, a top-level statement starting in column
// 1, made fn and bound it to name: def name(...), or name = lambda ...
func madeBy(st syntax.Stmt, name string, fn *starlark.Function) bool {
	pos := fn.Position()
	switch st := st.(type) {
	case *syntax.DefStmt:
		return st.Def.Line == pos.Line && st.Def.Col == 1 && pos.Col == 1 && st.Name.Name == name && fn.Name() == name
	case *syntax.AssignStmt:
		id, ok := st.LHS.(*syntax.Ident)
		l, isLambda := unparen(st.RHS).(*syntax.LambdaExpr)
		start, _ := st.Span()
		return ok && isLambda && st.Op == syntax.EQ && start.Col == 1 && id.Name == name && fn.Name() == "lambda" && !isKeptBinding(name) &&
			l.Lambda.Line == pos.Line && l.Lambda.Col == pos.Col
	}
	return false
}

// noteDefs records the functions that the chunk code, whose module's
// globals are module, defined and committed. It is called after commit,
// with the session's lock held.
func (s *Session) noteDefs(code string, module starlark.StringDict, pins []*starlark.Function) {
	marker, ok := module[nameModule].(*starlark.Function)
	if !ok {
		s.pruneDefs()
		s.noteLambdas(code, nil, module, pins)
		return
	}
	defer s.noteLambdas(code, marker.Module(), module, pins)
	mod := marker.Module()
	if s.restoreRefs != nil {
		if s.moduleRefs == nil {
			s.moduleRefs = make(map[*starlark.Module]starlark.StringDict)
		}
		s.moduleRefs[mod] = s.restoreRefs
	}
	var (
		f     *syntax.File
		lines []string
	)
	s.defOrder++
	for name, v := range module {
		fn, ok := v.(*starlark.Function)
		if !ok || isHidden(name) || fn.Module() != mod || fn.NumFreeVars() != 0 || s.globals[name] != v {
			continue
		}
		if _, known := s.defs[fn]; known {
			continue
		}
		if f == nil {
			var err error
			if f, lines, err = parseChunk(code, s.shiftOf(code)); err != nil {
				return // cannot happen: the chunk compiled
			}
		}
		for _, st := range f.Stmts {
			if !madeBy(st, name, fn) {
				continue
			}
			d := st
			start, end := d.Span()
			if int(end.Line) > len(lines) {
				break
			}
			text := strings.Join(lines[start.Line-1:end.Line], "\n")
			if s.defBytes+int64(len(text)) > s.limits.MaxHeapBytes {
				break
			}
			if s.defs == nil {
				s.defs = make(map[*starlark.Function]*defSource)
			}
			s.defs[fn] = &defSource{module: mod, order: s.defOrder, line: start.Line, text: text, names: mentioned(d), name: name}
			s.defBytes += int64(len(text))
			break
		}
	}
	s.pruneDefs()
}

// pruneDefs forgets the functions nothing holds any more. A function a
// global no longer holds may still be a worker's handler (an older
// version of a redefined function, which the worker keeps running, as
// OTP's processes keep running old code): one walk of the heap finds
// those. During a Restore, nothing is forgotten until the links are made.
func (s *Session) pruneDefs() {
	if s.restored != nil {
		return
	}
	held := make(map[*starlark.Function]bool, len(s.defs))
	for _, v := range s.globals {
		if fn, ok := v.(*starlark.Function); ok {
			held[fn] = true
		}
	}
	var live map[*starlark.Function]bool
	for fn, src := range s.defs {
		if held[fn] {
			continue
		}
		if live == nil {
			live = s.reachable()
		}
		if !live[fn] {
			s.defBytes -= int64(len(src.text))
			delete(s.defs, fn)
		}
	}
	if len(s.moduleRefs) > 0 {
		kept := map[*starlark.Module]bool{}
		for _, src := range s.defs {
			kept[src.module] = true
		}
		for _, src := range s.lambdas {
			kept[src.module] = true
		}
		maps.DeleteFunc(s.moduleRefs, func(m *starlark.Module, _ starlark.StringDict) bool { return !kept[m] })
	}
}

// reachable returns the functions the globals and the world hold.
func (s *Session) reachable() map[*starlark.Function]bool {
	live := map[*starlark.Function]bool{}
	w := newWalker(math.MaxInt64, nil)
	w.funcs = func(fn *starlark.Function) { live[fn] = true }
	w.globals(s.globals)
	w.roots(s.world)
	return live
}

// A lambda is recorded, like a def, when it is kept: when the world
// keeps it (a worker's handler: see KeepSource), or when a Restore binds
// it. Its text is the lambda expression, at its line and column, found in
// the code of the execution that made it or in the recorded text of the
// def that did. A lambda inside a def, one that captures variables, or
// one made more than once by one expression is a factory's: a Dump writes
// a def that returns it, to be called with what it captured. The records
// are bounded with the defs' texts; those of lambdas nothing holds any
// more are dropped when a new one would not fit.

// KeepSource tells the session running thread that its world keeps fn
// (a worker's handler), so that a Dump can write it: a lambda made by
// the running execution's code, or by a def of an earlier one (whose
// recorded text holds it). Other functions are ignored (a top-level def
// has its source recorded anyway).
func KeepSource(thread *starlark.Thread, c starlark.Callable) {
	x, ok := thread.Local(localKey).(*execution)
	fn, isFn := c.(*starlark.Function)
	if ok && x.session != nil && isFn && fn.Name() == "lambda" {
		x.pins = append(x.pins, fn)
	}
}

// noteLambdas records the lambdas of the chunk code (whose module is mod)
// among pins and the bindings of a Restore's chunk.
func (s *Session) noteLambdas(code string, mod *starlark.Module, module starlark.StringDict, pins []*starlark.Function) {
	for name, v := range module {
		fn, ok := v.(*starlark.Function)
		if !ok || !strings.HasPrefix(name, nameKept) {
			continue
		}
		if strings.HasPrefix(fn.Name(), nameKept) { // a factory (see factoryChunk), under each name it makes for
			if srcs := lambdaSources(code, s.shiftOf(code)); len(srcs) == 1 {
				if s.factories == nil {
					s.factories = make(map[*starlark.Function]*defSource)
				}
				for _, src := range srcs {
					src.factory = true
					s.factories[fn] = src
				}
			}
		} else {
			pins = append(pins, fn)
		}
		if s.restored != nil {
			s.restored[name] = fn
		}
	}
	// One parse, one index of the chunk's lambdas by position, one text
	// per position however many functions it made (a loop makes many),
	// and at most one prune: the work is linear in the chunk and the pins.
	var (
		byPos  map[syntax.Position]*defSource
		pruned bool
		live   map[*starlark.Function]bool
	)
	if len(pins) > manyPins {
		// Most of them are garbage already (a loop): keep only those
		// still held, with one walk of the heap, as the commit did.
		live = s.pruneLambdas()
		pruned = true
	}
	for i := len(pins) - 1; i >= 0; i-- { // the newest first: the likeliest kept
		fn := pins[i]
		if s.lambdas[fn] != nil || live != nil && !live[fn] {
			continue
		}
		pos := fn.Position()
		var src *defSource
		if fn.Module() == mod && mod != nil {
			if byPos == nil {
				byPos = lambdaSources(code, s.shiftOf(code))
			}
			src = byPos[syntax.MakePosition(nil, pos.Line, pos.Col)]
		} else {
			src = s.innerLambda(fn) // made by a def of an earlier chunk
		}
		if src == nil {
			continue
		}
		cost := int64(len(src.text)) + lambdaRecordBytes
		if s.defBytes+cost > s.limits.MaxHeapBytes {
			if !pruned {
				s.pruneLambdas()
				pruned = true
			}
			if s.defBytes+cost > s.limits.MaxHeapBytes {
				continue
			}
		}
		if s.lambdas == nil {
			s.lambdas = make(map[*starlark.Function]*defSource)
		}
		rec := *src
		rec.module, rec.order = fn.Module(), s.defOrder
		rec.factory = rec.factory || fn.NumFreeVars() > 0
		s.lambdas[fn] = &rec
		s.defBytes += cost
	}
}

// heldLambdas returns the lambdas the globals hold (in lists and dicts:
// handlers = {"inc": lambda s: s + 1}) that no record has, for the commit
// of code (run as x) to record them as those the world keeps: nil,
// without a walk of the heap, when the globals did not change or neither
// code nor a recorded def can have made one. (The lambdas the world's
// values hold, a process's state, are looked up when a dump meets them:
// see lambdaOf.)
func (s *Session) heldLambdas(x *execution, code string) []*starlark.Function {
	if s.restored != nil || !x.changed || !strings.Contains(code, "lambda") && !s.defsMakeLambdas() {
		return nil
	}
	var held []*starlark.Function
	w := newWalker(math.MaxInt64, nil)
	w.funcs = func(fn *starlark.Function) {
		if fn.Name() == "lambda" && s.lambdas[fn] == nil && s.defs[fn] == nil && len(held) < maxHeld {
			held = append(held, fn)
		}
	}
	w.globals(s.globals)
	return held
}

// lambdaOf returns the record of fn, a lambda, recording it first when a
// def of the session made it (found in the def's text, as a commit finds
// it): a lambda a process's state holds, which no commit looked for (a
// walk of every process at each execution that touched one would cost
// as much as the execution).
func (s *Session) lambdaOf(fn *starlark.Function) *defSource {
	if src := s.lambdas[fn]; src != nil || fn.Name() != "lambda" || s.defs[fn] != nil {
		return src
	}
	src := s.innerLambda(fn)
	if src == nil {
		return nil
	}
	src.module, src.order = fn.Module(), s.defOrder
	s.recordLambda(fn, src)
	return src
}

// maxHeld bounds the lambdas a commit records (those past it are not, and
// the session is not dumped while it holds them): a lambda that cannot be
// recorded (the texts over their budget) is looked up again at each
// commit, so the work stays bounded per commit.
const maxHeld = 1024

// defsMakeLambdas reports whether a recorded def has a lambda in its text.
func (s *Session) defsMakeLambdas() bool {
	for _, d := range s.defs {
		if strings.Contains(d.text, "lambda") {
			return true
		}
	}
	return false
}

// parseChunk parses code, laid out shift lines lower than the code it
// rebuilds (a Restore's chunk, see shiftMarker), and returns it with the
// positions of that code, and its lines indexed by them (line l is
// lines[l-1]).
func parseChunk(code string, shift int32) (*syntax.File, []string, error) {
	f, err := fileOptions.Parse(filename, code, 0)
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Split(code, "\n")
	if shift > 0 {
		shiftLines(f, shift)
		lines = lines[min(int(shift), len(lines)):]
	}
	return f, lines, nil
}

// shiftOf is how many lines lower a Restore's chunk code is laid out
// (see shiftMarker); 0 for an execution's.
func (s *Session) shiftOf(code string) int32 {
	if s.restored == nil {
		return 0
	}
	return chunkShift(code)
}

// manyPins is how many lambdas an execution may hand the world before
// the session records only those still held.
const manyPins = 64

// lambdaRecordBytes is what a lambda's record costs besides its text
// (the record, and its entry in the map), counted with the texts.
const lambdaRecordBytes = 128

// lambdaSources indexes the lambdas of code (laid out shift lines lower,
// see parseChunk) by position (without a file name), each with its text
// and the names it mentions; those inside a def, or that capture
// variables, are factories.
func lambdaSources(code string, shift int32) map[syntax.Position]*defSource {
	f, lines, err := parseChunk(code, shift)
	if err != nil {
		return nil
	}
	out := map[syntax.Position]*defSource{}
	for _, st := range f.Stmts {
		def, inDef := st.(*syntax.DefStmt)
		maker := ""
		if inDef {
			maker = def.Name.Name
		}
		syntax.Walk(st, func(n syntax.Node) bool {
			if l, ok := n.(*syntax.LambdaExpr); ok {
				if text, ok := spanText(lines, l); ok {
					out[syntax.MakePosition(nil, l.Lambda.Line, l.Lambda.Col)] = &defSource{line: l.Lambda.Line, col: l.Lambda.Col,
						text: text, names: mentioned(l), factory: inDef, maker: maker}
				}
			}
			return true
		})
	}
	return out
}

// innerLambda finds the source of fn, a lambda made by calling a def of
// an earlier chunk, in that def's recorded text.
func (s *Session) innerLambda(fn *starlark.Function) *defSource {
	pos := fn.Position()
	for _, d := range s.defs {
		last := d.line + int32(strings.Count(d.text, "\n"))
		if d.module != fn.Module() || d.col != 0 || pos.Line < d.line || pos.Line > last {
			continue
		}
		// The def's text alone, padded to its lines, positions as in
		// its chunk.
		src := lambdaSources(strings.Repeat("\n", int(d.line-1))+d.text, 0)[syntax.MakePosition(nil, pos.Line, pos.Col)]
		if src != nil {
			src.factory, src.maker = true, d.name
		}
		return src
	}
	return nil
}

// makesMore reports whether the def that made fn (a lambda recorded as
// src) can make more of it after a restore: a global holds it, or a
// function that mentions it sees it. A restore makes fn with a function
// of its own (see factoryChunk), which Starlark's recursion check tells
// apart from the def's lambda: one of each calling the other would run
// where, before, it failed.
func (s *Session) makesMore(fn *starlark.Function, src *defSource) bool {
	if src.maker == "" {
		return s.inHeldLambda(fn)
	}
	maker, ok := fn.Module().Globals()[src.maker].(*starlark.Function)
	if !ok {
		return false
	}
	if s.globals[src.maker] == maker {
		return true
	}
	sees := func(d *defSource) bool {
		return d.module != nil && slices.Contains(d.names, src.maker) && d.module.Globals()[src.maker] == maker
	}
	for f, d := range s.defs {
		if f != maker && sees(d) {
			return true
		}
	}
	for _, d := range s.lambdas {
		if sees(d) {
			return true
		}
	}
	return false
}

// inHeldLambda reports whether fn, a lambda that no def made, lies in the
// text of a lambda the session keeps (a global's mk = lambda f: lambda x:
// f(x), a worker's handler), which can make more of it; a lambda that
// made it and is gone ((lambda f: lambda x: f(x))(g)) cannot.
func (s *Session) inHeldLambda(fn *starlark.Function) bool {
	pos := fn.Position()
	encloses := func(f *starlark.Function, d *defSource) bool {
		if f == fn || d.col == 0 || d.module != fn.Module() || pos.Line < d.line || pos.Line == d.line && pos.Col <= d.col {
			return false // cheap checks first: a dump asks for each lambda it writes
		}
		endLine := d.line + int32(strings.Count(d.text, "\n"))
		if pos.Line != endLine {
			return pos.Line < endLine
		}
		endCol := int32(utf8.RuneCountInString(d.text[strings.LastIndexByte(d.text, '\n')+1:]))
		if endLine == d.line {
			endCol += d.col - 1
		}
		return pos.Col <= endCol
	}
	for f, d := range s.lambdas {
		if encloses(f, d) {
			return true
		}
	}
	for f, d := range s.defs {
		if encloses(f, d) {
			return true
		}
	}
	return false
}

// spanText returns the text of node n of a chunk (its lines), from its
// first column to its last (columns count runes).
func spanText(lines []string, n syntax.Node) (string, bool) {
	start, _ := n.Span()
	end := endOf(n)
	if start.Line < 1 || int(end.Line) > len(lines) || end.Line < start.Line {
		return "", false
	}
	var b strings.Builder
	for l := start.Line; l <= end.Line; l++ {
		line := []rune(lines[l-1])
		from, to := 0, len(line)
		if l == start.Line {
			from = int(start.Col) - 1
		}
		if l == end.Line {
			to = int(end.Col) - 1
		}
		if from < 0 || to > len(line) || from > to {
			return "", false
		}
		if l > start.Line {
			b.WriteByte('\n')
		}
		b.WriteString(string(line[from:to]))
	}
	return b.String(), true
}

// endOf is where n's text ends: the furthest end of its nodes, since the
// span of an index, a slice or a parenthesized tuple ends at its closing
// bracket instead of after it.
func endOf(n syntax.Node) syntax.Position {
	var end syntax.Position
	syntax.Walk(n, func(x syntax.Node) bool {
		if x == nil { // Walk's call after a node's children
			return false
		}
		_, e := x.Span()
		switch x := x.(type) {
		case *syntax.IndexExpr, *syntax.SliceExpr:
			e.Col++
		case *syntax.TupleExpr:
			if x.Lparen.IsValid() {
				e.Col++
			}
		}
		if e.Line > end.Line || e.Line == end.Line && e.Col > end.Col {
			end = e
		}
		return true
	})
	return end
}

// pruneLambdas forgets the lambdas that neither the globals nor the world
// hold any more, and returns the functions they hold.
func (s *Session) pruneLambdas() map[*starlark.Function]bool {
	live := s.reachable()
	for fn, src := range s.lambdas {
		if !live[fn] {
			s.defBytes -= int64(len(src.text)) + lambdaRecordBytes
			delete(s.lambdas, fn)
		}
	}
	return live
}

// mentioned returns the identifiers a def statement or a lambda mentions,
// sorted.
func mentioned(d syntax.Node) []string {
	seen := map[string]bool{}
	syntax.Walk(d, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok {
			seen[id.Name] = true
		}
		return true
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sameBinding reports whether a and b are one value: identical, floats
// to the bit (-0.0 is not 0.0).
func sameBinding(a, b starlark.Value) bool {
	if fa, ok := a.(starlark.Float); ok {
		fb, ok := b.(starlark.Float)
		return ok && math.Float64bits(float64(fa)) == math.Float64bits(float64(fb))
	}
	return identical(a, b)
}

// makerCall reports how a restore makes fn, a lambda that its def can
// make more of (see makesMore), exactly: by calling that def, the global
// maker, with args. It can when the def does nothing but make it: its
// parameters are plain names, its body is return lambda ..., and the
// lambda's defaults are literals or the def's parameters. The lambda made
// so is the def's own to Starlark (the recursion check sees closures of
// one lambda as one function), as the closures made after the restore
// are; a function made for it (see factoryChunk) would be another.
//
// parsed caches the defs' syntax across the closures of one dump (nil
// for a def that does not parse to one def).
func (s *Session) makerCall(fn *starlark.Function, src *defSource, parsed map[*defSource]*syntax.DefStmt) (maker string, args starlark.Tuple, ok bool) {
	mfn, isFn := s.globals[src.maker].(*starlark.Function)
	d := s.defs[mfn]
	if !isFn || d == nil || d.name != src.maker || d.col != 0 || d.module != fn.Module() {
		return "", nil, false
	}
	def, seen := parsed[d]
	if !seen {
		if f, err := fileOptions.Parse(filename, strings.Repeat("\n", int(d.line-1))+d.text, 0); err == nil && len(f.Stmts) == 1 {
			def, _ = f.Stmts[0].(*syntax.DefStmt)
		}
		parsed[d] = def
	}
	if def == nil || len(def.Body) != 1 {
		return "", nil, false
	}
	ret, isRet := def.Body[0].(*syntax.ReturnStmt)
	if !isRet || ret.Result == nil {
		return "", nil, false
	}
	l, isLambda := unparen(ret.Result).(*syntax.LambdaExpr)
	if pos := fn.Position(); !isLambda || l.Lambda.Line != pos.Line || l.Lambda.Col != pos.Col || len(l.Params) != fn.NumParams() {
		return "", nil, false
	}
	value := map[string]starlark.Value{}
	for i := range fn.NumFreeVars() {
		b, v := fn.FreeVar(i)
		value[b.Name] = v
	}
	params := make([]string, len(def.Params))
	for i, p := range def.Params {
		id, plain := p.(*syntax.Ident)
		if !plain {
			return "", nil, false // a default, *args, **kwargs
		}
		params[i] = id.Name
	}
	for k, p := range l.Params {
		be, isDefault := p.(*syntax.BinaryExpr)
		if !isDefault || be.Op != syntax.EQ {
			continue
		}
		switch y := be.Y.(type) {
		case *syntax.Literal:
		case *syntax.Ident:
			if !slices.Contains(params, y.Name) {
				return "", nil, false // a global's value when it was made
			}
			if _, free := value[y.Name]; !free {
				value[y.Name] = fn.ParamDefault(k)
			}
		default:
			return "", nil, false
		}
	}
	args = make(starlark.Tuple, len(params))
	for i, p := range params {
		if args[i] = value[p]; args[i] == nil {
			args[i] = starlark.None // a parameter the lambda does not use
		}
	}
	return src.maker, args, true
}
