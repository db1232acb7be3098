package engine

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/syntax"
)

// instrument turns a parsed chunk into the program a session runs:
//
//   - a final expression statement becomes an assignment to $result, so
//     its value can be returned (REPL semantics);
//   - operators, slices, *args, and the methods in guardedMethods whose
//     cost grows with their operands become calls of hidden builtins
//     (ops.go) that charge the step budget first, unless every operand is
//     a literal;
//   - a prologue binds each session global the chunk mentions,
//     x = $g("x"), so the chunk sees, rebinds and mutates the values of
//     earlier executions exactly as the Starlark REPL does;
//   - a chunk that may mutate existing values (it calls a function,
//     assigns to x[i] or x.f, or uses an augmented assignment) starts
//     with $snap(), which records what a failed execution must restore.
//
// Positions are kept, so errors point into the submitted code. load
// statements are rejected.
func instrument(f *syntax.File, isGlobal func(string) bool) error {
	return instrumentFor(f, isGlobal, false)
}

// keptBinding prefixes the names to which a Dump's chunks bind the
// functions only the world keeps (lambdas, older versions), _3 for the
// fourth; a Restore compiles them as hidden names ($kept_3), which no
// global gets. They are short, for "_3 = (" to fit before a lambda on
// its line. (A global bound by _3 = lambda ... is not recorded, so never
// in such a chunk.)
const keptBinding = "_"

// isKeptBinding reports whether name is _ and digits.
func isKeptBinding(name string) bool {
	digits := strings.TrimPrefix(name, keptBinding)
	return len(digits) > 0 && len(digits) < len(name) && strings.Trim(digits, "0123456789") == ""
}

// hideKeptBindings renames the kept bindings among lhs's names (of
// a top-level assignment of a Restore's chunk).
func hideKeptBindings(lhs syntax.Expr) {
	syntax.Walk(lhs, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && isKeptBinding(id.Name) {
			id.Name = nameKept + strings.TrimPrefix(id.Name, keptBinding)
		}
		return true
	})
}

// unpacksKept reports whether st is a Dump's "_3, _5 = _3" (see
// chunkLayout.lambdas) or "_3, _5 = _3, _3" (a factory for two names, see
// Dump): names, all kept bindings (already hidden), and a kept binding or
// a tuple of them. Every other assignment of a Restore's chunk names a
// global on its right ("_2 = f", an older version), however it is named.
func unpacksKept(st *syntax.AssignStmt) bool {
	lhs, ok := st.LHS.(*syntax.TupleExpr)
	if !ok || len(lhs.List) < 2 {
		return false
	}
	for _, x := range lhs.List {
		if id, ok := x.(*syntax.Ident); !ok || !strings.HasPrefix(id.Name, nameKept) {
			return false
		}
	}
	rhs := []syntax.Expr{st.RHS}
	if t, ok := st.RHS.(*syntax.TupleExpr); ok {
		rhs = t.List
	}
	for _, x := range rhs {
		if id, ok := x.(*syntax.Ident); !ok || !isKeptBinding(id.Name) {
			return false
		}
	}
	return true
}

// instrumentFor is instrument; restore says the chunk is a Restore's.
func instrumentFor(f *syntax.File, isGlobal func(string) bool, restore bool) error {
	for _, s := range f.Stmts {
		if l, ok := s.(*syntax.LoadStmt); ok {
			return &SyntaxError{Line: int(l.Load.Line), Col: int(l.Load.Col), Msg: "load statements are not allowed in a sandbox"}
		}
	}
	if restore {
		for _, st := range f.Stmts {
			switch st := st.(type) {
			case *syntax.AssignStmt:
				if st.Op == syntax.EQ {
					hideKeptBindings(st.LHS)
					if unpacksKept(st) {
						hideKeptBindings(st.RHS)
					}
				}
			case *syntax.DefStmt: // a factory
				hideKeptBindings(st.Name)
			}
		}
	}
	r := &rewriter{names: make(map[string]bool)}
	stmts := f.Stmts
	if n := len(stmts); n > 0 {
		if es, ok := stmts[n-1].(*syntax.ExprStmt); ok {
			pos := syntax.Start(es.X)
			stmts[n-1] = &syntax.AssignStmt{OpPos: pos, Op: syntax.EQ, LHS: ident(nameResult, pos), RHS: es.X}
		}
	}
	stmts = r.stmts(stmts)

	pos := syntax.MakePosition(&f.Path, 1, 1)
	if len(stmts) > 0 {
		pos = syntax.Start(stmts[0])
	}
	var prologue []syntax.Stmt
	if r.lambdas || slices.ContainsFunc(stmts, func(s syntax.Stmt) bool { _, ok := s.(*syntax.DefStmt); return ok }) {
		// def $mod(): pass — its module is the functions' (see defs.go).
		prologue = append(prologue, &syntax.DefStmt{Def: pos, Name: ident(nameModule, pos),
			Body: []syntax.Stmt{&syntax.BranchStmt{Token: syntax.PASS, TokenPos: pos}}})
	}
	if r.impure {
		prologue = append(prologue, &syntax.ExprStmt{X: call(nameSnapshot, pos)})
	}
	names := make([]string, 0, len(r.names))
	for name := range r.names {
		if isGlobal(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		prologue = append(prologue, &syntax.AssignStmt{
			OpPos: pos, Op: syntax.EQ, LHS: ident(name, pos),
			RHS: call(nameGlobal, pos, &syntax.Literal{Token: syntax.STRING, TokenPos: pos, Raw: strconv.Quote(name), Value: name}),
		})
	}
	f.Stmts = append(prologue, stmts...)
	return nil
}

type rewriter struct {
	names   map[string]bool // every identifier seen: candidates for the prologue
	impure  bool            // the chunk may mutate values it did not create
	lambdas bool            // the chunk has a lambda expression
}

func ident(name string, pos syntax.Position) *syntax.Ident {
	return &syntax.Ident{NamePos: pos, Name: name}
}

func call(fn string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: ident(fn, pos), Lparen: pos, Args: args, Rparen: pos}
}

func (r *rewriter) stmts(list []syntax.Stmt) []syntax.Stmt {
	var out []syntax.Stmt
	for _, s := range list {
		out = r.stmt(s, out)
	}
	return out
}

func (r *rewriter) stmt(s syntax.Stmt, out []syntax.Stmt) []syntax.Stmt {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		if s.Op != syntax.EQ {
			return r.augmented(s, out)
		}
		s.RHS = r.expr(s.RHS)
		s.LHS = r.target(s.LHS)
	case *syntax.ExprStmt:
		s.X = r.expr(s.X)
	case *syntax.IfStmt:
		s.Cond = r.expr(s.Cond)
		s.True = r.stmts(s.True)
		s.False = r.stmts(s.False)
	case *syntax.ForStmt:
		s.X = r.expr(s.X)
		s.Vars = r.target(s.Vars)
		s.Body = r.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = r.expr(s.Cond)
		s.Body = r.stmts(s.Body)
	case *syntax.DefStmt:
		r.names[s.Name.Name] = true
		r.params(s.Params)
		s.Body = r.stmts(s.Body)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = r.expr(s.Result)
		}
	}
	return append(out, s)
}

// augmented rewrites x op= y. The target's operands are evaluated once,
// into the temporaries $o and $k, in the interpreter's order; += and |=
// keep their in-place meaning for lists and dicts.
func (r *rewriter) augmented(s *syntax.AssignStmt, out []syntax.Stmt) []syntax.Stmt {
	r.impure = true
	op := s.Op - syntax.PLUS_EQ + syntax.PLUS // as the compiler maps them
	fn := binaryName(op)
	if op == syntax.PLUS || op == syntax.PIPE {
		fn = inplaceName(op)
	}
	assign := func(lhs, rhs syntax.Expr) *syntax.AssignStmt {
		return &syntax.AssignStmt{OpPos: s.OpPos, Op: syntax.EQ, LHS: lhs, RHS: rhs}
	}
	switch lhs := unparen(s.LHS).(type) {
	case *syntax.Ident:
		r.names[lhs.Name] = true
		rhs := r.expr(s.RHS)
		return append(out, assign(lhs, call(fn, s.OpPos, ident(lhs.Name, lhs.NamePos), rhs)))
	case *syntax.IndexExpr:
		obj, key := r.expr(lhs.X), r.expr(lhs.Y)
		rhs := r.expr(s.RHS)
		at := func() *syntax.IndexExpr {
			return &syntax.IndexExpr{X: ident(nameTmpObj, lhs.Lbrack), Lbrack: lhs.Lbrack, Y: ident(nameTmpKey, lhs.Lbrack), Rbrack: lhs.Rbrack}
		}
		return append(out,
			assign(ident(nameTmpObj, lhs.Lbrack), obj),
			assign(ident(nameTmpKey, lhs.Lbrack), key),
			assign(at(), call(fn, s.OpPos, at(), rhs)))
	case *syntax.DotExpr:
		obj := r.expr(lhs.X)
		rhs := r.expr(s.RHS)
		field := func() *syntax.DotExpr {
			return &syntax.DotExpr{X: ident(nameTmpObj, lhs.Dot), Dot: lhs.Dot, NamePos: lhs.NamePos, Name: ident(lhs.Name.Name, lhs.NamePos)}
		}
		return append(out,
			assign(ident(nameTmpObj, lhs.Dot), obj),
			assign(field(), call(fn, s.OpPos, field(), rhs)))
	}
	// Not a valid target: leave it for the resolver to report.
	s.RHS = r.expr(s.RHS)
	return append(out, s)
}

func unparen(e syntax.Expr) syntax.Expr {
	for {
		p, ok := e.(*syntax.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// target rewrites the operands inside an assignment target.
func (r *rewriter) target(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		r.names[e.Name] = true
	case *syntax.TupleExpr:
		for i := range e.List {
			e.List[i] = r.target(e.List[i])
		}
	case *syntax.ListExpr:
		for i := range e.List {
			e.List[i] = r.target(e.List[i])
		}
	case *syntax.ParenExpr:
		e.X = r.target(e.X)
	case *syntax.IndexExpr:
		r.impure = true
		e.X, e.Y = r.expr(e.X), r.key(r.expr(e.Y))
	case *syntax.DotExpr:
		r.impure = true
		e.X = r.expr(e.X)
	}
	return e
}

// params rewrites default values; parameter names are only recorded.
func (r *rewriter) params(params []syntax.Expr) {
	for _, p := range params {
		switch p := p.(type) {
		case *syntax.Ident:
			r.names[p.Name] = true
		case *syntax.BinaryExpr: // name=default
			p.Y = r.expr(p.Y)
		}
	}
}

// arg rewrites a call argument.
func (r *rewriter) arg(a syntax.Expr) syntax.Expr {
	switch a := a.(type) {
	case *syntax.BinaryExpr:
		if a.Op == syntax.EQ { // name=value
			a.Y = r.expr(a.Y)
			return a
		}
	case *syntax.UnaryExpr:
		if a.Op == syntax.STAR || a.Op == syntax.STARSTAR {
			a.X = call(nameSpread, a.OpPos, r.expr(a.X))
			return a
		}
	}
	return r.expr(a)
}

func (r *rewriter) exprs(list []syntax.Expr) {
	for i := range list {
		list[i] = r.expr(list[i])
	}
}

func (r *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		r.names[e.Name] = true
	case *syntax.ParenExpr:
		e.X = r.expr(e.X)
	case *syntax.BinaryExpr:
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
		if guardedBinary(e) || guardedCompare(e) {
			return call(binaryName(e.Op), e.OpPos, e.X, e.Y)
		}
	case *syntax.UnaryExpr:
		if e.X == nil {
			break
		}
		e.X = r.expr(e.X)
		switch e.Op {
		case syntax.MINUS, syntax.PLUS, syntax.TILDE:
			if !isConst(e.X) {
				return call(unaryName(e.Op), e.OpPos, e.X)
			}
		}
	case *syntax.CallExpr:
		r.impure = true
		e.Fn = r.expr(e.Fn)
		for i := range e.Args {
			e.Args[i] = r.arg(e.Args[i])
		}
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
		if _, ok := guardedMethods[e.Name.Name]; ok {
			name := e.Name.Name
			return call(nameAttr, e.Dot, e.X, &syntax.Literal{Token: syntax.STRING, TokenPos: e.NamePos, Raw: strconv.Quote(name), Value: name})
		}
	case *syntax.IndexExpr:
		e.X, e.Y = r.expr(e.X), r.key(r.expr(e.Y))
	case *syntax.SliceExpr:
		e.X = r.expr(e.X)
		bounds := []*syntax.Expr{&e.Lo, &e.Hi, &e.Step}
		for _, b := range bounds {
			if *b != nil {
				*b = r.expr(*b)
			}
		}
		if !smallSlice(e) {
			args := []syntax.Expr{e.X}
			for _, b := range bounds {
				if *b == nil {
					args = append(args, ident(nameNone, e.Lbrack))
				} else {
					args = append(args, *b)
				}
			}
			return call(nameSlice, e.Lbrack, args...)
		}
	case *syntax.Comprehension:
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.X = r.expr(c.X)
				c.Vars = r.target(c.Vars)
			case *syntax.IfClause:
				c.Cond = r.expr(c.Cond)
			}
		}
		e.Body = r.expr(e.Body)
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = r.expr(e.Cond), r.expr(e.True), r.expr(e.False)
	case *syntax.DictExpr:
		for _, entry := range e.List {
			if entry, ok := entry.(*syntax.DictEntry); ok {
				entry.Key, entry.Value = r.key(r.expr(entry.Key)), r.expr(entry.Value)
			}
		}
	case *syntax.DictEntry: // a dict comprehension's body
		e.Key, e.Value = r.key(r.expr(e.Key)), r.expr(e.Value)
	case *syntax.ListExpr:
		r.exprs(e.List)
	case *syntax.TupleExpr:
		r.exprs(e.List)
	case *syntax.LambdaExpr:
		r.lambdas = true
		r.params(e.Params)
		e.Body = r.expr(e.Body)
	}
	return e
}

// guardedBinary reports whether x op y must be charged: an arithmetic
// operator with an operand that is not a literal, or a literal sequence
// repeated.
func guardedBinary(e *syntax.BinaryExpr) bool {
	switch e.Op {
	case syntax.PLUS, syntax.MINUS, syntax.STAR, syntax.SLASH, syntax.SLASHSLASH, syntax.PERCENT,
		syntax.AMP, syntax.PIPE, syntax.CIRCUMFLEX, syntax.LTLT, syntax.GTGT:
	default:
		return false // comparisons, and, or, in: no allocation
	}
	if !isConst(e.X) || !isConst(e.Y) {
		return true
	}
	return e.Op == syntax.STAR && (isText(e.X) || isText(e.Y))
}

// guardedCompare reports whether a comparison or a membership test must
// be charged: neither operand is a literal (comparing with a literal
// stops at its first node).
func guardedCompare(e *syntax.BinaryExpr) bool {
	switch e.Op {
	case syntax.EQL, syntax.NEQ, syntax.LT, syntax.GT, syntax.LE, syntax.GE:
		return !isConst(e.X) && !isConst(e.Y)
	case syntax.IN, syntax.NOT_IN:
		return !isConst(e.X) || !isConst(e.Y)
	}
	return false
}

// key wraps a dict key, set element or index that is not a literal in
// $key, which charges for hashing it.
func (r *rewriter) key(e syntax.Expr) syntax.Expr {
	if isConst(e) {
		return e
	}
	return call(nameKey, syntax.Start(e), e)
}

// isConst reports whether e is a literal, possibly signed or parenthesised.
func isConst(e syntax.Expr) bool {
	switch e := unparen(e).(type) {
	case *syntax.Literal:
		return true
	case *syntax.UnaryExpr:
		if e.Op == syntax.MINUS || e.Op == syntax.PLUS || e.Op == syntax.TILDE {
			if l, ok := unparen(e.X).(*syntax.Literal); ok {
				return l.Token == syntax.INT || l.Token == syntax.FLOAT
			}
		}
	}
	return false
}

func isText(e syntax.Expr) bool {
	l, ok := unparen(e).(*syntax.Literal)
	return ok && (l.Token == syntax.STRING || l.Token == syntax.BYTES)
}

// maxFreeSlice is the longest slice taken without a charge: x[:n], x[i:n]
// and x[-n:] with literal n at most this.
const maxFreeSlice = 64

// smallSlice reports whether the slice's length is bounded by literals.
func smallSlice(e *syntax.SliceExpr) bool {
	if e.Step != nil {
		return false
	}
	lo, loOK := smallInt(e.Lo)
	hi, hiOK := smallInt(e.Hi)
	switch {
	case e.Lo == nil && hiOK && hi >= 0:
		return true
	case loOK && hiOK && lo >= 0 && hi >= 0:
		return true
	case loOK && lo < 0 && e.Hi == nil:
		return true
	}
	return false
}

// smallInt returns the value of e when it is an int literal of magnitude
// at most maxFreeSlice, possibly negated.
func smallInt(e syntax.Expr) (int64, bool) {
	sign := int64(1)
	if u, ok := e.(*syntax.UnaryExpr); ok && u.Op == syntax.MINUS {
		sign, e = -1, u.X
	}
	l, ok := e.(*syntax.Literal)
	if !ok || l.Token != syntax.INT {
		return 0, false
	}
	v, ok := l.Value.(int64)
	if !ok || v > maxFreeSlice {
		return 0, false
	}
	return sign * v, true
}

// chunkShift returns the lines a Restore's chunk is laid out lower than
// the code it rebuilds, from its last line (see shiftMarker), or 0.
func chunkShift(code string) int32 {
	code = strings.TrimRight(code, "\n")
	last := code[strings.LastIndexByte(code, '\n')+1:]
	n, err := strconv.Atoi(strings.TrimPrefix(last, shiftMarker))
	if !strings.HasPrefix(last, shiftMarker) || err != nil || n < 1 || n > 9 {
		return 0
	}
	return int32(n)
}

// positionType is the type of the positions in syntax trees.
var positionType = reflect.TypeFor[syntax.Position]()

// shiftLines moves every position of f up by n lines: each node's
// fields of type syntax.Position (go.starlark.net/syntax keeps no other
// kind), so that the compiled functions, and the errors inside them,
// have the lines of the code the chunk rebuilds.
func shiftLines(f *syntax.File, n int32) {
	syntax.Walk(f, func(node syntax.Node) bool {
		v := reflect.ValueOf(node)
		if node == nil || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return true
		}
		e := v.Elem()
		for i := range e.NumField() {
			if fld := e.Field(i); fld.Type() == positionType && fld.CanSet() {
				line := fld.FieldByName("Line")
				line.SetInt(line.Int() - int64(n))
			}
		}
		return true
	})
}
