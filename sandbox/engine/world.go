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
