package otp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/otp"
)

// box is a sandbox without a grain: a session whose world is a Runtime,
// executed at a clock that moves one second per execution.
type box struct {
	t      testing.TB
	limits engine.Limits
	s      *engine.Session
	rt     *otp.Runtime
	now    time.Time
	log    []entry // the accepted executions, as a journal would keep them
}

type entry struct {
	code string
	at   time.Time
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newBox(t testing.TB, limits engine.Limits) *box {
	b := &box{t: t, limits: limits, now: epoch}
	b.s, b.rt = session(limits)
	return b
}

func session(limits engine.Limits) (*engine.Session, *otp.Runtime) {
	rt := otp.New(otp.Config{Limits: limits})
	s := engine.NewSession(limits, engine.WithEnv(otp.Env), engine.WithWorld(rt), engine.WithLocal(otp.LocalKey, rt))
	return s, rt
}

// exec runs code one second after the previous execution.
func (b *box) exec(code string) (*engine.Result, error) {
	b.now = b.now.Add(time.Second)
	b.rt.SetClock(b.now)
	res, err := b.s.Execute(context.Background(), code)
	if err == nil {
		b.log = append(b.log, entry{code, b.now})
	}
	return res, err
}

// do runs code that must succeed and returns its value.
func (b *box) do(code string) string {
	b.t.Helper()
	res, err := b.exec(code)
	require.NoError(b.t, err, "code:\n%s", code)
	return res.Value
}

// fails runs code that must fail and returns the error.
func (b *box) fails(code string) error {
	b.t.Helper()
	_, err := b.exec(code)
	require.Error(b.t, err, "code:\n%s", code)
	return err
}

// view is everything observable about the sandbox, as JSON.
func (b *box) view() string {
	b.t.Helper()
	raw, err := json.Marshal(map[string]any{
		"tree": b.rt.Tree(), "records": b.rt.Records(), "trace": b.rt.Trace(),
		"actors": b.rt.Actors(), "stats": b.s.Stats(),
	})
	require.NoError(b.t, err)
	return string(raw)
}

// replay rebuilds the sandbox from its journal in a fresh session.
func (b *box) replay() *box {
	b.t.Helper()
	c := &box{t: b.t, limits: b.limits, now: b.now, log: b.log}
	c.s, c.rt = session(b.limits)
	for _, e := range b.log {
		c.rt.SetClock(e.at)
		_, err := c.s.Execute(context.Background(), e.code)
		require.NoError(b.t, err, "replay of:\n%s", e.code)
	}
	return c
}

// counter is a gen_server: call "inc" adds one and answers the count,
// cast "crash" fails, any other cast adds it.
const counter = `
def init(args):
    return 0

def handle_call(msg, state):
    return (state + 1, state + 1)

def handle_cast(msg, state):
    if msg == "crash":
        fail("boom")
    return state + msg

counter = worker(init=init, handle_call=handle_call, handle_cast=handle_cast)
`

func TestReadmeExample(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `
sup = start_supervisor(supervisor(strategy="one_for_one", intensity=3, period=5,
                                  children=[{"id": "c", "start": counter}]))
`)
	assert.Equal(t, "1", b.do(`call(whereis(sup, "c"), "inc")`))
	b.do(`cast(whereis(sup, "c"), "crash")`)
	// The crash settled before the execution was answered: the
	// supervisor restarted the counter with a fresh state.
	assert.Equal(t, "1", b.do(`call(whereis(sup, "c"), "inc")`))
	assert.Equal(t, "2", b.do(`call(whereis(sup, "c"), "inc")`))

	recs := b.rt.Records()
	require.Len(t, recs, 1)
	assert.Equal(t, otp.RecordRestart, recs[0].Kind)
	assert.Equal(t, "c", recs[0].ChildID)
	assert.Equal(t, "boom", recs[0].Reason)
	assert.Equal(t, "tree1", recs[0].Path)
	assert.Equal(t, epoch.Add(3*time.Second), recs[0].Time, "the logical clock of the execution that crashed it")

	assert.Equal(t, b.view(), b.replay().view(), "replay rebuilds the same sandbox")
}

func TestStrategies(t *testing.T) {
	tests := []struct {
		strategy  string
		restarted []string // which of a, b, c get a new pid when b crashes
	}{
		{"one_for_one", []string{"b"}},
		{"one_for_all", []string{"a", "b", "c"}},
		{"rest_for_one", []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			b := newBox(t, engine.Limits{})
			b.do(counter + `
sup = start_supervisor(supervisor(strategy="` + tt.strategy + `", intensity=3, period=5, children=[
    {"id": "a", "start": counter}, {"id": "b", "start": counter}, {"id": "c", "start": counter}]))
def pids():
    return {c["id"]: c["pid"] for c in which_children(sup)}
before = pids()
for id in ["a", "b", "c"]:
    call(whereis(sup, id), "inc")
`)
			b.do(`cast(whereis(sup, "b"), "crash")`)
			for _, id := range []string{"a", "b", "c"} {
				restarted := b.do(`pids()["`+id+`"] != before["`+id+`"]`) == "True"
				assert.Equal(t, contains(tt.restarted, id), restarted, "%s restarted", id)
				want := "2"
				if restarted {
					want = "1" // a fresh state
				}
				assert.Equal(t, want, b.do(`call(whereis(sup, "`+id+`"), "inc")`), "%s's state", id)
			}
			assert.Equal(t, b.view(), b.replay().view())
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func TestIntensityExceededTearsTheTreeDown(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `
sup = start_supervisor(supervisor(intensity=1, period=5, children=[{"id": "c", "start": counter}]))
cast(whereis(sup, "c"), "crash")
cast(whereis(sup, "c"), "crash")
`)
	// The second cast went to the first incarnation, dead by then, and
	// was dropped: one restart.
	assert.Equal(t, "1", b.do(`count_children(sup)["active"]`))
	b.do(`cast(whereis(sup, "c"), "crash")`) // a second restart within 5 s: too many
	require.Nil(t, b.rt.Tree().Root.Children, "the tree gave up and was removed")
	recs := b.rt.Records()
	require.Len(t, recs, 3)
	assert.Equal(t, []string{otp.RecordRestart, otp.RecordRestart, otp.RecordGaveUp}, []string{recs[0].Kind, recs[1].Kind, recs[2].Kind},
		"the second exit is recorded, then the supervisor gives up")
	assert.Equal(t, "reached_max_restart_intensity", recs[2].Reason)
	assert.Equal(t, 0, b.rt.Actors())

	err := b.fails(`call(whereis(sup, "c"), "inc")`)
	assert.Contains(t, err.Error(), "noproc")
	// Nothing escaped: the sandbox still runs trees.
	b.do(`sup2 = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))`)
	assert.Equal(t, "1", b.do(`call(whereis(sup2, "c"), "inc")`))
	assert.Equal(t, b.view(), b.replay().view())
}

func TestIntensityWindowUsesTheLogicalClock(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `sup = start_supervisor(supervisor(intensity=1, period=2, children=[{"id": "c", "start": counter}]))`)
	for range 5 { // one crash every three seconds: never two within the period
		b.now = b.now.Add(2 * time.Second)
		b.do(`cast(whereis(sup, "c"), "crash")`)
	}
	assert.Equal(t, "1", b.do(`count_children(sup)["active"]`))
	assert.Len(t, b.rt.Records(), 5)
	assert.Equal(t, b.view(), b.replay().view())
}

func TestFailedExecutionLeavesNothing(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter)
	before := b.view()
	err := b.fails(`
sup = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))
call(whereis(sup, "c"), "inc")
cast(whereis(sup, "c"), "crash")
1 // 0
`)
	var re *engine.RuntimeError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, before, b.view(), "no tree, no process, no record, no trace")
	assert.Equal(t, 0, b.rt.Actors())

	// The pids the failed execution used are given again.
	b.do(`sup = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))`)
	assert.Equal(t, `"<0.3.0>"`, b.do(`whereis(sup, "c").id`))
}

func TestCallRules(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `
sup = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))
def loop_call(msg, state):
    return (call(self(), msg), state)
selfish = start_child(sup, {"id": "s", "start": worker(handle_call=loop_call)})
mute = start_child(sup, {"id": "m", "start": worker()})
`)
	err := b.fails(`call(sup, "hello")`)
	assert.Contains(t, err.Error(), "is a supervisor")
	err = b.fails(`call(selfish, "x")`)
	assert.Contains(t, err.Error(), "calling_self")
	err = b.fails(`call(mute, "x")`)
	assert.Contains(t, err.Error(), "has no handle_call")
	err = b.fails(`call(42, "x")`)
	assert.Contains(t, err.Error(), "pid must be a pid, got int")
	// A cast the worker cannot handle crashes it, with a clear reason.
	b.do(`cast(mute, "x")`)
	recs := b.rt.Records()
	require.NotEmpty(t, recs)
	assert.Contains(t, recs[len(recs)-1].Reason, "has no handle_cast for \"x\"")
}

func TestCallCycleTimesOut(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(`
def ping(msg, state):
    return (call(state, "ping", timeout=2), state)
def init(args):
    return args[0]
a = None
sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=10, children=[{"start": worker(init=init, handle_call=ping)}]))
`)
	b.do(`x = start_child(sup, (None,))`)
	b.do(`y = start_child(sup, (x,))`)
	// x's state is None, so x's call fails at once; y calls x.
	err := b.fails(`call(y, "go")`)
	assert.Contains(t, err.Error(), "crashed")
	clock := b.rt.Now()
	b.do(`
def cycle(msg, state):
    return (call(state["peer"], msg, timeout=3), state)
def init2(args):
    return {"peer": None}
def set_peer(msg, state):
    state["peer"] = msg
    return state
pair = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=10,
    children=[{"start": worker(init=init2, handle_call=cycle, handle_cast=set_peer)}]))
p1 = start_child(pair, ())
p2 = start_child(pair, ())
cast(p1, p2)
cast(p2, p1)
`)
	err = b.fails(`call(p1, "hi", timeout=10)`)
	assert.Contains(t, err.Error(), "crashed")
	assert.Equal(t, clock.Add(2*time.Second), b.rt.Now(), "the failed execution's waiting was rolled back")
}

func TestExitSignals(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `
sup = start_supervisor(supervisor(intensity=10, children=[{"id": "c", "start": counter}]))
c = whereis(sup, "c")
def quit(msg, state):
    exit(self(), msg)
    fail("not reached")
q = start_child(sup, {"id": "q", "start": worker(handle_cast=quit), "restart": "transient"})
`)
	b.do(`exit(c, "normal")`)
	assert.Equal(t, "True", b.do(`whereis(sup, "c") == c`), "a worker ignores exit(pid, normal) from others")
	b.do(`exit(c, "shutdown")`)
	assert.Equal(t, "False", b.do(`whereis(sup, "c") == c`), "shutdown stops it; permanent: restarted")
	b.do(`
def shoot(msg, state):
    exit(msg, "shutdown")
    return state
shooter = start_supervisor(supervisor(children=[{"id": "s", "start": worker(handle_cast=shoot)}]))
cast(whereis(shooter, "s"), sup)`)
	assert.Equal(t, "2", b.do(`count_children(sup)["active"]`), "a supervisor traps exits from others than its parent")
	b.do(`exit(shooter, "shutdown")`)
	assert.Equal(t, "False", b.do(`is_alive(shooter)`), "the sandbox's code is the parent of the trees it starts")
	b.do(`cast(q, "normal")`)
	assert.Equal(t, "True", b.do(`whereis(sup, "q") == None`), "exit(self(), normal) ends a transient child for good")
	b.do(`kill(sup)`)
	assert.Nil(t, b.rt.Tree().Root.Children, "kill stops a supervisor and its children")
	assert.Equal(t, 0, b.rt.Actors())
	assert.Equal(t, b.view(), b.replay().view())
}

func TestChildManagement(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `
sup = start_supervisor(supervisor(intensity=5, children=[{"id": "a", "start": counter}]))
b = start_child(sup, {"id": "b", "start": counter, "restart": "transient", "shutdown": "brutal_kill"})
`)
	assert.Equal(t, `{"specs": 2, "active": 2, "supervisors": 0, "workers": 2}`, b.do("count_children(sup)"))
	assert.Equal(t, `["b", "a"]`, b.do(`[c["id"] for c in which_children(sup)]`), "newest first")
	b.do(`terminate_child(sup, "b")`)
	assert.Equal(t, "True", b.do(`whereis(sup, "b") == None`))
	assert.Contains(t, b.fails(`delete_child(sup, "a")`).Error(), "running")
	b.do(`restart_child(sup, "b")`)
	assert.Equal(t, "1", b.do(`call(whereis(sup, "b"), "inc")`))
	b.do("terminate_child(sup, \"b\")\ndelete_child(sup, \"b\")")
	assert.Equal(t, `["a"]`, b.do(`[c["id"] for c in which_children(sup)]`))
	assert.Contains(t, b.fails(`start_child(sup, {"id": "x", "start": 42})`).Error(), `"start" must be a worker() or a supervisor(), got int`)
	assert.Contains(t, b.fails(`start_child(sup, {"id": "a", "start": counter})`).Error(), "already")

	b.do(`pool = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": counter}]))`)
	err := b.fails(`start_child(pool, [2])`)
	assert.Contains(t, err.Error(), "start_child(sup, args)")
	assert.Contains(t, err.Error(), "args must be a tuple of extra arguments for its template, got list")
	b.do(`w = start_child(pool, ())`)
	b.do(`terminate_child(pool, w)`)
	assert.Equal(t, `0`, b.do(`count_children(pool)["active"]`))
	assert.Equal(t, b.view(), b.replay().view())
}

func TestNestedSupervisorsAndPaths(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `
jobs = supervisor(strategy="one_for_one", intensity=5, children=[{"id": "j1", "start": counter}])
sup = start_supervisor(supervisor(strategy="one_for_all", intensity=5, children=[
    {"id": "db", "start": counter}, {"id": "jobs", "start": jobs}]), name="app")
`)
	b.do(`cast(whereis(whereis(sup, "jobs"), "j1"), "crash")`)
	recs := b.rt.Records()
	require.Len(t, recs, 1)
	assert.Equal(t, "app/jobs", recs[0].Path, "restarts of a tree the code never named a variable for are kept too")
	tree := b.rt.Tree()
	require.Len(t, tree.Root.Children, 1)
	app := tree.Root.Children[0]
	assert.Equal(t, "app", app.ID)
	assert.Equal(t, "one_for_all", app.Strategy)
	require.Len(t, app.Children, 2)
	assert.Equal(t, "jobs", app.Children[1].ID)
	assert.Equal(t, "supervisor", app.Children[1].Type)
	assert.Equal(t, "0", app.Children[1].Children[0].State)
	assert.Equal(t, 4, b.rt.Actors(), "supervisors count as processes")
	assert.Equal(t, b.view(), b.replay().view())
}

// TestHostileProgramsFailAndLeaveNothing runs what used to take a node
// down: each execution now fails with a limit, and the sandbox is as
// before.
func TestHostileProgramsFailAndLeaveNothing(t *testing.T) {
	tests := []struct {
		name  string
		code  string
		limit string
	}{
		{"restart storm", `
def boom(args):
    cast(self(), "die")
    return 0
def die(msg, state):
    fail("again")
start_supervisor(supervisor(intensity=1000000000, period=1, children=[{"id": "w", "start": worker(init=boom, handle_cast=die)}]))
`, engine.LimitSteps},
		{"cast backlog", `
def slow(msg, state):
    for i in range(1000):
        pass
    return state
sup = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": worker(init=lambda a: 0, handle_cast=slow)}]))
ws = [start_child(sup, ()) for i in range(60)]
for i in range(1000):
    for w in ws:
        cast(w, i)
`, engine.LimitSteps},
		{"mass supervisors", `
for i in range(60000):
    start_supervisor(supervisor())
`, engine.LimitActors},
		{"state growth", `
def grow(msg, state):
    state.append("x" * 1000)
    cast(self(), msg)
    return state
w = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=lambda a: [], handle_cast=grow)}]))
cast(whereis(w, "w"), 1)
`, engine.LimitSteps},
		{"state over the heap limit", `
def hold(msg, state):
    return "y" * 2000000
w = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=lambda a: 0, handle_cast=hold)}]))
cast(whereis(w, "w"), 1)
`, engine.LimitHeap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBox(t, engine.Limits{})
			b.do("x = 1")
			before := b.view()
			err := b.fails(tt.code)
			var le *engine.LimitError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tt.limit, le.Limit)
			assert.Equal(t, before, b.view())
			assert.Equal(t, "2", b.do("x + 1"), "the sandbox goes on")
		})
	}
}

func TestSelfCastLoopFailsOnSteps(t *testing.T) {
	b := newBox(t, engine.Limits{MaxSteps: 200_000})
	b.do(`
def again(msg, state):
    cast(self(), msg)
    return state + 1
sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=lambda a: 0, handle_cast=again)}]))
`)
	before := b.view()
	var le *engine.LimitError
	require.ErrorAs(t, b.fails(`cast(whereis(sup, "w"), 1)`), &le)
	assert.Equal(t, engine.LimitSteps, le.Limit)
	assert.Equal(t, before, b.view(), "the loop never started")
}

func TestBoundedViews(t *testing.T) {
	b := newBox(t, engine.Limits{})
	// A list that shares itself 30 levels deep: 351 steps, a repr of
	// 2^30 elements.
	b.do(`
def keep(msg, state):
    return msg
x = [1]
for i in range(30):
    x = [x, x]
sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=lambda a: 0, handle_cast=keep)}]))
cast(whereis(sup, "w"), x)
`)
	raw, err := json.Marshal(b.rt.Tree())
	require.NoError(t, err)
	assert.Less(t, len(raw), 2048)
	raw, err = json.Marshal(b.rt.Trace())
	require.NoError(t, err)
	assert.Less(t, len(raw), 2048)
	assert.True(t, strings.HasSuffix(b.rt.Tree().Root.Children[0].Children[0].State, "…"))
}

func TestLimitsOnProcesses(t *testing.T) {
	b := newBox(t, engine.Limits{MaxActors: 3, MaxMailbox: 3})
	b.do(counter + `sup = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": counter}]))`)
	b.do("w1 = start_child(sup, ())\nw2 = start_child(sup, ())")
	var le *engine.LimitError
	require.ErrorAs(t, b.fails("start_child(sup, ())"), &le)
	assert.Equal(t, engine.LimitActors, le.Limit)
	// The code runs to its end before any process does: the fourth cast
	// finds three messages queued.
	require.ErrorAs(t, b.fails("for i in range(4):\n  cast(w1, 1)"), &le)
	assert.Equal(t, engine.LimitMailbox, le.Limit)
	assert.Equal(t, "1", b.do("cast(w1, 1)\ncast(w1, 1)\ncall(w1, 'inc') - 2"))
}

func TestNothingRunsOutsideExecutions(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `
sup = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))
cast(whereis(sup, "c"), 5)
`)
	v := b.view()
	assert.Equal(t, v, b.view(), "between executions nothing changes")
	assert.Equal(t, "6", b.do(`call(whereis(sup, "c"), "inc")`))
}

func TestPids(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(counter + `sup = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))`)
	assert.Equal(t, "<0.3.0>", b.do(`whereis(sup, "c")`))
	assert.Equal(t, "True", b.do(`whereis(sup, "c") == whereis(sup, "c")`))
	assert.Equal(t, "True", b.do(`{whereis(sup, "c"): 1}[whereis(sup, "c")] == 1`))
	assert.Equal(t, "True", b.do(`self() == None`))
}

// TestPristine: a runtime is pristine until an execution that started a
// process is kept; one that failed and was rolled back leaves it so.
func TestPristine(t *testing.T) {
	b := newBox(t, engine.Limits{})
	require.True(t, b.rt.Pristine())
	b.do("n = 1")
	require.True(t, b.rt.Pristine(), "plain code")
	b.fails(counter + "sup = start_supervisor(supervisor(children=[{\"id\": \"c\", \"start\": counter}]))\nfail('undo')")
	require.True(t, b.rt.Pristine(), "a rolled-back start")
	b.do(counter + "sup = start_supervisor(supervisor(children=[{\"id\": \"c\", \"start\": counter}]))")
	require.False(t, b.rt.Pristine(), "a started tree")
	b.do("kill(sup)")
	require.False(t, b.rt.Pristine(), "a stopped tree: its pids were given")
}
