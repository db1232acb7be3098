package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
)

// errDeadline is the cancellation cause when MaxDuration elapses.
var errDeadline = errors.New("sandbox: execution duration limit")

// tickSteps is how often, in steps, the interpreter checks the clock.
const tickSteps = 10_000

// threads recycles interpreter threads (and their stacks) between
// executions. A thread goes back only when nothing can touch it any more.
var threads = sync.Pool{New: func() any { return new(starlark.Thread) }}

// run calls f on a thread under x's limits and classifies its error.
//
// Limits are enforced without a goroutine, timer or callback per
// execution: the step limit is the interpreter's own, and every tickSteps
// steps (a fraction of a millisecond) the OnMaxSteps hook also checks the
// wall clock and whether ctx is done. Builtins that block get a context
// with the deadline from Context, which ctx's cancellation ends too. (A
// context.AfterFunc per execution cancelled the thread at once; it cost
// two allocations and a registration with ctx's parent for at most
// tickSteps steps of promptness.) A panic in a builtin becomes a
// RuntimeError.
func (x *execution) run(ctx context.Context, f func(*starlark.Thread) error) (steps uint64, err error) {
	start := time.Now()
	x.ctx, x.start, x.deadline = ctx, start, start.Add(x.limits.MaxDuration)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sandbox: execution cancelled: %w", context.Cause(ctx))
	}

	thread := threads.Get().(*starlark.Thread)
	thread.Name, thread.Print, thread.Load, thread.OnMaxSteps = "sandbox", threadPrint, nil, onMaxSteps
	thread.Steps = 0
	thread.Uncancel()
	thread.SetMaxExecutionSteps(min(x.limits.MaxSteps+1, tickSteps))
	thread.SetLocal(localKey, x)
	for _, l := range x.locals {
		thread.SetLocal(l.key, l.value)
	}
	defer func() {
		reuse := true
		if r := recover(); r != nil {
			err = &RuntimeError{Msg: fmt.Sprintf("internal error: %v", r), Backtrace: fmt.Sprintf("Error: internal error: %v", r)}
			reuse = false
		}
		if x.dcancel != nil {
			x.dcancel()
		}
		steps = thread.ExecutionSteps()
		if reuse {
			thread.SetLocal(localKey, nil)
			for _, l := range x.locals {
				thread.SetLocal(l.key, nil)
			}
			threads.Put(thread)
		}
	}()
	if err = f(thread); err != nil {
		err = x.classify(err, thread, time.Since(start))
	}
	return 0, err // steps is set by the deferred func
}

// onMaxSteps is every thread's OnMaxSteps hook: it fires each tickSteps
// steps to check the clock, and at the step limit.
func onMaxSteps(thread *starlark.Thread) {
	x := executionOf(thread)
	switch {
	case x == nil:
		thread.Cancel("no execution")
	case thread.Steps > x.limits.MaxSteps:
		x.stepsHit = true
		thread.Cancel("step limit")
	case time.Now().After(x.deadline):
		x.durationHit = true
		thread.Cancel("duration limit")
	case x.ctx.Err() != nil:
		thread.Cancel("cancelled")
	default:
		thread.SetMaxExecutionSteps(min(x.limits.MaxSteps+1, thread.Steps+tickSteps))
	}
}

// threadPrint is every thread's Print: print itself is replaced by
// builtinPrint, this catches any other use.
func threadPrint(thread *starlark.Thread, msg string) {
	if x := executionOf(thread); x != nil {
		_ = x.write(msg + "\n")
	}
}

// classify maps an evaluation error to the package's error types.
func (x *execution) classify(err error, thread *starlark.Thread, took time.Duration) error {
	var le *LimitError
	if errors.As(err, &le) {
		return le
	}
	if x.stepsHit {
		return &LimitError{Limit: LimitSteps, Max: x.limits.MaxSteps, Got: max(thread.ExecutionSteps(), x.limits.MaxSteps+1)}
	}
	if x.durationHit || (x.dctx != nil && context.Cause(x.dctx) == errDeadline) {
		return &LimitError{Limit: LimitDuration, Max: uint64(x.limits.MaxDuration), Got: uint64(max(took, x.limits.MaxDuration))}
	}
	if x.ctx.Err() != nil {
		return fmt.Errorf("sandbox: execution cancelled: %w", context.Cause(x.ctx))
	}
	var se *sizeError
	if errors.As(err, &se) {
		return &LimitError{Limit: LimitOutputSize, Max: uint64(x.limits.MaxOutputBytes), Got: uint64(x.out.Len() + se.size)}
	}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		return x.runtimeError(ee)
	}
	msg := x.truncate(err.Error())
	return &RuntimeError{Msg: msg, Backtrace: "Error: " + msg}
}

// runtimeError renders ee like EvalError.Backtrace, hiding the frames of
// the instrumentation's hidden builtins.
func (x *execution) runtimeError(ee *starlark.EvalError) *RuntimeError {
	stack := ee.CallStack
	suffix := ""
	if n := len(stack); n > 0 && stack[n-1].Pos.Filename() == "<builtin>" {
		if name := stack[n-1].Name; !isHidden(name) {
			suffix = " in " + name
		}
		stack = stack[:n-1]
	}
	msg := x.truncate(ee.Msg)
	return &RuntimeError{
		Msg:       msg,
		Backtrace: x.truncate(fmt.Sprintf("%sError%s: %s", stack, suffix, msg)),
	}
}

// truncate bounds error text, which may quote user values, to the output
// limit.
func (x *execution) truncate(s string) string {
	if n := x.limits.MaxOutputBytes; len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "..."
	}
	return s
}
