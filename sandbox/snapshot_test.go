package sandbox_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/engine"
)

// TestSnapshotBoundsReplay: every SnapshotEvery executions the journal
// is replaced by a snapshot; a node started afresh rebuilds the sandbox
// from it and the executions after it, answers retries of executions
// inside the snapshot from it (never applying them twice), and a restart
// empties it all.
func TestSnapshotBoundsReplay(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, sandbox.Config{SnapshotEvery: 10})
	n.create("s")
	n.exec("s", "n = 0\nl = []\nd = {'k': (1, 2.5, None)}\n\ndef inc(k):\n    d['last'] = k\n    return k + 1")
	step := "n = inc(n)\nl.append(n)\nn"
	for i := 1; i <= 34; i++ {
		res, err := n.local.Execute(sandbox.WithRequestID(n.ctx, fmt.Sprintf("r%d", i)), "s", step)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), res.Value)
	}
	info, err := n.local.Info(n.ctx, "s")
	require.NoError(t, err)
	assert.EqualValues(t, 35, info.Executions)
	assert.EqualValues(t, 30, info.Journal.SnapshotSeq, "snapshots at 10, 20 and 30")
	assert.EqualValues(t, 6, info.Journal.Entries, "the snapshot and five executions")
	taken, skipped := n.local.Snapshots()
	assert.EqualValues(t, 3, taken)
	assert.Zero(t, skipped)
	n.stop()

	n = startNode(t, dir, sandbox.Config{SnapshotEvery: 10})
	read := n.exec("s", "n, len(l), l[-1], d")
	assert.Equal(t, `(34, 34, 34, {"k": (1, 2.5, None), "last": 33})`, read.Value)
	again, err := n.local.Info(n.ctx, "s")
	require.NoError(t, err)
	assert.EqualValues(t, 36, again.Executions)
	assert.EqualValues(t, 30, again.Journal.SnapshotSeq)
	assert.Equal(t, info.Journal.Entries+1, again.Journal.Entries)
	assert.Equal(t, info.Journal.ReplaySteps+read.Steps, again.Journal.ReplaySteps, "rebuilt, the journal counts as it did")

	// Retries: one after the snapshot, one inside it; neither applied again.
	for _, id := range []string{"r33", "r25"} {
		res, err := n.local.Execute(sandbox.WithRequestID(n.ctx, id), "s", step)
		require.NoError(t, err, id)
		assert.Equal(t, id[1:], res.Value, "%s answered as it was the first time", id)
	}
	_, err = n.local.Execute(sandbox.WithRequestID(n.ctx, "r25"), "s", "n = 0")
	assert.ErrorIs(t, err, sandbox.ErrRequestMismatch)
	assert.Equal(t, "34", n.exec("s", "n").Value)
	assert.Equal(t, "(35, 34)", n.exec("s", "inc(34), d['last']").Value, "the function, rebuilt from the snapshot, still sees d")

	_, err = n.local.Restart(n.ctx, "s")
	require.NoError(t, err)
	n.exec("s", "x = 1")
	info, err = n.local.Info(n.ctx, "s")
	require.NoError(t, err)
	assert.EqualValues(t, 1, info.Journal.Entries)
	assert.Zero(t, info.Journal.SnapshotSeq)
	_, err = n.local.Execute(n.ctx, "s", "n")
	assert.Error(t, err, "n is gone with the journal")
}

// TestSnapshotHandlerTables: a sandbox that keeps functions in a dict
// and a list (handlers = {"inc": lambda s: s + 1}) is snapshotted like
// any other and rebuilt with them after a node restart.
func TestSnapshotHandlerTables(t *testing.T) {
	n := snapshottedAndRestarted(t, "h",
		"def double(s):\n    return s * 2\nhandlers = {'inc': lambda s: s + 1, 'double': double}\nlog = []\nstate = 1",
		"state = handlers['inc'](state)\nlog.append(lambda x: x + len(log))")
	assert.Equal(t, "(14, 7, 6, True)", n.exec("h", "handlers['double'](state), state, len(log), handlers['double'] == double").Value)
	assert.Equal(t, "[6, 7, 8, 9, 10, 11]", n.exec("h", "[f(i) for i, f in enumerate(log)]").Value)
}

// TestSnapshotClosures: closures of a def that can make more (made again
// by calling it), tuples of functions and globals holding another's
// function are snapshotted, and after a node restart answer as before;
// a closure made before the restart calling one made after is still a
// recursion to Starlark, as it was.
func TestSnapshotClosures(t *testing.T) {
	n := snapshottedAndRestarted(t, "c",
		"def adder(k):\n    return lambda x: x + k\ndef compose(f):\n    return lambda x: f(x)\nadd2 = adder(2)\nc1 = compose(add2)\nops = (('add2', add2), ('inc', lambda x: x + 1))\ninc = ops[1][1]",
		"add2 = adder(add2(1))")
	assert.Equal(t, "(9, 3, 5, 13, True)", n.exec("c", "add2(1), c1(1), ops[1][1](4), adder(3)(10), inc == ops[1][1]").Value)
	_, err := n.local.Execute(n.ctx, "c", "compose(c1)(1)")
	require.ErrorContains(t, err, "called recursively")
}

// snapshottedAndRestarted runs first, then again six times, in sandbox id
// on a node that snapshots every five executions, requires the snapshot
// taken, and returns a node started again on the same directory.
func snapshottedAndRestarted(t *testing.T, id, first, again string) *node {
	t.Helper()
	dir := t.TempDir()
	n := startNode(t, dir, sandbox.Config{SnapshotEvery: 5})
	n.create(id)
	n.exec(id, first)
	for range 6 {
		n.exec(id, again)
	}
	info, err := n.local.Info(n.ctx, id)
	require.NoError(t, err)
	require.EqualValues(t, 5, info.Journal.SnapshotSeq, info.Journal.SnapshotBlocked)
	n.stop()
	return startNode(t, dir, sandbox.Config{SnapshotEvery: 5})
}

// TestSnapshotMakesRoom: a sandbox whose journal quota holds three
// executions runs a hundred, each full journal replaced by a snapshot of
// the state, which stays small; rebuilt, it has all of them.
func TestSnapshotMakesRoom(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, sandbox.Config{})
	_, err := n.local.Create(n.ctx, "small", sandbox.Requirements{JournalLimit: 4 * sandbox.JournalEntryOverhead, ReplayLimit: 2_000})
	require.NoError(t, err)
	n.exec("small", "n = 0")
	for range 100 {
		n.exec("small", "n += 1")
	}
	info, err := n.local.Info(n.ctx, "small")
	require.NoError(t, err)
	assert.NotZero(t, info.Journal.SnapshotSeq)
	assert.LessOrEqual(t, info.Journal.Bytes, info.Journal.Limit)
	assert.LessOrEqual(t, info.Journal.ReplaySteps, info.Journal.ReplayLimit)

	// Executions the replay quota would cut short: each is preceded by a
	// snapshot once the quota would stop it before its own step limit.
	_, err = n.local.Create(n.ctx, "steps", sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 100_000}, ReplayLimit: 250_000})
	require.NoError(t, err)
	var total uint64
	for i := range 10 {
		res := n.exec("steps", fmt.Sprintf("t = %d\nfor i in range(3000):\n    t += i", i))
		total += res.Steps
	}
	assert.Greater(t, total, uint64(250_000), "more steps than the replay quota")
	n.stop()

	n = startNode(t, dir, sandbox.Config{})
	assert.Equal(t, "100", n.exec("small", "n").Value)
	assert.Equal(t, "4498509", n.exec("steps", "t").Value)
}

// TestNoSnapshotUnlessExact: state a snapshot cannot rebuild keeps its
// whole journal: a lambda within a set, a closure a worker's handler
// made, values shared between globals, a default frozen since
// its def. Once
// the state is plain again, the next try snapshots.
func TestNoSnapshotUnlessExact(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, sandbox.Config{SnapshotEvery: 5})
	for id, code := range map[string]string{
		"lambda": "fs = set([(lambda x: x + 1, 2)])",
		"shared": "a = []\nb = a",
		// A worker whose state holds a closure its handler made: the
		// handler can make more of it, which would be other functions
		// than the restored one to Starlark's recursion check.
		"procs": "w = worker(init=lambda args: {'f': lambda: 1})\nsup = start_supervisor(supervisor(children=[{\"id\": \"w\", \"start\": w}]))",
		// A default frozen by worker() after the def: the def would
		// restore it mutable, and f() would then work where it failed.
		"frozen-default": "def f(x=[]):\n    x.append(1)\n    return len(x)\nw = worker(init=f)\nw = None",
	} {
		n.create(id)
		n.exec(id, code)
		for range 11 {
			n.exec(id, "1")
		}
		info, err := n.local.Info(n.ctx, id)
		require.NoError(t, err)
		assert.Zero(t, info.Journal.SnapshotSeq, id)
		assert.EqualValues(t, 12, info.Journal.Entries, id)
		assert.NotEmpty(t, info.Journal.SnapshotBlocked, "%s: the info says why", id)
	}
	_, skipped := n.local.Snapshots()
	assert.GreaterOrEqual(t, skipped, uint64(6), "two tries each, five executions apart")

	n.exec("shared", "b = list(b)")
	for range 5 {
		n.exec("shared", "1")
	}
	info, err := n.local.Info(n.ctx, "shared")
	require.NoError(t, err)
	assert.NotZero(t, info.Journal.SnapshotSeq, "plain data again")
	assert.Empty(t, info.Journal.SnapshotBlocked)

	// A list frozen by a child spec's args is snapshotted frozen: after a
	// restart, appending to it still fails.
	n.create("frozen")
	n.exec("frozen", "l = [1]\ns = supervisor(children=[{\"id\": \"a\", \"start\": worker(), \"args\": (l,)}])\ns = None")
	for range 5 {
		n.exec("frozen", "1")
	}
	info, err = n.local.Info(n.ctx, "frozen")
	require.NoError(t, err)
	require.NotZero(t, info.Journal.SnapshotSeq)
	n.stop()
	n = startNode(t, dir, sandbox.Config{SnapshotEvery: 5})
	_, err = n.local.Execute(n.ctx, "frozen", "l.append(2)")
	require.ErrorContains(t, err, "frozen list")
	assert.Equal(t, "[1]", n.exec("frozen", "l").Value)
}

// TestSnapshotDifferential runs random programs over plain data (and,
// now and then, a function or a shared list, which keep the journal
// whole until they go) on a node that snapshots every third execution,
// against the same programs in a bare Starlark session: every answer
// must be the same, and so must the state once a new node rebuilds each
// sandbox from its snapshot and the entries after it.
func TestSnapshotDifferential(t *testing.T) {
	dir := t.TempDir()
	cfg := sandbox.Config{SnapshotEvery: 3}
	n := startNode(t, dir, cfg)
	rng := rand.New(rand.NewPCG(7, 11))
	const observe = "repr((x, a, b, d, sorted(s), t, f == None, y, z, c, w))"
	views := map[string]string{}
	for p := range 16 {
		id := fmt.Sprintf("p%d", p)
		n.create(id)
		ref := engine.NewSession(engine.Limits{})
		for _, code := range randomProgram(rng, 40) {
			res, err := n.local.Execute(n.ctx, id, code)
			want, werr := ref.Execute(t.Context(), code)
			require.Equal(t, werr == nil, err == nil, "%s: %q: sandbox %v, reference %v", id, code, err, werr)
			if err == nil {
				require.Equal(t, want.Value, res.Value, "%s: %q", id, code)
			}
		}
		views[id] = n.exec(id, observe).Value
		want, err := ref.Execute(t.Context(), observe)
		require.NoError(t, err)
		require.Equal(t, want.Value, views[id], id)
	}
	taken, skipped := n.local.Snapshots()
	require.NotZero(t, taken)
	t.Logf("snapshots: %d taken, %d skipped", taken, skipped)
	n.stop()

	n = startNode(t, dir, cfg)
	for id, view := range views {
		require.Equal(t, view, n.exec(id, observe).Value, "%s rebuilt", id)
	}
}

// randomProgram returns n executions over the globals x a b d s t f y z c
// w and the functions h and g.
func randomProgram(rng *rand.Rand, n int) []string {
	lit := func() string {
		switch rng.IntN(7) {
		case 0:
			return fmt.Sprint(rng.IntN(2000) - 1000)
		case 1:
			return fmt.Sprintf("%q", fmt.Sprintf("s%d\n'\"", rng.IntN(50)))
		case 2:
			return fmt.Sprintf("(%d, None, True)", rng.IntN(9))
		case 3:
			return []string{"-0.0", "1.5", "1e308 * 10", "0.1", "-2.5e-300"}[rng.IntN(5)]
		case 4:
			return "[x, []]"
		case 5:
			return "b'\\x00\\xfe'"
		}
		return "(1 << 70) * x"
	}
	key := func() string { return fmt.Sprint(rng.IntN(8)) }
	stmts := []func() string{
		func() string { return fmt.Sprintf("x += %d", rng.IntN(10)) },
		func() string { return fmt.Sprintf("a.append(%s)", lit()) },
		func() string { return "b = list(a)" },
		func() string { return "b = a" },
		func() string { return fmt.Sprintf("d[%s] = %s", key(), lit()) },
		func() string { return fmt.Sprintf("d.pop(%s, None)", key()) },
		func() string { return fmt.Sprintf("s.add(%s)", key()) },
		func() string { return "t = (x, len(a), tuple(b))" },
		func() string { return "a = a[1:]" },
		func() string { return fmt.Sprintf("a.extend([%s, %s])", lit(), lit()) },
		func() string { return "f = [].append" },
		func() string { return "f = None" },
		func() string { return "y = y * 0.5 + x" },
		func() string { return fmt.Sprintf("z = 'w%d' * 2", rng.IntN(5)) },
		func() string { return "c = {'k': b}" },
		func() string { return "c = {'k': list(b), 'd': dict(d)}" },
		func() string { return "a.append(1)\nfail('undone')" },
		func() string { return "x" },
		func() string { return "def h(v):\n    return v + len(a) + x" },
		func() string {
			return fmt.Sprintf("def g(v=%s, *rest):\n    d['g'] = v\n    return h(len(rest))", lit())
		},
		func() string { return "w = h(1)" },
		func() string { return "w = g()" },
		func() string { return "w = g(2, 3)" },
	}
	out := []string{"x = 0\na = []\nb = []\nd = {}\ns = set()\nt = ()\nf = None\ny = 0.0\nz = ''\nc = {}\nw = None"}
	for range n {
		code := stmts[rng.IntN(len(stmts))]()
		if rng.IntN(3) == 0 {
			code += "\n" + stmts[rng.IntN(len(stmts))]()
		}
		out = append(out, code)
	}
	return out
}

// TestSnapshotThatDoesNotRestore: a journal whose snapshot cannot be
// restored (corrupt, or written by a newer version) leaves the sandbox
// unavailable with a store error, rather than rebuilt without its state.
func TestSnapshotThatDoesNotRestore(t *testing.T) {
	n := newNode(t)
	for i, code := range []string{`{"v": 99, "globals": "n = 1\n"}`, `{"v": 1, "globals": "n = "}`, "not json"} {
		id := fmt.Sprintf("bad%d", i)
		n.create(id)
		n.exec(id, "n = 1")
		require.NoError(t, n.store.(sandbox.Snapshotter).PutSnapshot(n.ctx, id, sandbox.Entry{Seq: 1, Code: code, Snapshot: true}))
		require.NoError(t, n.local.Passivate(n.ctx, id))
		_, err := n.local.Execute(n.ctx, id, "n")
		var se *sandbox.StoreError
		require.ErrorAs(t, err, &se, "%q", code)
		assert.Contains(t, err.Error(), "snapshot")
	}
}

// TestSnapshotProcesses: a sandbox with a supervision tree is snapshotted
// with its processes (workers' states, supervisors' children and restart
// windows, pids, traces, the restart log) and rebuilt from the snapshot
// after a node restart: the same tree, the same answers, and a crash
// that the restart window already counts makes the supervisor give up
// as it would have.
func TestSnapshotProcesses(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, sandbox.Config{SnapshotEvery: 10})
	n.create("tree")
	n.exec("tree", `
def init(args):
    return {"n": 0}
def handle_call(msg, state):
    if msg == "crash":
        fail("asked to")
    state["n"] += 1
    return (state["n"], state)
def handle_cast(msg, state):
    fail("asked to")
sup = start_supervisor(supervisor(intensity=1, period=3600, children=[
    {"id": "c", "start": worker(init=init, handle_call=handle_call, handle_cast=handle_cast)}]))
def c():
    return whereis(sup, "c")
`)
	n.exec("tree", `cast(c(), "crash")`) // one restart of the one allowed
	for range 23 {
		n.exec("tree", `call(c(), "inc")`)
	}
	info, err := n.local.Info(n.ctx, "tree")
	require.NoError(t, err)
	assert.EqualValues(t, 20, info.Journal.SnapshotSeq, "every ten executions")
	before := observeTree(t, n, "tree")
	n.stop()

	n = startNode(t, dir, sandbox.Config{SnapshotEvery: 10})
	assert.Equal(t, before, observeTree(t, n, "tree"), "rebuilt from the snapshot")
	assert.Equal(t, "24", n.exec("tree", `call(c(), "inc")`).Value, "the restarted worker counted 23")
	n.exec("tree", `cast(c(), "crash")`)
	assert.Equal(t, "False", n.exec("tree", "is_alive(sup)").Value, "the second restart within the hour: the supervisor gave up")
}

func observeTree(t *testing.T, n *node, id string) string {
	t.Helper()
	tree, err := n.local.Tree(n.ctx, id)
	require.NoError(t, err)
	restarts, err := n.local.Restarts(n.ctx, id)
	require.NoError(t, err)
	trace, err := n.local.Trace(n.ctx, id)
	require.NoError(t, err)
	raw, err := json.Marshal(map[string]any{"tree": tree, "restarts": restarts, "trace": trace})
	require.NoError(t, err)
	return string(raw)
}
