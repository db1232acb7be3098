package engine

import (
	"context"
	"strings"
	"time"

	"go.starlark.net/starlark"
)

// Allocation is charged to the step budget before it happens: operations
// whose cost grows with their operands (string concatenation, repetition,
// formatting, copying slices, materialising ranges...) add one step per
// bytesPerStep bytes of text, slotSteps per list or tuple element and
// entrySteps per dict or set entry. The rates include the garbage the
// operation makes (growing buffers, boxing), so one execution allocates
// at most about 64 bytes per step of its budget.
const (
	bytesPerStep = 16
	slotSteps    = 2
	entrySteps   = 4
)

// localKey is the thread-local key under which an execution stores itself.
const localKey = "github.com/otpbox/otpbox/sandbox.execution"

// execution is the state of one Execute or Call. It lives in the thread's
// locals while Starlark runs; only the goroutine running the thread
// touches it.
type execution struct {
	session *Session // nil under Call
	limits  *Limits  // with defaults applied
	locals  []local  // extra thread locals (WithLocal)
	// ctx is the caller's context, kept for the duration of one call so
	// that builtins can observe cancellation (see [Context]); it is never
	// retained after the call returns.
	ctx      context.Context
	start    time.Time // when the execution started
	deadline time.Time // when MaxDuration elapses
	// dctx is ctx with the deadline, made on the first Context call.
	dctx    context.Context
	dcancel context.CancelFunc

	out         strings.Builder // captured print output, at most limits.MaxOutputBytes
	snap        *snapshot       // taken by $snap before an impure chunk runs
	stepsHit    bool            // the step limit stopped the thread
	durationHit bool            // the clock check stopped the thread
	outputHit   bool            // print went past the output limit
	// pins are lambdas the world keeps (KeepSource): their sources are
	// recorded if the execution commits.
	pins []*starlark.Function
	// changed: the commit bound a global or the chunk may have mutated
	// one, so the globals may hold a lambda they did not (heldLambdas).
	changed bool
}

func executionOf(thread *starlark.Thread) *execution {
	if thread == nil {
		return nil
	}
	x, _ := thread.Local(localKey).(*execution)
	return x
}

// FromThread returns the session whose Execute is running on thread, or
// nil (under [Call], for instance). Builtins use it, or [WithLocal], to
// reach per-sandbox state. Threads are recycled: use it during the
// builtin call, never keep the thread.
func FromThread(thread *starlark.Thread) *Session {
	if x := executionOf(thread); x != nil {
		return x.session
	}
	return nil
}

// Context returns the context of the execution running on thread, or
// context.Background() when there is none. Builtins that block (waiting
// for an actor, say) must give up when it is done: its deadline is the
// execution's wall-clock limit.
//
// Call it on the thread's goroutine, that is, from the builtin itself.
func Context(thread *starlark.Thread) context.Context {
	x := executionOf(thread)
	if x == nil {
		return context.Background()
	}
	if x.dctx == nil {
		x.dctx, x.dcancel = context.WithDeadlineCause(x.ctx, x.deadline, errDeadline)
	}
	return x.dctx
}

// Charge adds steps to the budget of the execution running on thread,
// before the work they stand for is done. It returns a [*LimitError] for
// [LimitSteps] when the budget would be exceeded; a builtin returns that
// error unchanged, and the execution fails with it. On a thread that
// belongs to no execution Charge only adds to thread.Steps.
func Charge(thread *starlark.Thread, steps uint64) error {
	x := executionOf(thread)
	if x == nil {
		thread.Steps += steps
		return nil
	}
	return x.charge(thread, steps)
}

func (x *execution) charge(thread *starlark.Thread, steps uint64) error {
	if steps == 0 {
		return nil
	}
	got := thread.Steps + steps
	if got < steps || got > x.limits.MaxSteps { // overflow or over budget
		x.stepsHit = true
		return &LimitError{Limit: LimitSteps, Max: x.limits.MaxSteps, Got: max(got, x.limits.MaxSteps+1)}
	}
	thread.Steps = got
	return nil
}

// budgetBytes is how many bytes the remaining step budget can pay for.
func (x *execution) budgetBytes(thread *starlark.Thread) int {
	left := uint64(0)
	if thread.Steps < x.limits.MaxSteps {
		left = x.limits.MaxSteps - thread.Steps
	}
	const maxInt = int(^uint(0) >> 1)
	if left > uint64(maxInt/bytesPerStep) {
		return maxInt
	}
	return int(left) * bytesPerStep
}

// chargeBytes charges for allocating n bytes of text or integer.
func chargeBytes(thread *starlark.Thread, n int) error {
	if n <= 0 {
		return nil
	}
	return Charge(thread, uint64(n)/bytesPerStep+1)
}

// chargeSlots charges for allocating n list or tuple elements.
func chargeSlots(thread *starlark.Thread, n int) error {
	if n <= 0 {
		return nil
	}
	return Charge(thread, uint64(n)*slotSteps+1)
}

// chargeEntries charges for allocating n dict or set entries.
func chargeEntries(thread *starlark.Thread, n int) error {
	if n <= 0 {
		return nil
	}
	return Charge(thread, uint64(n)*entrySteps+1)
}

// write appends s to the output, or fails with LimitOutputSize.
func (x *execution) write(s string) error {
	if x.out.Len()+len(s) > x.limits.MaxOutputBytes {
		x.outputHit = true
		return &LimitError{Limit: LimitOutputSize, Max: uint64(x.limits.MaxOutputBytes), Got: uint64(x.out.Len() + len(s))}
	}
	x.out.WriteString(s)
	return nil
}

// outputLeft is how many more bytes the execution may print.
func (x *execution) outputLeft() int {
	return max(0, x.limits.MaxOutputBytes-x.out.Len())
}
