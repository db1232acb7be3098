package sandbox_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/testkit"
)

// observe is everything a client can see of a sandbox's processes.
func (n *node) observe(id string) string {
	n.t.Helper()
	tree, err := n.local.Tree(n.ctx, id)
	require.NoError(n.t, err)
	restarts, err := n.local.Restarts(n.ctx, id)
	require.NoError(n.t, err)
	trace, err := n.local.Trace(n.ctx, id)
	require.NoError(n.t, err)
	raw, err := json.Marshal(map[string]any{"tree": tree, "restarts": restarts, "trace": trace})
	require.NoError(n.t, err)
	return string(raw)
}

const readmeCounter = `
def init(args):
    return 0
def handle_call(msg, state):
    return (state + 1, state + 1)
def handle_cast(msg, state):
    if msg == "crash":
        fail("boom")
    return state

counter = worker(init=init, handle_call=handle_call, handle_cast=handle_cast)
sup = start_supervisor(supervisor(strategy="one_for_one", intensity=3, period=5,
                                  children=[{"id": "c", "start": counter}]))
`

// TestReplayAfterPassivationAndRestart is the README's example (call, a
// crash by cast, call) in several sandboxes: after passivation and after
// the node restarts, every sandbox shows the same tree, restart history
// and traces, and the next call answers as if nothing had happened.
func TestReplayAfterPassivationAndRestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, sandbox.Config{})
	ids := []string{"r1", "r2", "r3"}
	before := map[string]string{}
	for _, id := range ids {
		n.create(id)
		n.exec(id, readmeCounter)
		assert.Equal(t, "1", n.exec(id, `call(whereis(sup, "c"), "inc")`).Value)
		n.exec(id, `cast(whereis(sup, "c"), "crash")`)
		assert.Equal(t, "1", n.exec(id, `call(whereis(sup, "c"), "inc")`).Value, "restarted with a fresh state")
		before[id] = n.observe(id)
	}

	for _, id := range ids {
		require.NoError(t, n.local.Passivate(n.ctx, id))
	}
	testkit.Eventually(t, 3*time.Second, func() error {
		if n.local.Active() != 0 {
			return errors.New("still active")
		}
		return nil
	})
	for _, id := range ids {
		assert.Equal(t, before[id], n.observe(id), "%s after passivation", id)
	}

	n.stop()
	n = startNode(t, dir, sandbox.Config{})
	for _, id := range ids {
		assert.Equal(t, before[id], n.observe(id), "%s after a restart", id)
		assert.Equal(t, "2", n.exec(id, `call(whereis(sup, "c"), "inc")`).Value)
	}
}

// TestFailedExecutionsLeaveNoProcesses: an execution that fails after
// starting a tree leaves neither the tree nor its journal entry.
func TestFailedExecutionsLeaveNoProcesses(t *testing.T) {
	n := newNode(t)
	n.create("f")
	_, err := n.local.Execute(n.ctx, "f", readmeCounter+"\n1 // 0")
	var re *sandbox.RuntimeError
	require.ErrorAs(t, err, &re)
	info, err := n.local.Info(n.ctx, "f")
	require.NoError(t, err)
	assert.Zero(t, info.Actors)
	tree, err := n.local.Tree(n.ctx, "f")
	require.NoError(t, err)
	assert.Nil(t, tree.Root)
}
