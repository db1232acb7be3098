package sandbox_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/testkit"
)

// counterWorker is a Starlark gen_server: call "inc" adds one and answers
// the new count; cast "crash" fails.
const counterWorker = `
def init(args):
    return 0

def handle_call(msg, state):
    return (state + 1, state + 1)

def handle_cast(msg, state):
    if msg == "crash":
        fail("boom")
    return state

counter = worker(init=init, handle_call=handle_call, handle_cast=handle_cast)
`

// tree returns the sandbox's tree, with the first tree under the root.
func (n *node) tree(id string) *sandbox.Node {
	n.t.Helper()
	tr, err := n.local.Tree(n.ctx, id)
	require.NoError(n.t, err)
	require.NotNil(n.t, tr.Root)
	return tr.Root
}

// pids returns the pid of each child of the first tree, by id.
func (n *node) pids(id string) map[string]string {
	n.t.Helper()
	root := n.tree(id)
	out := map[string]string{}
	if len(root.Children) == 0 {
		return out
	}
	for _, c := range root.Children[0].Children {
		out[c.ID] = c.PID
	}
	return out
}

// awaitNewPID waits until child's pid differs from old (and is running).
func (n *node) awaitNewPID(id, child, old string) map[string]string {
	n.t.Helper()
	var pids map[string]string
	testkit.Eventually(n.t, 5*time.Second, func() error {
		pids = n.pids(id)
		if p := pids[child]; p == "" || p == old {
			return fmt.Errorf("%s not restarted yet: %v", child, pids)
		}
		return nil
	})
	return pids
}

func TestOTPOneForOneRestartsCrashedWorkerWithFreshState(t *testing.T) {
	n := newNode(t)
	n.create("o")
	n.exec("o", counterWorker+`
sup = start_supervisor(supervisor(strategy="one_for_one", intensity=3, period=5,
                                  children=[{"id": "c", "start": counter}]))
p = whereis(sup, "c")
call(p, "inc")
`)
	assert.Equal(t, "2", n.exec("o", `call(p, "inc")`).Value)
	old := n.pids("o")["c"]
	n.exec("o", `cast(p, "crash")`)
	n.awaitNewPID("o", "c", old)
	assert.Equal(t, "1", n.exec("o", `call(whereis(sup, "c"), "inc")`).Value, "the restarted worker starts from init")

	restarts, err := n.local.Restarts(n.ctx, "o")
	require.NoError(t, err)
	require.Len(t, restarts, 1)
	assert.Equal(t, "c", restarts[0].ChildID)
	assert.Contains(t, restarts[0].Reason, "boom")

	trace, err := n.local.Trace(n.ctx, "o")
	require.NoError(t, err)
	require.NotEmpty(t, trace)
}

func TestOTPRestForOneOrdering(t *testing.T) {
	n := newNode(t)
	n.create("r")
	n.exec("r", counterWorker+`
sup = start_supervisor(supervisor(strategy="rest_for_one", intensity=3, period=5, children=[
    {"id": "a", "start": counter}, {"id": "b", "start": counter}, {"id": "c", "start": counter}]))
`)
	before := n.pids("r")
	n.exec("r", `cast(whereis(sup, "b"), "crash")`)
	after := n.awaitNewPID("r", "b", before["b"])
	testkit.Eventually(t, 5*time.Second, func() error {
		after = n.pids("r")
		if after["c"] == before["c"] || after["c"] == "" {
			return errors.New("c not restarted yet")
		}
		return nil
	})
	assert.Equal(t, before["a"], after["a"], "a started before b: untouched")
	assert.NotEqual(t, before["b"], after["b"])
	assert.NotEqual(t, before["c"], after["c"], "c started after b: restarted")
}

func TestOTPIntensityExceededTearsTheTreeDown(t *testing.T) {
	n := newNode(t)
	n.create("i")
	n.exec("i", counterWorker+`
sup = start_supervisor(supervisor(intensity=0, period=5, children=[{"id": "c", "start": counter}]))
cast(whereis(sup, "c"), "crash")
`)
	testkit.Eventually(t, 5*time.Second, func() error {
		if root := n.tree("i"); len(root.Children) != 0 {
			return errors.New("tree still up")
		}
		return nil
	})
	// The crash did not escape the sandbox: it still runs code and trees.
	assert.Equal(t, "2", n.exec("i", "1 + 1").Value)
	n.exec("i", `sup2 = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))`)
	assert.Equal(t, "1", n.exec("i", `call(whereis(sup2, "c"), "inc")`).Value)
}

func TestOTPActorLimit(t *testing.T) {
	n := newNode(t)
	_, err := n.local.Create(n.ctx, "a", sandbox.Requirements{Limits: sandbox.Limits{MaxActors: 2}})
	require.NoError(t, err)
	n.exec("a", counterWorker+`sup = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": counter}]))`)
	n.exec("a", "start_child(sup, ())\nstart_child(sup, ())")
	_, err = n.local.Execute(n.ctx, "a", "start_child(sup, ())")
	var le *sandbox.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, sandbox.LimitActors, le.Limit)
}

func TestOTPMailboxLimit(t *testing.T) {
	n := newNode(t)
	_, err := n.local.Create(n.ctx, "m", sandbox.Requirements{Limits: sandbox.Limits{MaxMailbox: 2}})
	require.NoError(t, err)
	// busy spends its whole step budget on every cast, so casts queue up.
	n.exec("m", `
def spin(msg, state):
    for i in range(100000000):
        pass
    return state
busy = worker(handle_cast=spin)
sup = start_supervisor(supervisor(intensity=100, children=[{"id": "b", "start": busy}]))
b = whereis(sup, "b")
`)
	_, err = n.local.Execute(n.ctx, "m", "for i in range(10):\n  cast(b, i)")
	var le *sandbox.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, sandbox.LimitMailbox, le.Limit)
}

func TestOTPTreeSurvivesPassivation(t *testing.T) {
	n := newNode(t)
	n.create("t")
	n.exec("t", counterWorker+`
sup = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))
call(whereis(sup, "c"), "inc")
call(whereis(sup, "c"), "inc")
`)
	require.NoError(t, n.local.Passivate(n.ctx, "t"))
	testkit.Eventually(t, 3*time.Second, func() error {
		if n.local.Active() != 0 {
			return errors.New("still active")
		}
		return nil
	})
	// Replaying the journal rebuilt the tree and the worker's state.
	assert.Equal(t, "3", n.exec("t", `call(whereis(sup, "c"), "inc")`).Value)
}

func TestOTPChildManagementBuiltins(t *testing.T) {
	n := newNode(t)
	n.create("g")
	n.exec("g", counterWorker+`
sup = start_supervisor(supervisor(intensity=5, children=[{"id": "a", "start": counter}]))
b = start_child(sup, {"id": "b", "start": counter, "restart": "transient", "shutdown": "brutal_kill"})
`)
	assert.Equal(t, `{"specs": 2, "active": 2, "supervisors": 0, "workers": 2}`, n.exec("g", "count_children(sup)").Value)
	assert.Equal(t, `["b", "a"]`, n.exec("g", `[c["id"] for c in which_children(sup)]`).Value, "newest first")
	n.exec("g", `terminate_child(sup, "b")`)
	assert.Equal(t, "True", n.exec("g", `whereis(sup, "b") == None`).Value, "terminated: pid undefined")
	n.exec("g", `restart_child(sup, "b")`)
	assert.Equal(t, "1", n.exec("g", `call(whereis(sup, "b"), "inc")`).Value)
	n.exec("g", `terminate_child(sup, "b")`)
	n.exec("g", `delete_child(sup, "b")`)
	assert.Equal(t, `["a"]`, n.exec("g", `[c["id"] for c in which_children(sup)]`).Value)

	// exit with a normal reason: a permanent child is restarted anyway.
	old := n.pids("g")["a"]
	n.exec("g", `exit(whereis(sup, "a"), "normal")`)
	n.awaitNewPID("g", "a", old)
	// kill the whole tree: nothing escapes, and new trees still start.
	n.exec("g", "kill(sup)")
	testkit.Eventually(t, 5*time.Second, func() error {
		if root := n.tree("g"); len(root.Children) != 0 {
			return errors.New("tree still up")
		}
		return nil
	})
	assert.Equal(t, "1", n.exec("g", `call(whereis(start_supervisor(supervisor(children=[{"id": "z", "start": counter}])), "z"), "inc")`).Value)

	_, err := n.local.Execute(n.ctx, "g", `start_child(sup, {"id": "x", "start": 42})`)
	var re *sandbox.RuntimeError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Msg, "start must be")
}
