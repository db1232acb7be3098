package engine

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// instrumentVersion changes whenever instrument or the hidden builtins
// change how a program is compiled; it is part of every cache key.
const instrumentVersion = "otpbox-sandbox-4"

// filename names the code of an execution in positions and backtraces.
const filename = "<sandbox>"

// fileOptions is the dialect of sandbox code: top-level if/for/while,
// while loops, global reassignment (a REPL needs it) and sets. Recursion
// stays disabled: the interpreter recurses on the Go stack, and the step
// budget alone would let a recursive function grow it to about a GiB.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
}

// Env is the set of names predeclared in every execution of the sessions
// that share it: the guarded replacements of Starlark's builtins, the
// hidden builtins of the instrumentation, and any extra builtins. An Env
// is immutable and safe for concurrent use; share one among all sessions
// with the same builtins, since each Env holds its own table.
type Env struct {
	predeclared starlark.StringDict
	digest      [32]byte // of the predeclared names and instrumentVersion
}

// defaultEnv has no extra builtins.
var defaultEnv = mustEnv(nil)

func mustEnv(extra starlark.StringDict) *Env {
	env, err := NewEnv(extra)
	if err != nil {
		panic(err)
	}
	return env
}

// NewEnv returns an Env predeclaring extra on top of the sandbox builtins
// (Starlark's universe without host access, plus print output capture).
// extra may replace a universe builtin such as print. Its values are
// frozen, since every session of the Env shares them. Builtins reach
// their session with [FromThread] and charge their work with [Charge].
//
// It fails with [ErrInvalidBuiltin] for a name that is not a Starlark
// identifier and for a nil value.
func NewEnv(extra starlark.StringDict) (*Env, error) {
	d := hiddenBuiltins()
	for name, v := range universe() {
		d[name] = v
	}
	return newEnv(d, extra)
}

// With returns an Env predeclaring e's names and extra, which wins on
// conflicts. Errors are as for [NewEnv].
func (e *Env) With(extra starlark.StringDict) (*Env, error) {
	d := make(starlark.StringDict, len(e.predeclared)+len(extra))
	for name, v := range e.predeclared {
		d[name] = v
	}
	return newEnv(d, extra)
}

// newEnv adds extra to d, which it takes over.
func newEnv(d, extra starlark.StringDict) (*Env, error) {
	for name, v := range extra {
		if !isIdent(name) {
			return nil, fmt.Errorf("%w: %q is not an identifier", ErrInvalidBuiltin, name)
		}
		if v == nil {
			return nil, fmt.Errorf("%w: %q is nil", ErrInvalidBuiltin, name)
		}
		v.Freeze()
		d[name] = v
	}
	names := d.Keys() // sorted
	h := sha256.New()
	h.Write([]byte(instrumentVersion))
	for _, n := range names {
		h.Write([]byte{0})
		h.Write([]byte(n))
	}
	env := &Env{predeclared: d}
	h.Sum(env.digest[:0])
	return env, nil
}

// Names returns the sorted names the Env predeclares for user code (the
// hidden names of the instrumentation excluded).
func (e *Env) Names() []string {
	return slices.DeleteFunc(e.predeclared.Keys(), isHidden)
}

// builtinByName is a Reader's builtin("name"): the builtin e predeclares
// under name (see dumper.builtin).
func (e *Env) builtinByName() *starlark.Builtin {
	return starlark.NewBuiltin(nameBuiltin, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
			return nil, err
		}
		v := e.builtin(name)
		if v == nil {
			return nil, fmt.Errorf("%s: no builtin %q", b.Name(), name)
		}
		return v, nil
	})
}

// builtin returns the builtin that code sees under name (predeclared, or
// Starlark's universe), when it has that name itself; nil otherwise, and
// for the instrumentation's.
func (e *Env) builtin(name string) *starlark.Builtin {
	v, ok := e.predeclared[name]
	if !ok {
		v = starlark.Universe[name]
	}
	b, _ := v.(*starlark.Builtin)
	if b == nil || isHidden(name) || b.Name() != name {
		return nil
	}
	return b
}

func isHidden(name string) bool { return strings.HasPrefix(name, hiddenPrefix) }

// isIdent reports whether s is a Starlark identifier and not a keyword.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	switch s {
	case "and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda",
		"load", "not", "or", "pass", "return", "while", "None", "True", "False":
		return false
	}
	return true
}
