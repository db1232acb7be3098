package engine

import "go.starlark.net/starlark"

// World is state beyond a session's globals that executions change and
// that belongs to the session's transaction: otpbox's sandboxes keep their
// processes in one. A session with a World ([WithWorld]) calls it on the
// goroutine of Execute, in this order for each execution: Begin; then,
// once the code ran without error, Settle on the execution's thread; then
// Commit if the execution is accepted, or Rollback if it fails for any
// reason (its code, Settle, a limit, the heap check).
//
// The world's values (Roots) count with the globals against
// MaxHeapBytes, and a failed execution restores their contents in place
// with the globals' (see [Session.Execute]); restoring the world's own
// structure is Rollback's job.
type World interface {
	// Begin starts an execution.
	Begin()
	// Settle runs the work the code left pending (messages to
	// processes) until there is none, within the execution's limits: it
	// calls back into Starlark with [CallIn] and charges its own work with
	// [Charge]. An error fails the execution.
	Settle(thread *starlark.Thread) error
	// Touched reports whether the execution changed the world.
	Touched() bool
	// Roots calls yield with every Starlark value the world holds, until
	// yield returns false.
	Roots(yield func(starlark.Value) bool)
	// Size is the approximate size, in bytes, of what the world holds
	// besides the values of Roots.
	Size() int64
	// Commit keeps the execution's effects; Rollback undoes them.
	Commit()
	Rollback()
}

// noWorld is the World of a session without one.
type noWorld struct{}

func (noWorld) Begin()                          {}
func (noWorld) Settle(*starlark.Thread) error   { return nil }
func (noWorld) Touched() bool                   { return false }
func (noWorld) Roots(func(starlark.Value) bool) {}
func (noWorld) Size() int64                     { return 0 }
func (noWorld) Commit()                         {}
func (noWorld) Rollback()                       {}

// A SavedWorld is a World whose state a [Dump] holds: [Session.Dump]
// writes it with Save, and [Session.Restore] rebuilds it with Load in a
// new session's world.
type SavedWorld interface {
	World
	// Save writes the world's state as text, its Starlark values as
	// expressions written by w ([Writer.Expr]); "" when there is nothing
	// to save. It fails (with a [*NotPlainError] for what it cannot
	// write) when the state cannot be saved exactly.
	Save(w *Writer) (string, error)
	// Load rebuilds, in a new world, the state that Save wrote, reading
	// its values with r ([Reader.Value]). It runs before the functions
	// of the dump are defined: values refer to them by name, and r links
	// them once they are ([Reader.Func]).
	Load(state string, r *Reader) error
	// Constructors are the builtins that the world's expressions call
	// (see [Writable]), available to the expressions of a dump only.
	Constructors() starlark.StringDict
}

// Writable is a value of a world ([SavedWorld]) that a [Dump] can write:
// WriteTo writes it to w as an expression that calls the world's
// Constructors, or fails with w's [Writer.NotPlain].
type Writable interface {
	starlark.Value
	WriteTo(w *Writer) error
}

// Holder is a value of a world that holds other Starlark values (a worker
// definition, its functions): the session finds through it the lambdas
// the world still keeps (see KeepSource).
type Holder interface {
	Held(yield func(starlark.Value) bool)
}
