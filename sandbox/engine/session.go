package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Session is a Starlark REPL whose globals persist across executions.
//
// Each [Session.Execute] is a transaction: it either succeeds within every
// limit and its changes to the globals are kept, or it fails (syntax
// error, runtime error, limit exceeded, cancellation) and the globals are
// exactly as before, including the contents of lists, dicts and sets it
// mutated. A session stays usable after any error except [ErrBroken].
//
// Execute calls are serialized; a Session is safe for concurrent use.
type Session struct {
	// Set by NewSession, then immutable.
	limits Limits // with defaults applied
	env    *Env
	cache  CompileCache
	locals []local // set on each thread; see WithLocal
	world  World   // noWorld unless WithWorld

	mu      sync.Mutex // serializes Execute; protects the fields below
	globals starlark.StringDict
	names   [32]byte // digest of env and the global names: half of each cache key
	heap    int64    // approximate size of globals at the last check
	runs    uint64   // accepted executions
	broken  bool     // a rollback failed; see ErrBroken

	// The sources of the functions the globals hold, and of the lambdas
	// the world keeps (see defs.go).
	defs      map[*starlark.Function]*defSource
	lambdas   map[*starlark.Function]*defSource
	restored  map[string]*starlark.Function     // by binding, during a Restore
	factories map[*starlark.Function]*defSource // a Restore's factories: their lambda's source
	// During a Restore, from its bound globals to its link step: the
	// globals bound to function(ref) (add2 = adder(2)), which its chunks
	// see as predeclared names (restoreEnv: the Env's and those), so
	// that a function sees the function the link step sets, not the
	// placeholder that a chunk's global would keep.
	restoreEnv, restoreRefs starlark.StringDict
	// moduleRefs is restoreRefs by the module of each chunk that saw
	// them: what its functions see besides the module's globals.
	moduleRefs map[*starlark.Module]starlark.StringDict
	defOrder   uint64
	defBytes   int64 // of the texts in defs
	fnReplaced bool  // the last commit rebound a global that held a function
}

// Result is the outcome of a successful execution.
type Result struct {
	// Value is the repr of the value of the final expression statement,
	// or "" when the code does not end with an expression or it is None
	// (as a Python REPL prints nothing for None).
	Value string
	// Output is what print wrote, one line per call.
	Output string
	// Steps is the number of Starlark steps used, charged work included.
	Steps uint64
	// Duration is the wall-clock time of the execution.
	Duration time.Duration
}

// Stats describes a session's state.
type Stats struct {
	Globals    int    // number of global names
	HeapBytes  int64  // approximate size of the globals and the world, as last checked
	Executions uint64 // executions accepted so far
}

// NewSession returns a session with no globals. Zero fields of limits
// take their defaults (see [DefaultLimits]).
func NewSession(limits Limits, opts ...Option) *Session {
	s := &Session{limits: limits.WithDefaults(), env: defaultEnv, cache: defaultCache, world: noWorld{},
		globals: starlark.StringDict{}}
	for _, opt := range opts {
		opt(s)
	}
	s.names = s.env.digest
	return s
}

// Limits returns the session's limits, defaults applied.
func (s *Session) Limits() Limits { return s.limits }

// Stats returns the session's current statistics.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Globals: len(s.globals), HeapBytes: s.heap, Executions: s.runs}
}

// Execute runs code in the session: a Starlark file whose globals are
// those left by earlier executions. It returns the repr of a final
// expression, the printed output and the resources used, or an error:
// [*SyntaxError], [*RuntimeError], [*LimitError] (errors.Is
// [ErrLimitExceeded]), the cause of ctx when ctx ends first, or
// [ErrBroken]. ctx's deadline and Limits.MaxDuration both cancel the
// execution; only the latter is a LimitError.
//
// Functions keep the globals of the execution that defined them: a later
// execution that rebinds x does not change what an earlier function sees
// as x, but mutating a shared list or dict does (as in Starlark's REPL).
func (s *Session) Execute(ctx context.Context, code string) (*Result, error) {
	return s.execute(ctx, code, &s.limits)
}

// ExecuteWithin is Execute with at most maxSteps steps (or the session's
// MaxSteps, if lower): the caller's own budget, such as what is left of a
// quota. An execution stopped by the lower budget fails with a steps
// [LimitError] whose Max is maxSteps. An execution accepted within a
// lower budget replays the same under the session's own.
func (s *Session) ExecuteWithin(ctx context.Context, code string, maxSteps uint64) (*Result, error) {
	limits := s.limits
	limits.MaxSteps = min(limits.MaxSteps, maxSteps)
	return s.execute(ctx, code, &limits)
}

// replayDuration is the wall-clock limit of a replayed execution.
const replayDuration = time.Hour

// Replay executes code as Execute does, without its wall-clock limit:
// code that was accepted once is replayed to rebuild the session (from a
// journal), and a busier machine must not make it fail. The step budget,
// which does not depend on the machine, still applies, so replaying gives
// the same result as the first run.
func (s *Session) Replay(ctx context.Context, code string) (*Result, error) {
	limits := s.limits
	limits.MaxDuration = replayDuration
	return s.execute(ctx, code, &limits)
}

func (s *Session) execute(ctx context.Context, code string, limits *Limits) (*Result, error) {
	return s.executeWith(ctx, code, limits, false)
}

// executeWith runs code under limits. restore says it is a chunk of a
// Restore: a one-off, not cached, whose lambda bindings are hidden (see
// keptBinding).
func (s *Session) executeWith(ctx context.Context, code string, limits *Limits, restore bool) (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return nil, ErrBroken
	}
	if len(code) > limits.MaxCodeBytes {
		return nil, &LimitError{Limit: LimitCodeSize, Max: uint64(limits.MaxCodeBytes), Got: uint64(len(code))}
	}
	start := time.Now()
	prog, err := s.program(code, restore)
	if err != nil {
		return nil, err
	}
	x := &execution{session: s, limits: limits, locals: s.locals}
	var (
		module starlark.StringDict
		value  string
	)
	s.world.Begin()
	steps, err := x.run(ctx, func(thread *starlark.Thread) error {
		var err error
		predeclared := s.env.predeclared
		if restore && s.restoreEnv != nil {
			predeclared = s.restoreEnv
		}
		if module, err = prog.Init(thread, predeclared); err != nil {
			return err
		}
		if err := s.world.Settle(thread); err != nil {
			return err
		}
		if v, ok := module[nameResult]; ok && v != starlark.None {
			value, err = render(thread, v, false, x.outputLeft())
		}
		return err
	})
	if err == nil {
		s.fnReplaced = false
		err = s.commit(x, module)
	}
	if err != nil {
		return nil, s.rollback(x, err)
	}
	pins := x.pins
	if held := s.heldLambdas(x, code); len(held) > 0 {
		pins = append(held, pins...)
	}
	if _, defines := module[nameModule]; defines || s.fnReplaced && s.defs != nil {
		s.noteDefs(code, module, pins)
	} else if len(pins) > 0 {
		s.noteLambdas(code, nil, module, pins) // made by defs of earlier chunks
	}
	s.world.Commit()
	return &Result{Value: value, Output: x.out.String(), Steps: steps, Duration: time.Since(start)}, nil
}

// commit merges the globals of a successful run into the session, unless
// that breaks the globals or heap limit.
func (s *Session) commit(x *execution, module starlark.StringDict) error {
	type undo struct {
		name string
		old  starlark.Value // nil: the name was new
	}
	var undos []undo
	added := false
	for name, v := range module {
		if isHidden(name) {
			continue
		}
		old, had := s.globals[name]
		if had && identical(old, v) {
			continue
		}
		undos = append(undos, undo{name, old})
		added = added || !had
		if _, fn := old.(*starlark.Function); fn {
			s.fnReplaced = true
		}
		s.globals[name] = v
	}
	revert := func() {
		for i := len(undos) - 1; i >= 0; i-- {
			if u := undos[i]; u.old == nil {
				delete(s.globals, u.name)
			} else {
				s.globals[u.name] = u.old
			}
		}
	}
	if n := len(s.globals); n > s.limits.MaxGlobals {
		revert()
		return &LimitError{Limit: LimitGlobals, Max: uint64(s.limits.MaxGlobals), Got: uint64(n)}
	}
	heap := s.heap
	x.changed = len(undos) > 0 || x.snap != nil
	if x.changed || s.world.Touched() {
		if heap = heapSize(s.globals, s.world, s.limits.MaxHeapBytes); heap > s.limits.MaxHeapBytes {
			revert()
			return &LimitError{Limit: LimitHeap, Max: uint64(s.limits.MaxHeapBytes), Got: uint64(heap)}
		}
	}
	s.heap = heap
	if added {
		s.names = namesDigest(s.env.digest, s.globals)
	}
	s.runs++
	return nil
}

// rollback undoes the effects of a failed execution on the world and the
// in-place mutations of values, and returns err, joined with ErrBroken if
// that was impossible.
func (s *Session) rollback(x *execution, err error) error {
	s.world.Rollback()
	if x.snap == nil {
		return err
	}
	if rerr := x.snap.restore(); rerr != nil {
		s.broken = true
		return errors.Join(err, ErrBroken, rerr)
	}
	return err
}

// program returns the instrumented program of code, compiled against the
// session's current global names, from the compile cache (or into it)
// unless it is a Restore's (see executeWith).
func (s *Session) program(code string, restore bool) (*starlark.Program, error) {
	cache := !restore
	var key [32]byte
	if cache {
		h := sha256.New()
		h.Write(s.names[:])
		h.Write([]byte(code))
		h.Sum(key[:0])
		if prog, ok := s.cache.Get(key); ok {
			return prog, nil
		}
	}
	f, err := fileOptions.Parse(filename, code, 0)
	if err != nil {
		return nil, syntaxError(err)
	}
	// Kept bindings are hidden in a Restore's chunks of functions, not in
	// its data, which may bind a global named _0 (Restore makes
	// s.restored between the two); a chunk laid out lower than the code
	// it rebuilds is moved up.
	if n := s.shiftOf(code); restore && n > 0 {
		shiftLines(f, n)
	}
	isGlobal, isPredeclared := s.globals.Has, s.env.predeclared.Has
	if restore && s.restoreEnv != nil {
		isGlobal = func(name string) bool { return s.globals.Has(name) && !s.restoreRefs.Has(name) }
		isPredeclared = s.restoreEnv.Has
	}
	if err := instrumentFor(f, isGlobal, restore && s.restored != nil); err != nil {
		return nil, err
	}
	prog, err := starlark.FileProgram(f, isPredeclared)
	if err != nil {
		return nil, syntaxError(err)
	}
	if cache {
		s.cache.Put(key, prog)
	}
	return prog, nil
}

// namesDigest identifies a set of global names compiled against env.
func namesDigest(env [32]byte, g starlark.StringDict) [32]byte {
	h := sha256.New()
	h.Write(env[:])
	for _, name := range g.Keys() { // sorted
		h.Write([]byte(name))
		h.Write([]byte{0})
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// syntaxError converts a parse or resolve error.
func syntaxError(err error) error {
	var se syntax.Error
	if errors.As(err, &se) {
		return &SyntaxError{Line: int(se.Pos.Line), Col: int(se.Pos.Col), Msg: se.Msg}
	}
	var list resolve.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		msg := list[0].Msg
		for _, e := range list[1:] {
			msg += "; " + e.Msg
		}
		return &SyntaxError{Line: int(list[0].Pos.Line), Col: int(list[0].Pos.Col), Msg: msg}
	}
	return &SyntaxError{Msg: err.Error()}
}

// Call calls fn (typically a function defined by a session's code, such
// as a worker's handler) on a fresh thread under limits: the step budget,
// MaxDuration and MaxOutputBytes apply (zero fields take defaults), print
// output is captured in the Result, and errors are classified as for
// Execute. Builtins reach ctx with [Context]; [FromThread] returns nil.
// There is no rollback: Call has no globals of its own.
//
// Values reachable from a session's globals belong to that session: do
// not let Call mutate them while the session may execute (freeze or copy
// what crosses over).
func Call(ctx context.Context, limits Limits, fn starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, *Result, error) {
	l := limits.WithDefaults()
	x := &execution{limits: &l}
	start := time.Now()
	var v starlark.Value
	steps, err := x.run(ctx, func(thread *starlark.Thread) error {
		var err error
		v, err = starlark.Call(thread, fn, args, kwargs)
		return err
	})
	res := &Result{Output: x.out.String(), Steps: steps, Duration: time.Since(start)}
	if err != nil {
		return nil, res, err
	}
	return v, res, nil
}
