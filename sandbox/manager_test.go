package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/internal/wire"
	"github.com/otpbox/otpbox/testkit"
)

// node is one sandbox host under test: an actor system, a local cluster
// member and a store on disk.
type node struct {
	t      *testing.T
	closed bool
	kit    *testkit.Kit
	local  *sandbox.Local
	store  sandbox.Store
	dir    string
	ctx    context.Context
}

func startNode(t *testing.T, dir string, cfg sandbox.Config) *node {
	t.Helper()
	kit := testkit.New(t)
	store := openStore(t, dir)
	cfg.Store = store
	local, err := sandbox.StartLocal(kit.System(), cfg)
	require.NoError(t, err)
	n := &node{t: t, kit: kit, local: local, store: store, dir: dir, ctx: t.Context()}
	t.Cleanup(n.stop)
	return n
}

// stop shuts the member down and closes its store, like a process exit.
func (n *node) stop() {
	if n.closed {
		return
	}
	n.closed = true
	n.local.Shutdown()
	require.NoError(n.t, n.store.Close())
}

func newNode(t *testing.T) *node { return startNode(t, t.TempDir(), sandbox.Config{}) }

func (n *node) create(id string) *sandbox.Info {
	n.t.Helper()
	info, err := n.local.Create(n.ctx, id, sandbox.Requirements{})
	require.NoError(n.t, err)
	return info
}

func (n *node) exec(id, code string) *sandbox.Result {
	n.t.Helper()
	res, err := n.local.Execute(n.ctx, id, code)
	require.NoError(n.t, err, "executing %q", code)
	return res
}

func TestManagerLifecycle(t *testing.T) {
	n := newNode(t)
	info := n.create("sb-1")
	assert.Equal(t, "sb-1", info.ID)
	assert.Equal(t, sandbox.StateActive, info.State)
	assert.Equal(t, "local", info.Node)

	res := n.exec("sb-1", "x = 20\nprint('hello')\nx + 22")
	assert.Equal(t, "42", res.Value)
	assert.Equal(t, "hello\n", res.Output)
	assert.NotZero(t, res.Steps)
	assert.Equal(t, "21", n.exec("sb-1", "x + 1").Value, "globals persist")

	_, err := n.local.Create(n.ctx, "sb-1", sandbox.Requirements{})
	assert.ErrorIs(t, err, sandbox.ErrAlreadyExists)
	for _, bad := range []string{"", "has space", "slash/no", strings.Repeat("a", 65), "ünï"} {
		_, err := n.local.Create(n.ctx, bad, sandbox.Requirements{})
		assert.ErrorIs(t, err, sandbox.ErrInvalidID, "%q", bad)
	}
	_, err = n.local.Execute(n.ctx, "nope", "1")
	assert.ErrorIs(t, err, sandbox.ErrNotFound)
	testkit.Eventually(t, 3*time.Second, func() error {
		if a := n.local.Active(); a != 1 {
			return fmt.Errorf("%d activations, want only sb-1's: an unknown id must not linger", a)
		}
		return nil
	})

	info, err = n.local.Restart(n.ctx, "sb-1")
	require.NoError(t, err)
	assert.Zero(t, info.Executions)
	_, err = n.local.Execute(n.ctx, "sb-1", "x")
	var se *sandbox.SyntaxError
	assert.ErrorAs(t, err, &se, "a restart gives a fresh session: x is undefined")

	list, err := n.local.List(n.ctx, sandbox.Filter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = n.local.List(n.ctx, sandbox.Filter{Node: "elsewhere"})
	assert.ErrorIs(t, err, sandbox.ErrUnknownNode)

	require.NoError(t, n.local.Terminate(n.ctx, "sb-1"))
	_, err = n.local.Info(n.ctx, "sb-1")
	assert.ErrorIs(t, err, sandbox.ErrNotFound)
	entries, err := n.store.Load(n.ctx, "sb-1")
	require.NoError(t, err)
	assert.Empty(t, entries, "the journal is deleted with the sandbox")
	assert.ErrorIs(t, n.local.Terminate(n.ctx, "sb-1"), sandbox.ErrNotFound)
}

func TestManagerErrorsAreStructured(t *testing.T) {
	n := newNode(t)
	n.create("e")
	_, err := n.local.Execute(n.ctx, "e", "x = (")
	var se *sandbox.SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 1, se.Line)

	_, err = n.local.Execute(n.ctx, "e", "def f():\n  return 1 // 0\nf()")
	var re *sandbox.RuntimeError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Backtrace, "f")

	_, err = n.local.Execute(n.ctx, "e", "while True:\n  pass")
	var le *sandbox.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, sandbox.LimitSteps, le.Limit)
	assert.Equal(t, "2", n.exec("e", "1 + 1").Value, "the sandbox stays usable")
}

func TestPassivationAndReactivation(t *testing.T) {
	n := newNode(t)
	n.create("p")
	n.exec("p", "counter = [1, 2]\ncounter.append(3)")
	require.NoError(t, n.local.Passivate(n.ctx, "p"))
	testkit.Eventually(t, 3*time.Second, func() error {
		if n.local.Active() != 0 {
			return errors.New("still active")
		}
		return nil
	})
	info, err := n.local.Info(n.ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, sandbox.StatePassivated, info.State)

	assert.Equal(t, "[1, 2, 3]", n.exec("p", "counter").Value, "reactivated from the journal")
	assert.Equal(t, 1, n.local.Active())
}

func TestIdlePassivation(t *testing.T) {
	n := startNode(t, t.TempDir(), sandbox.Config{IdleTimeout: 50 * time.Millisecond})
	n.create("idle")
	n.exec("idle", "v = 7")
	testkit.Eventually(t, 5*time.Second, func() error {
		if n.local.Active() != 0 {
			return errors.New("not passivated yet")
		}
		return nil
	})
	assert.Equal(t, "7", n.exec("idle", "v").Value)
}

func TestStateSurvivesProcessRestart(t *testing.T) {
	dir := t.TempDir()
	first := startNode(t, dir, sandbox.Config{})
	first.create("keep")
	first.exec("keep", "a = {'k': 1}\na['j'] = 2")
	first.stop() // the whole member and its store go away

	second := startNode(t, dir, sandbox.Config{})
	assert.Equal(t, `{"k": 1, "j": 2}`, second.exec("keep", "a").Value)
}

func TestDrainPassivatesEverySandbox(t *testing.T) {
	n := newNode(t)
	for _, id := range []string{"d1", "d2", "d3"} {
		n.create(id)
		n.exec(id, "n = '"+id+"'")
	}
	require.NoError(t, n.local.Drain(n.ctx))
	testkit.Eventually(t, 3*time.Second, func() error {
		if a := n.local.Active(); a != 0 {
			return errors.New("active sandboxes remain")
		}
		return nil
	})
	assert.Equal(t, `"d2"`, n.exec("d2", "n").Value)
}

// TestPassivateIdleLeastRecentFirst: under memory pressure the least
// recently called sandboxes passivate first, and come back intact.
func TestPassivateIdleLeastRecentFirst(t *testing.T) {
	n := newNode(t)
	for _, id := range []string{"s1", "s2", "s3"} {
		n.create(id)
		n.exec(id, "v = '"+id+"'")
	}
	n.exec("s1", "v") // s1 is now the most recent
	done, err := n.local.PassivateIdle(n.ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, 2, done)
	testkit.Eventually(t, 3*time.Second, func() error {
		if a := n.local.Active(); a != 1 {
			return fmt.Errorf("%d active, want 1", a)
		}
		return nil
	})
	info, err := n.local.Info(n.ctx, "s1")
	require.NoError(t, err)
	assert.Equal(t, sandbox.StateActive, info.State, "the most recent one stays")
	assert.Equal(t, `"s2"`, n.exec("s2", "v").Value)
}

// A call retried with the same request id (its first attempt journaled,
// the answer lost with its member) is answered from the journal, also by a
// new activation, instead of running twice.
func TestRetriedExecutionRunsOnce(t *testing.T) {
	n := newNode(t)
	n.create("r")
	_, err := n.local.Execute(n.ctx, "r", "n = 0")
	require.NoError(t, err)
	exec := func(reqID string) *wire.ExecResult {
		t.Helper()
		pid := n.local.Cluster.Get("r", sandbox.Kind)
		require.NotNil(t, pid)
		res, err := n.kit.System().Root.RequestFuture(pid, &wire.Exec{Code: "n += 1\nn", RequestId: reqID}, 5*time.Second).Result()
		require.NoError(t, err)
		r, ok := res.(*wire.ExecResult)
		require.True(t, ok, "%T", res)
		require.Nil(t, r.Failure)
		return r
	}
	assert.Equal(t, "1", exec("call-1").Value)
	assert.Equal(t, "1", exec("call-1").Value, "the retry is answered, not run")
	assert.Equal(t, "2", exec("call-2").Value)

	require.NoError(t, n.local.Passivate(n.ctx, "r"))
	assert.Equal(t, "1", exec("call-1").Value, "a new activation knows the id from the journal")
	res, err := n.local.Execute(n.ctx, "r", "n")
	require.NoError(t, err)
	assert.Equal(t, "2", res.Value)
	entries, err := n.store.Load(n.ctx, "r")
	require.NoError(t, err)
	assert.Len(t, entries, 4, "n = 0, two increments, and the read")
}

// TestShutdownLeavesTheSystem: a member stops what it started and nothing
// else. The actor system it was given goes on serving, and its owner
// shuts it down after (the order of two defers) without a panic.
func TestShutdownLeavesTheSystem(t *testing.T) {
	kit := testkit.New(t)
	store := openStore(t, t.TempDir())
	defer store.Close()
	local, err := sandbox.StartLocal(kit.System(), sandbox.Config{Store: store})
	require.NoError(t, err)
	_, err = local.Create(t.Context(), "s", sandbox.Requirements{})
	require.NoError(t, err)
	local.Shutdown()
	local.Shutdown()
	require.False(t, kit.System().IsStopped(), "Shutdown stopped the caller's actor system")

	pid := kit.System().Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			c.Respond(s + "!")
		}
	}))
	got, err := kit.System().Root.RequestFuture(pid, "still here", 5*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, "still here!", got)
	kit.System().Shutdown()
}

// TestShutdownAfterTheSystem: the owner stopped the system first (the
// other order of the two defers); the member's Shutdown still returns.
func TestShutdownAfterTheSystem(t *testing.T) {
	kit := testkit.New(t)
	store := openStore(t, t.TempDir())
	defer store.Close()
	local, err := sandbox.StartLocal(kit.System(), sandbox.Config{Store: store})
	require.NoError(t, err)
	kit.System().Shutdown()
	local.Shutdown()
}

// TestCallsQueuedOnAStoppedActivation: calls queued on an activation that
// is stopped under them (protoactor drops a stopped actor's mailbox) are
// told at once and go to the next activation: every call is answered,
// each applied once.
func TestCallsQueuedOnAStoppedActivation(t *testing.T) {
	n := newNode(t)
	n.create("q")
	n.exec("q", "n = 0")
	system := n.kit.System()
	const rounds, calls = 20, 4
	for range rounds {
		pid, ok := n.local.Directory().Lookup(sandbox.Kind, "q")
		if !ok {
			n.exec("q", "n") // activate
			pid, _ = n.local.Directory().Lookup(sandbox.Kind, "q")
		}
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		errs := make(chan error, calls)
		for range calls {
			go func() {
				_, err := n.local.Execute(ctx, "q", "n += 1")
				errs <- err
			}()
		}
		system.Root.Stop(pid)
		for range calls {
			require.NoError(t, <-errs, "answered, not left waiting for the timeout")
		}
		cancel()
	}
	assert.Equal(t, fmt.Sprint(rounds*calls), n.exec("q", "n").Value, "each call applied once")
}

// TestWarmActivations: with Config.WarmActivations, creates and
// reactivations take activations spawned ahead, sandboxes behave as
// without them, and Shutdown stops the pool (the Kit checks for leaks).
func TestWarmActivations(t *testing.T) {
	n := startNode(t, t.TempDir(), sandbox.Config{WarmActivations: 4})
	dir := n.local.Directory()
	assert.Equal(t, 4, dir.WarmCount(sandbox.Kind))

	n.create("w")
	n.exec("w", "counter = [1, 2]\ncounter.append(3)")
	require.NoError(t, n.local.Passivate(n.ctx, "w"))
	assert.Equal(t, "[1, 2, 3]", n.exec("w", "counter").Value, "reactivated from the journal")
	taken, _ := dir.WarmStats()
	assert.Equal(t, uint64(2), taken, "the create and the reactivation")

	// Other limits than the defaults a warm activation prepared for.
	_, err := n.local.Create(n.ctx, "small", sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 100}})
	require.NoError(t, err)
	_, err = n.local.Execute(n.ctx, "small", "[x for x in range(1000)]")
	require.ErrorIs(t, err, sandbox.ErrLimitExceeded, "the sandbox's own limits")

	testkit.Eventually(t, 3*time.Second, func() error {
		if c := dir.WarmCount(sandbox.Kind); c != 4 {
			return fmt.Errorf("%d warm activations", c)
		}
		return nil
	})
	n.stop()
	assert.Zero(t, dir.WarmCount(sandbox.Kind))
}

// TestInfoAsItsJSON: a caller in the process gets the Info the grain
// made, not its JSON; it must be what the JSON reads back as.
func TestInfoAsItsJSON(t *testing.T) {
	n := newNode(t)
	created := n.create("i")
	n.exec("i", "x = 1")
	info, err := n.local.Info(n.ctx, "i")
	require.NoError(t, err)
	for _, in := range []*sandbox.Info{created, info} {
		raw, err := json.Marshal(in)
		require.NoError(t, err)
		var back sandbox.Info
		require.NoError(t, json.Unmarshal(raw, &back))
		assert.Equal(t, &back, in)
	}
}
