package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/testkit"
)

// TestStuckExecutionIsAbandoned stands in for an interpreter path that no
// limit can interrupt with a builtin that blocks until released: the
// caller gives up at its deadline, the host reports the sandbox stuck,
// the next call gets a fresh activation from the journal, and the stuck
// execution, once it ends, leaves no trace.
func TestStuckExecutionIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	block := starlark.NewBuiltin("block", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		<-release
		return starlark.None, nil
	})
	n := startNode(t, t.TempDir(), sandbox.Config{Builtins: starlark.StringDict{"block": block}})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	_, err := n.local.Create(n.ctx, "s", sandbox.Requirements{Limits: sandbox.Limits{MaxDuration: 20 * time.Millisecond}})
	require.NoError(t, err)
	n.exec("s", "x = 1")

	ctx, cancel := context.WithTimeout(n.ctx, 1500*time.Millisecond)
	defer cancel()
	_, err = n.local.Execute(ctx, "s", "x = 2\nblock()")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, []string{"s"}, n.local.Stuck(), "past its 20 ms limit by more than a second")

	assert.Equal(t, "1", n.exec("s", "x").Value, "a fresh activation, from the journal")
	close(release)
	testkit.Eventually(t, 5*time.Second, func() error {
		if len(n.local.Stuck()) != 0 {
			return errors.New("still stuck")
		}
		return nil
	})
	assert.Equal(t, "2", n.exec("s", "x + 1").Value, "the stuck execution was dropped")
}

// TestCallerCancelEndsExecution: a caller that goes away (a client that
// hung up, Ctrl-C in the REPL) ends its execution instead of leaving it
// to run to its limit; the execution leaves nothing behind and the
// sandbox takes the next call at once.
func TestCallerCancelEndsExecution(t *testing.T) {
	started := make(chan struct{}, 1)
	signal := starlark.NewBuiltin("started", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		started <- struct{}{}
		return starlark.None, nil
	})
	// wait blocks until the execution's context ends: only the caller's
	// cancel can end it before the 30 s limit.
	wait := starlark.NewBuiltin("wait", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		ctx := engine.Context(th)
		<-ctx.Done()
		return nil, context.Cause(ctx)
	})
	n := startNode(t, t.TempDir(), sandbox.Config{Builtins: starlark.StringDict{"started": signal, "wait": wait}})
	_, err := n.local.Create(n.ctx, "s", sandbox.Requirements{Limits: sandbox.Limits{MaxDuration: 30 * time.Second, MaxSteps: 1e8}})
	require.NoError(t, err)
	n.exec("s", "x = 1")

	ctx, cancel := context.WithCancel(n.ctx)
	done := make(chan error, 1)
	go func() {
		_, err := n.local.Execute(ctx, "s", "x = 2\nstarted()\nwait()")
		done <- err
	}()
	<-started
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// Were the execution still waiting, this call would wait behind it
	// until its 30 s limit: its deadline is shorter than that, and far
	// longer than a call to an idle sandbox.
	next, stop := context.WithTimeout(n.ctx, 2*time.Second)
	defer stop()
	res, err := n.local.Execute(next, "s", "x")
	require.NoError(t, err)
	assert.Equal(t, "1", res.Value, "the cancelled execution left nothing")
}
