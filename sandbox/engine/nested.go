package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.starlark.net/starlark"
)

// Local is a thread-local value that [CallIn] sets on the thread it runs.
type Local struct {
	Key   string
	Value any
}

var errNoExecution = errors.New("sandbox: CallIn outside an execution")

// CallIn calls fn on a fresh thread that runs as part of the execution
// running on thread: it draws on the same step budget, deadline and
// output, sees the same thread locals plus locals, and its steps count on
// thread when it returns. Builtins use it to run code on behalf of another
// party while the execution goes on (the handlers of a sandbox's
// processes). A fresh thread keeps Starlark's recursion check per party:
// two processes may run the same function at once.
//
// It returns fn's value, or an error classified as Execute's are. When the
// execution itself is over (see [Exhausted]) the error is the one that
// ends it; the caller must return it unchanged, so that the execution
// stops.
func CallIn(thread *starlark.Thread, fn starlark.Value, args starlark.Tuple, locals ...Local) (v starlark.Value, err error) {
	x := executionOf(thread)
	if x == nil {
		return nil, errNoExecution
	}
	if err := x.exhausted(thread); err != nil {
		return nil, err
	}
	t := threads.Get().(*starlark.Thread)
	t.Name, t.Print, t.Load, t.OnMaxSteps = thread.Name, threadPrint, nil, onMaxSteps
	t.Uncancel()
	t.Steps = thread.Steps
	t.SetMaxExecutionSteps(min(x.limits.MaxSteps+1, t.Steps+tickSteps))
	t.SetLocal(localKey, x)
	for _, l := range x.locals {
		t.SetLocal(l.key, l.value)
	}
	for _, l := range locals {
		t.SetLocal(l.Key, l.Value)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &RuntimeError{Msg: fmt.Sprintf("internal error: %v", r), Backtrace: fmt.Sprintf("Error: internal error: %v", r)}
		}
		thread.Steps = max(thread.Steps, t.Steps)
		t.SetLocal(localKey, nil)
		for _, l := range x.locals {
			t.SetLocal(l.key, nil)
		}
		for _, l := range locals {
			t.SetLocal(l.Key, nil)
		}
		threads.Put(t)
	}()
	v, err = starlark.Call(t, fn, args, nil)
	if err != nil {
		if over := x.exhausted(t); over != nil {
			return nil, over
		}
		return nil, x.classify(err, t, time.Since(x.start))
	}
	return v, nil
}

// Exhausted returns the error that ends the execution running on thread
// when its step budget, wall-clock limit or output limit is used up or
// its context is done, and nil while it may go on. Builtins that loop
// without running Starlark (a scheduler, say) call it between units of
// work: the interpreter checks the clock only every few thousand steps.
func Exhausted(thread *starlark.Thread) error {
	x := executionOf(thread)
	if x == nil {
		return nil
	}
	return x.exhausted(thread)
}

func (x *execution) exhausted(thread *starlark.Thread) error {
	switch {
	case x.stepsHit || thread.Steps > x.limits.MaxSteps:
		x.stepsHit = true
		return &LimitError{Limit: LimitSteps, Max: x.limits.MaxSteps, Got: max(thread.Steps, x.limits.MaxSteps+1)}
	case x.outputHit:
		return &LimitError{Limit: LimitOutputSize, Max: uint64(x.limits.MaxOutputBytes), Got: uint64(x.limits.MaxOutputBytes + 1)}
	case x.durationHit || time.Now().After(x.deadline):
		x.durationHit = true
		took := max(time.Since(x.start), x.limits.MaxDuration)
		return &LimitError{Limit: LimitDuration, Max: uint64(x.limits.MaxDuration), Got: uint64(took)}
	case x.ctx.Err() != nil:
		return fmt.Errorf("sandbox: execution cancelled: %w", context.Cause(x.ctx))
	}
	return nil
}
