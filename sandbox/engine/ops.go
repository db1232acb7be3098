package engine

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The instrumented program (see rewrite.go) calls these hidden builtins
// instead of the operators and methods whose cost grows with their
// operands. Each charges the execution's step budget for the work, then
// does exactly what the interpreter would have done. Their names start
// with '$', which no Starlark identifier can, so user code cannot name
// them, and backtraces hide their frames.

// Names of the hidden builtins.
const (
	hiddenPrefix = "$"
	nameGlobal   = "$g"       // $g("x") returns the session global x
	nameSnapshot = "$snap"    // $snap() saves what an impure chunk may mutate
	nameResult   = "$result"  // global that receives the final expression
	nameModule   = "$mod"     // a function of a chunk that defines functions: its module identifies theirs
	nameKept     = "$kept_"   // a lambda or an older version of a function that a Restore's chunk binds (see keptBinding)
	nameFuncRef  = "function" // a Reader's constructor of a function in a list or a dict (see Reader.bindRefs)
	nameBuiltin  = "builtin"  // a Reader's constructor of a builtin by its name (see dumper.builtin)
	nameNone     = "$none"    // None, immune to user rebinding
	nameSlice    = "$slice"   // $slice(x, lo, hi, step) is x[lo:hi:step]
	nameSpread   = "$spread"  // f(*$spread(x)) charges for unpacking x
	nameAttr     = "$attr"    // $attr(x, "join") is x.join, guarded
	nameKey      = "$key"     // $key(k) is k, charged for hashing it
	nameTmpObj   = "$o"       // temporaries of x[k] op= y
	nameTmpKey   = "$k"
)

func binaryName(op syntax.Token) string  { return "$" + op.String() }
func unaryName(op syntax.Token) string   { return "$u" + op.String() }
func inplaceName(op syntax.Token) string { return "$" + op.String() + "=" }

// binaryOps are the operators routed through a hidden builtin.
var binaryOps = []syntax.Token{
	syntax.PLUS, syntax.MINUS, syntax.STAR, syntax.SLASH, syntax.SLASHSLASH, syntax.PERCENT,
	syntax.AMP, syntax.PIPE, syntax.CIRCUMFLEX, syntax.LTLT, syntax.GTGT,
}

// hiddenBuiltins returns the predeclared hidden names.
func hiddenBuiltins() starlark.StringDict {
	d := starlark.StringDict{
		nameGlobal:   starlark.NewBuiltin(nameGlobal, builtinGlobal),
		nameSnapshot: starlark.NewBuiltin(nameSnapshot, builtinSnapshot),
		nameNone:     starlark.None,
		nameSlice:    starlark.NewBuiltin(nameSlice, builtinSlice),
		nameSpread:   starlark.NewBuiltin(nameSpread, builtinSpread),
		nameAttr:     starlark.NewBuiltin(nameAttr, builtinAttr),
	}
	for _, op := range binaryOps {
		d[binaryName(op)] = starlark.NewBuiltin(binaryName(op), binaryBuiltin(op))
	}
	for _, op := range compareOps {
		d[binaryName(op)] = starlark.NewBuiltin(binaryName(op), compareBuiltin(op))
	}
	d[nameKey] = starlark.NewBuiltin(nameKey, builtinKey)
	d[inplaceName(syntax.PLUS)] = starlark.NewBuiltin(inplaceName(syntax.PLUS), builtinInplaceAdd)
	d[inplaceName(syntax.PIPE)] = starlark.NewBuiltin(inplaceName(syntax.PIPE), builtinInplacePipe)
	for _, op := range []syntax.Token{syntax.MINUS, syntax.PLUS, syntax.TILDE} {
		d[unaryName(op)] = starlark.NewBuiltin(unaryName(op), unaryBuiltin(op))
	}
	return d
}

func builtinGlobal(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x := executionOf(thread)
	if x == nil || x.session == nil || len(args) != 1 {
		return nil, errors.New("internal error: $g outside a session")
	}
	name, _ := starlark.AsString(args[0])
	v, ok := x.session.globals[name]
	if !ok {
		return nil, fmt.Errorf("internal error: no global %q", name)
	}
	return v, nil
}

func builtinSnapshot(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if x := executionOf(thread); x != nil && x.session != nil && x.snap == nil {
		x.snap = takeSnapshot(x.session.globals, x.session.world, x.session.limits.MaxHeapBytes)
	}
	return starlark.None, nil
}

func binaryBuiltin(op syntax.Token) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, y := args[0], args[1]
		if err := chargeBinary(thread, op, x, y); err != nil {
			return nil, err
		}
		return starlark.Binary(op, x, y)
	}
}

func unaryBuiltin(op syntax.Token) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		if i, ok := args[0].(starlark.Int); ok {
			if err := chargeIntLinear(thread, i, i); err != nil {
				return nil, err
			}
		}
		return starlark.Unary(op, args[0])
	}
}

// builtinInplaceAdd is x += y: lists are extended in place.
func builtinInplaceAdd(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if list, ok := x.(*starlark.List); ok {
		if _, ok := y.(starlark.Iterable); ok {
			// Materialize y first: it may be x itself.
			elems, err := materialize(thread, y)
			if err != nil {
				return nil, err
			}
			for _, e := range elems {
				if err := list.Append(e); err != nil {
					return nil, fmt.Errorf("cannot apply += to %s", strings.TrimPrefix(err.Error(), "cannot append to "))
				}
			}
			return list, nil
		}
	}
	if err := chargeBinary(thread, syntax.PLUS, x, y); err != nil {
		return nil, err
	}
	return starlark.Binary(syntax.PLUS, x, y)
}

// builtinInplacePipe is x |= y: dicts are updated in place.
func builtinInplacePipe(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if err := chargeBinary(thread, syntax.PIPE, x, y); err != nil {
		return nil, err
	}
	if xd, ok := x.(*starlark.Dict); ok {
		if yd, ok := y.(*starlark.Dict); ok {
			for k, v := range yd.Entries() {
				if err := xd.SetKey(k, v); err != nil {
					return nil, fmt.Errorf("cannot apply |= to %s", strings.TrimPrefix(err.Error(), "cannot insert into "))
				}
			}
			return xd, nil
		}
	}
	return starlark.Binary(syntax.PIPE, x, y)
}
