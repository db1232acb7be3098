package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
)

// counterTree is the README's supervision example.
const counterTree = otptest.ReadmeTree

// watchDeadline bounds every wait for an event.
const watchDeadline = 10 * time.Second

// next returns the subscription's next event, failing the test if none
// comes within the deadline or the subscription ended.
func next(t *testing.T, s *sandbox.Subscription) sandbox.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), watchDeadline)
	defer cancel()
	e, err := s.Next(ctx)
	require.NoError(t, err, "no event within the deadline")
	return e
}

// until reads events until one satisfies ok, and returns those it read,
// that one last.
func until(t *testing.T, s *sandbox.Subscription, ok func(sandbox.Event) bool) []sandbox.Event {
	t.Helper()
	var seen []sandbox.Event
	for {
		e := next(t, s)
		seen = append(seen, e)
		if ok(e) {
			return seen
		}
	}
}

func ofType(typ string) func(sandbox.Event) bool {
	return func(e sandbox.Event) bool { return e.Type == typ }
}

func types(evs []sandbox.Event) []string {
	var out []string
	for _, e := range evs {
		s := e.Type
		if e.Change != "" {
			s += ":" + e.Change
		}
		out = append(out, s)
	}
	return out
}

func TestWatchSeesExecutionsTreeChangesAndActions(t *testing.T) {
	n := newNode(t)
	n.create("w")
	s, err := n.local.Watch(n.ctx, "w", sandbox.WatchOptions{Viewer: "alice"})
	require.NoError(t, err)
	defer s.Close()

	hello := next(t, s)
	require.Equal(t, sandbox.EventHello, hello.Type)
	assert.Equal(t, n.local.Node(), hello.Node)
	assert.Nil(t, hello.Tree.Root, "no tree yet")

	ctx := sandbox.WithViewer(n.ctx, "alice")
	_, err = n.local.Execute(ctx, "w", counterTree)
	require.NoError(t, err)
	evs := until(t, s, ofType(sandbox.EventSnapshot))
	exec := evs[indexOf(evs, sandbox.EventExec)]
	assert.Equal(t, "alice", exec.By)
	assert.Contains(t, exec.Code, "start_supervisor")
	assert.Contains(t, types(evs), "tree:started")
	snap := evs[len(evs)-1]
	require.NotNil(t, snap.Tree.Root)
	tree1 := snap.Tree.Root.Children[0]
	assert.Equal(t, "one_for_one", tree1.Strategy)
	worker := tree1.Children[0]
	assert.Equal(t, "c", worker.ID)

	// A crash: the exec, the message the worker handled, its exit and
	// restart, and the tree after.
	_, err = n.local.Execute(n.ctx, "w", `cast(whereis(sup, "c"), "crash")`)
	require.NoError(t, err)
	evs = until(t, s, ofType(sandbox.EventSnapshot))
	assert.Equal(t, []string{"exec", "trace", "tree:exited", "tree:started", "tree:restarted", "snapshot"}, types(evs))
	assert.Equal(t, "cast", evs[1].Kind)
	assert.Equal(t, `"crash"`, evs[1].Value)
	assert.Equal(t, worker.PID, evs[2].PID)
	assert.Equal(t, "tree1/c", evs[2].Path)
	assert.Contains(t, evs[2].Reason, "boom")
	assert.Equal(t, "c", evs[4].ChildID)
	restarted := evs[3].PID
	assert.NotEqual(t, worker.PID, restarted)

	// A process action by path runs as code, journaled; its watchers see
	// the code.
	res, err := n.local.Act(ctx, "w", sandbox.ProcessAction{Action: sandbox.ActionKill, Path: "tree1/c"})
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("kill(pid(%q))", restarted), res.Code)
	evs = until(t, s, ofType(sandbox.EventSnapshot))
	assert.Equal(t, []string{"exec", "tree:exited", "tree:started", "tree:restarted", "snapshot"}, types(evs))
	assert.Equal(t, res.Code, evs[0].Code)
	assert.Equal(t, "killed", evs[1].Reason)

	// The process's details, by path and by pid.
	info, err := n.local.Process(n.ctx, "w", "", "tree1/c")
	require.NoError(t, err)
	assert.Equal(t, "c", info.ID)
	assert.Equal(t, "worker", info.Type)
	assert.Equal(t, "0", info.State)
	require.Len(t, info.Restarts, 2)
	byPid, err := n.local.Process(n.ctx, "w", info.PID, "")
	require.NoError(t, err)
	assert.Equal(t, info, byPid)
	sup, err := n.local.Process(n.ctx, "w", "", "tree1")
	require.NoError(t, err)
	assert.Equal(t, "one_for_one", sup.Strategy)
	assert.Equal(t, 1, sup.Children)

	// Terminate and restart a child by path.
	res, err = n.local.Act(n.ctx, "w", sandbox.ProcessAction{Action: sandbox.ActionTerminate, Path: "tree1/c"})
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("terminate_child(pid(%q), \"c\")", tree1.PID), res.Code)
	evs = until(t, s, ofType(sandbox.EventSnapshot))
	assert.Contains(t, types(evs), "tree:terminated")
	assert.Equal(t, "undefined", evs[len(evs)-1].Tree.Root.Children[0].Children[0].Status)
	_, err = n.local.Act(n.ctx, "w", sandbox.ProcessAction{Action: sandbox.ActionRestart, Path: "tree1/c"})
	require.NoError(t, err)
	evs = until(t, s, ofType(sandbox.EventSnapshot))
	assert.Contains(t, types(evs), "tree:started")

	// The actions replay: the state after a restart of the node's
	// activation is the same.
	require.NoError(t, n.local.Passivate(n.ctx, "w"))
	again, err := n.local.Process(n.ctx, "w", "", "tree1/c")
	require.NoError(t, err)
	assert.Len(t, again.Restarts, 2)
}

func indexOf(evs []sandbox.Event, typ string) int {
	for i, e := range evs {
		if e.Type == typ {
			return i
		}
	}
	return -1
}

func TestProcessErrors(t *testing.T) {
	n := newNode(t)
	n.create("p")
	n.exec("p", counterTree)
	for _, c := range []struct {
		name string
		a    sandbox.ProcessAction
		want error
	}{
		{"no such pid", sandbox.ProcessAction{Action: "kill", PID: "<0.99.0>"}, sandbox.ErrNoProcess},
		{"no such path", sandbox.ProcessAction{Action: "kill", Path: "tree1/x"}, sandbox.ErrNoProcess},
		{"malformed pid", sandbox.ProcessAction{Action: "kill", PID: "7"}, sandbox.ErrNoProcess},
		{"neither", sandbox.ProcessAction{Action: "kill"}, sandbox.ErrInvalidProcess},
		{"both", sandbox.ProcessAction{Action: "kill", PID: "<0.3.0>", Path: "tree1/c"}, sandbox.ErrInvalidProcess},
		{"unknown action", sandbox.ProcessAction{Action: "explode", Path: "tree1/c"}, sandbox.ErrInvalidProcess},
		{"exit without reason", sandbox.ProcessAction{Action: "exit", Path: "tree1/c"}, sandbox.ErrInvalidProcess},
		{"reason for kill", sandbox.ProcessAction{Action: "kill", Path: "tree1/c", Reason: "x"}, sandbox.ErrInvalidProcess},
		{"terminate a tree", sandbox.ProcessAction{Action: "terminate", Path: "tree1"}, sandbox.ErrNoProcess},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := n.local.Act(n.ctx, "p", c.a)
			assert.ErrorIs(t, err, c.want)
		})
	}
	// Restarting a running child is the code's own error.
	_, err := n.local.Act(n.ctx, "p", sandbox.ProcessAction{Action: "restart", Path: "tree1/c"})
	var re *sandbox.RuntimeError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Msg, "running")
	_, err = n.local.Process(n.ctx, "p", "", "")
	assert.ErrorIs(t, err, sandbox.ErrInvalidProcess)
	_, err = n.local.Process(n.ctx, "nope", "<0.3.0>", "")
	assert.ErrorIs(t, err, sandbox.ErrNotFound)
	// An exit with a reason the supervisor restarts on.
	res, err := n.local.Act(n.ctx, "p", sandbox.ProcessAction{Action: "exit", Path: "tree1/c", Reason: `it's "odd"`})
	require.NoError(t, err)
	assert.Equal(t, `exit(pid("<0.3.0>"), "it's \"odd\"")`, res.Code)
	recs, err := n.local.Restarts(n.ctx, "p")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, `it's "odd"`, recs[0].Reason)
}

func TestWatchersSeeEachOther(t *testing.T) {
	n := newNode(t)
	n.create("c")
	a, err := n.local.Watch(n.ctx, "c", sandbox.WatchOptions{Viewer: "alice"})
	require.NoError(t, err)
	defer a.Close()
	next(t, a) // hello
	b, err := n.local.Watch(n.ctx, "c", sandbox.WatchOptions{Viewer: "bob"})
	require.NoError(t, err)
	hello := next(t, b)
	names := func(vs []sandbox.Viewer) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	assert.Contains(t, names(hello.Viewers), "alice")
	evs := until(t, a, func(e sandbox.Event) bool {
		return e.Type == sandbox.EventPresence && len(e.Viewers) == 2
	})
	assert.ElementsMatch(t, []string{"alice", "bob"}, names(evs[len(evs)-1].Viewers))

	// bob's execution reaches alice.
	_, err = n.local.Execute(sandbox.WithViewer(n.ctx, "bob"), "c", "x = 41\nx + 1")
	require.NoError(t, err)
	exec := until(t, a, ofType(sandbox.EventExec))
	assert.Equal(t, "bob", exec[len(exec)-1].By)
	assert.Equal(t, "42", exec[len(exec)-1].Value)

	// bob leaves: alice sees it.
	b.Close()
	until(t, a, func(e sandbox.Event) bool {
		return e.Type == sandbox.EventPresence && len(e.Viewers) == 1 && e.Viewers[0].Name == "alice"
	})
	// A failed execution is an exec event with the problem.
	_, err = n.local.Execute(n.ctx, "c", "1 / 0")
	require.Error(t, err)
	failed := until(t, a, ofType(sandbox.EventExec))
	e := failed[len(failed)-1]
	require.NotNil(t, e.Error)
	assert.Equal(t, "runtime_error", e.Error.Kind)
	assert.Equal(t, 1, e.Error.Line)
}

func TestWatchResumesAndTellsGaps(t *testing.T) {
	n := newNode(t)
	n.create("r")
	s, err := n.local.Watch(n.ctx, "r", sandbox.WatchOptions{})
	require.NoError(t, err)
	next(t, s)
	n.exec("r", "n = 0")
	first := next(t, s)
	require.Equal(t, sandbox.EventExec, first.Type)
	s.Close()

	for i := 0; i < 3; i++ {
		n.exec("r", "n += 1")
	}
	// Resumed after the first: the three it missed, in order, no gap.
	s, err = n.local.Watch(n.ctx, "r", sandbox.WatchOptions{LastID: first.ID})
	require.NoError(t, err)
	assert.Equal(t, sandbox.EventHello, next(t, s).Type)
	for i := 0; i < 3; i++ {
		e := next(t, s)
		assert.Equal(t, sandbox.EventExec, e.Type)
		assert.Equal(t, "n += 1", e.Code)
	}
	s.Close()

	// An id older than what is kept: a gap that says how many were lost.
	for i := 0; i < 300; i++ {
		n.exec("r", "n += 1")
	}
	s, err = n.local.Watch(n.ctx, "r", sandbox.WatchOptions{LastID: first.ID})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, sandbox.EventHello, next(t, s).Type)
	gap := next(t, s)
	require.Equal(t, sandbox.EventGap, gap.Type)
	assert.Greater(t, gap.Missed, int64(0))
	assert.Equal(t, sandbox.EventExec, next(t, s).Type)
}

func TestSlowWatcherMissesEventsNotTheSandbox(t *testing.T) {
	n := newNode(t)
	n.create("slow")
	slow, err := n.local.Watch(n.ctx, "slow", sandbox.WatchOptions{})
	require.NoError(t, err)
	defer slow.Close()
	fast, err := n.local.Watch(n.ctx, "slow", sandbox.WatchOptions{})
	require.NoError(t, err)
	defer fast.Close()
	next(t, fast)
	const execs = sandbox.SubscriptionBuffer + 100
	n.exec("slow", "n = 0")
	for i := 1; i < execs; i++ {
		n.exec("slow", "n += 1")
		next(t, fast) // the fast one keeps up
	}
	// The slow one (never read until now) got its buffer's worth, then
	// one gap for what it missed.
	var got, missed int64
	for got+missed < execs {
		e := next(t, slow)
		switch e.Type {
		case sandbox.EventExec:
			got++
		case sandbox.EventGap:
			missed += e.Missed
		}
	}
	assert.Positive(t, missed)
	assert.Equal(t, int64(execs), got+missed)
}

func TestWatchAcrossPassivationAndTermination(t *testing.T) {
	n := newNode(t)
	n.create("p")
	s, err := n.local.Watch(n.ctx, "p", sandbox.WatchOptions{})
	require.NoError(t, err)
	defer s.Close()
	next(t, s)
	require.NoError(t, n.local.Passivate(n.ctx, "p"))
	e := next(t, s)
	assert.Equal(t, sandbox.EventPassivated, e.Type)

	// The watch does not wake it; an execution does, and the watcher
	// learns of the new activation and of the execution it could not see.
	n.exec("p", "x = 1")
	evs := until(t, s, ofType(sandbox.EventSnapshot))
	assert.Equal(t, []string{"activated", "gap", "snapshot"}, types(evs))
	assert.Equal(t, int64(1), evs[1].Missed)
	n.exec("p", "x = 2")
	assert.Equal(t, "x = 2", next(t, s).Code)

	_, err = n.local.Restart(n.ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, []string{"restarted", "snapshot"}, types([]sandbox.Event{next(t, s), next(t, s)}))
	require.NoError(t, n.local.Terminate(n.ctx, "p"))
	assert.Equal(t, sandbox.EventTerminated, next(t, s).Type)
	ctx, cancel := context.WithTimeout(n.ctx, watchDeadline)
	defer cancel()
	_, err = s.Next(ctx)
	assert.ErrorIs(t, err, sandbox.ErrEnded, "the stream ends after terminated")
	_, err = n.local.Watch(n.ctx, "p", sandbox.WatchOptions{})
	assert.True(t, errors.Is(err, sandbox.ErrNotFound), "%v", err)
}

// TestExecEventsAreBounded: an execution's code, value and output are cut
// to EventTextBytes in its event, on a character boundary, and the event
// says so.
func TestExecEventsAreBounded(t *testing.T) {
	n := newNode(t)
	n.create("big")
	s, err := n.local.Watch(n.ctx, "big", sandbox.WatchOptions{})
	require.NoError(t, err)
	defer s.Close()
	next(t, s)
	code := "# " + strings.Repeat("é", sandbox.EventTextBytes) + "\n'ü' * 5000"
	n.exec("big", code)
	e := next(t, s)
	require.Equal(t, sandbox.EventExec, e.Type)
	assert.True(t, e.Truncated)
	assert.LessOrEqual(t, len(e.Code), sandbox.EventTextBytes)
	assert.True(t, utf8.ValidString(e.Code), "cut on a character boundary")
	assert.Equal(t, strings.Repeat("ü", 5000)[:len(e.Value)-1], e.Value[1:], "the value's start is kept")
}
