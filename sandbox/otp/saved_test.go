package otp_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
)

// The differential snapshot fuzzer: a random program over every OTP
// builtin runs live; after one of its executions (chosen by the input)
// the session is dumped, with its processes, and restored in a fresh
// sandbox, which must dump the same; then the rest of the program runs in
// both, and every execution must give the same value, output, steps or
// error, and the processes the same trees, records and traces at the
// end. `make fuzz` runs it; the seeds below run in every `go test`.

// processes is what a sandbox shows of its processes, as JSON.
func (b *box) processes() string {
	b.t.Helper()
	raw, err := json.Marshal(map[string]any{
		"tree": b.rt.Tree(), "records": b.rt.Records(), "trace": b.rt.Trace(), "actors": b.rt.Actors(),
	})
	require.NoError(b.t, err)
	return string(raw)
}

func checkSnapshot(t *testing.T, data []byte) {
	code := otptest.Program(data)
	cut := 1
	if len(data) > 0 {
		cut += int(data[0]) % len(code)
	}
	live := newBox(t, limitsForFuzz)
	var restored *box
	for i, snippet := range code {
		if i < len(data) {
			live.now = live.now.Add(gaps[data[len(data)-1-i]%4])
		}
		if i == cut {
			restored = snapshotOf(t, live)
			if restored == nil {
				return
			}
		}
		if restored != nil {
			restored.now = live.now
		}
		res, err := live.exec(snippet)
		if restored == nil {
			continue
		}
		res2, err2 := restored.exec(snippet)
		switch {
		case (err == nil) != (err2 == nil), err != nil && err.Error() != err2.Error():
			t.Fatalf("execution %d after the snapshot: %v; restored: %v\n%s", i, err, err2, listing(live.log))
		case err == nil && (res.Value != res2.Value || res.Output != res2.Output || res.Steps != res2.Steps):
			t.Fatalf("execution %d after the snapshot: %+v; restored: %+v\n%s", i, res, res2, listing(live.log))
		}
	}
	if restored == nil {
		return
	}
	if a, b := live.processes(), restored.processes(); a != b {
		t.Fatalf("processes diverged:\nlive:     %s\nrestored: %s\n%s", a, b, listing(live.log))
	}
}

// snapshotOf dumps b's session and restores it in a new box at the same
// clock; nil when the state cannot be dumped.
func snapshotOf(t *testing.T, b *box) *box {
	t.Helper()
	src, err := b.s.Dump(1 << 24)
	if errors.Is(err, engine.ErrNotPlain) {
		return nil
	}
	require.NoError(t, err)
	r := newBox(t, b.limits)
	r.now = b.now
	_, err = r.s.Restore(context.Background(), src)
	require.NoError(t, err, "restore of\n%s\n%s\n%s", src.Data, src.Bound, src.World)
	again, err := r.s.Dump(1 << 24)
	require.NoError(t, err)
	require.True(t, again.Equal(src), "restored, the dump is\n%s\n%s\nnot\n%s\n%s", again.Bound, again.World, src.Bound, src.World)
	return r
}

func FuzzSnapshot(f *testing.F) {
	for i := range 24 {
		b := make([]byte, 48)
		for k := range b {
			b[k] = byte((i*97 + k*29 + k*k*5) % 251)
		}
		f.Add(b)
	}
	f.Fuzz(checkSnapshot)
}

// TestSnapshotProcesses: a sandbox with a supervision tree, workers with
// state, a simple_one_for_one pool with dynamic children and a restart
// window half used is dumped with its processes and restored: the
// restored sandbox answers as the original, gives up at the same next
// crash, and numbers its next process the same.
func TestSnapshotProcesses(t *testing.T) {
	a := newBox(t, engine.Limits{})
	a.do(`
def init(args):
    return {"n": args[0] if args else 0, "seen": []}
def handle_call(msg, state):
    if msg == "crash":
        fail("asked to")
    state["n"] += 1
    return (state["n"], state)
def handle_cast(msg, state):
    if msg == "crash":
        fail("asked to")
    state["seen"].append(msg)
    return state
counter = worker(init=init, handle_call=handle_call, handle_cast=handle_cast)
sup = start_supervisor(supervisor(strategy="one_for_one", intensity=2, period=60,
    children=[{"id": "a", "start": counter, "args": (10,)}, {"id": "b", "start": counter, "restart": "transient"}]))
pool = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": counter}]), name="pool")
jobs = [start_child(pool, (i,)) for i in range(3)]
def a():
    return whereis(sup, "a")
`)
	a.do(`call(a(), "inc")`)
	a.do(`cast(whereis(sup, "b"), ["x", 1])`)
	a.fails(`call(a(), "crash")`) // a failed execution: nothing of it remains
	a.do(`cast(a(), "crash")`)    // the first restart of sup's window
	a.do(`terminate_child(pool, jobs[1])`)
	src, err := a.s.Dump(1 << 20)
	require.NoError(t, err)
	assert.Contains(t, src.Bound, "counter = worker(\"init\", \"handle_call\", \"handle_cast\")")
	assert.Contains(t, src.Bound, "sup = pid(")
	sameAfter(t, a, snapshotOf(t, a),
		`call(a(), "inc")`,
		`(call(whereis(sup, "b"), "get"), count_children(pool), which_children(sup))`,
		`[call(j, "inc") for j in jobs if is_alive(j)]`,
		`start_child(pool, (7,))`,
		`cast(a(), "crash")`, // the second restart within 60 s: still within intensity 2
		`(is_alive(sup), call(a(), "inc"))`,
		`cast(a(), "crash")`, // the third: sup gives up
		`(is_alive(sup), restarts())`,
	)
	assert.Equal(t, "False", a.do("is_alive(sup)"), "the window was saved: the third crash was one too many")
}

// sameAfter runs each code in a and b, a second apart, and requires the
// same value and steps, or the same error; then the same processes.
func sameAfter(t *testing.T, a, b *box, codes ...string) {
	t.Helper()
	for _, code := range codes {
		a.now = a.now.Add(time.Second)
		b.now = a.now
		ra, errA := a.exec(code)
		rb, errB := b.exec(code)
		if errA != nil || errB != nil {
			require.Error(t, errA, code)
			require.Error(t, errB, code)
			assert.Equal(t, errA.Error(), errB.Error(), code)
			continue
		}
		assert.Equal(t, ra.Value, rb.Value, code)
		assert.Equal(t, ra.Steps, rb.Steps, code)
	}
	assert.Equal(t, a.processes(), b.processes())
}

// TestSnapshotFunctionsInState: a worker whose state holds functions (a
// table of callbacks, as a gen_server's state holds funs: defs, a
// global's lambda, a pure maker's closure made in init, in lists, dicts
// and tuples, or the state a function itself) is snapshotted, and the
// restored worker calls the same functions.
func TestSnapshotFunctionsInState(t *testing.T) {
	a := newBox(t, engine.Limits{})
	a.do(`def double(x):
    return x * 2
def adder(k):
    return lambda x: x + k
inc = lambda x: x + 1
def init(args):
    return {"fs": [double, inc], "pair": (adder(3), double), "n": 0}
def handle_call(msg, state):
    state["n"] += 1
    return ([f(msg) for f in state["fs"]] + [state["pair"][0](msg), state["n"]], state)
def handle_cast(msg, state):
    state["fs"].append(double if msg == "double" else inc)
    return state
sup = start_supervisor(supervisor(children=[
    {"id": "d", "start": worker(init=init, handle_call=handle_call, handle_cast=handle_cast)},
    {"id": "f", "start": worker(init=lambda args: double, handle_call=lambda msg, state: (state(msg), state))}]))`)
	a.do(`cast(whereis(sup, "d"), "double")`)
	b := snapshotOf(t, a)
	require.NotNil(t, b, "a state with functions is snapshotted")
	const probe = `call(whereis(sup, "d"), 5), call(whereis(sup, "f"), 7)`
	assert.Equal(t, "([10, 6, 10, 8, 1], 14)", a.do(probe))
	assert.Equal(t, "([10, 6, 10, 8, 1], 14)", b.do(probe), "restored")
	sameAfter(t, a, b,
		`cast(whereis(sup, "d"), "inc")`,
		`call(whereis(sup, "d"), 1)`,
		`exit(whereis(sup, "d"), "boom")`, // restarted: init again
		`call(whereis(sup, "d"), 2)`,
	)
}

// TestSnapshotProcessesNotPlain: processes whose worker functions are
// nested defs, or whose state shares a list with a global or holds a
// function, cannot be dumped.
func TestSnapshotProcessesNotPlain(t *testing.T) {
	for _, code := range []string{
		"sup = start_supervisor(supervisor(children=[{\"id\": \"w\", \"start\": worker(init=lambda args: [lambda: 1])}]))",
		"def mk():\n    def init(args):\n        return 0\n    return worker(init=init)\nsup = start_supervisor(supervisor(children=[{\"id\": \"w\", \"start\": mk()}]))",
		"shared = []\ndef init(args):\n    return shared\nsup = start_supervisor(supervisor(children=[{\"id\": \"w\", \"start\": worker(init=init)}]))",
	} {
		a := newBox(t, engine.Limits{})
		a.do(code)
		_, err := a.s.Dump(1 << 20)
		var np *engine.NotPlainError
		require.ErrorAs(t, err, &np, code)
		assert.True(t, strings.Contains(np.Error(), "<0."), "names the process: %v", err)
	}
}

// FuzzLoad: a saved runtime as a corrupt store could hand it back (bytes
// changed anywhere) either fails to load with an error, or loads into a
// runtime that works: its views render and code runs on it.
func FuzzLoad(f *testing.F) {
	a := newBox(f, engine.Limits{})
	for _, code := range []string{otptest.Prelude, otptest.ReadmeTree,
		`sups.append(start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": w}])))`,
		`pids.append(start_child(sups[-1], (4,)))`, `cast(pids[-1], "inc")`} {
		if _, err := a.exec(code); err != nil {
			f.Fatal(err)
		}
	}
	src, err := a.s.Dump(1 << 20)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src.Bound, src.World)
	f.Add("", `{"next":1,"root":1,"now":"2026-01-01T00:00:00Z","procs":[{"n":1,"sup":{"strategy":"one_for_one","intensity":1,"period":1,"auto_shutdown":"never","epoch":"2026-01-01T00:00:00Z"}}]}`)
	f.Fuzz(func(t *testing.T, bound, world string) {
		b := newBox(t, engine.Limits{MaxSteps: 100_000})
		d := &engine.Dump{Data: src.Data, Defs: src.Defs, Bound: bound, World: world}
		if _, err := b.s.Restore(context.Background(), d); err != nil {
			return
		}
		_ = b.processes()
		_, _ = b.exec("which_children(sups[0]) if sups else None")
		_, _ = b.exec("[kill(p) for p in sups]")
		_ = b.processes()
	})
}

// TestSnapshotLambdas: workers whose handlers are lambdas, as the
// language's examples write them (several on a line, on lines of their
// own, in a chunk with defs or without), are dumped with the lambdas at
// their lines and columns: restored, they answer the same, and an error
// inside one points to the same place.
func TestSnapshotLambdas(t *testing.T) {
	a := newBox(t, engine.Limits{})
	a.do(`sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(handle_call=lambda msg, state: (1 // msg, state))}]))`)
	a.do(`counter = worker(init=lambda args: 0,
                 handle_call=lambda msg, state: (state + 1, state + 1),
                 handle_cast=lambda msg, state: state + msg)
def helper(x):
    return x * 2
start_child(sup, {"id": "c", "start": counter})`)
	a.do(`pool = start_supervisor(supervisor(strategy="simple_one_for_one",
    children=[{"start": worker(init=lambda args: args, handle_call=lambda m, s: (s, s))}]))
j = start_child(pool, ("job", 1))`)
	a.do(`call(whereis(sup, "c"), 1)`)
	src, err := a.s.Dump(1 << 20)
	require.NoError(t, err)
	t.Logf("defs:\n%s", strings.Join(src.Defs, "\n---\n"))
	sameAfter(t, a, snapshotOf(t, a),
		`call(whereis(sup, "c"), 1)`,
		`cast(whereis(sup, "c"), 5)`,
		`call(whereis(sup, "c"), 1)`,
		`call(j, "x")`,
		`call(whereis(sup, "w"), 0)`,
		`helper(21)`,
	)
}

// TestSnapshotLambdaLoop: worker definitions made in a loop (a thousand
// lambdas handed to worker(), all garbage but the last) leave the last
// one's source kept: a tree started from it is snapshotted.
func TestSnapshotLambdaLoop(t *testing.T) {
	a := newBox(t, engine.Limits{})
	a.do("for i in range(1000):\n    w = worker(init=lambda args: 0, handle_call=lambda msg, state: (msg, state))")
	a.do(`sup = start_supervisor(supervisor(children=[{"id": "c", "start": w}]))`)
	b := snapshotOf(t, a)
	require.NotNil(t, b)
	assert.Equal(t, `"hi"`, b.do(`call(whereis(sup, "c"), "hi")`))
}

// TestSnapshotRedefined: a worker keeps running the handler it was
// started with after the sandbox redefines it (as an OTP process runs
// old code until it is told otherwise); a snapshot writes that older
// version too, and the global keeps its newest value, a function or not.
func TestSnapshotRedefined(t *testing.T) {
	a := newBox(t, engine.Limits{})
	a.do(`def handle_call(msg, state):
    return ("v1", state)
sup = start_supervisor(supervisor(children=[{"id": "c", "start": worker(handle_call=handle_call)}]))`)
	a.do(`def handle_call(msg, state):
    return ("v2", state)`)
	a.do(`start_child(sup, {"id": "d", "start": worker(handle_call=handle_call)})`)
	a.do(`def other(x):
    return x`)
	a.do(`other = None`)
	src, err := a.s.Dump(1 << 20)
	require.NoError(t, err)
	t.Logf("defs:\n%s", strings.Join(src.Defs, "\n---\n"))
	b := snapshotOf(t, a)
	for _, code := range []string{
		`call(whereis(sup, "c"), 0), call(whereis(sup, "d"), 0), handle_call(0, 1), other`,
		`exit(whereis(sup, "c"), "boom")`,
		`call(whereis(sup, "c"), 0)`, // restarted from its spec: the version it started with
	} {
		assert.Equal(t, a.do(code), b.do(code), code)
	}
	assert.Equal(t, a.processes(), b.processes())

	// Both versions now older than the global, which is data.
	a.do("handle_call = None")
	b = snapshotOf(t, a)
	code := `handle_call, call(whereis(sup, "c"), 0), call(whereis(sup, "d"), 0)`
	assert.Equal(t, `(None, "v1", "v2")`, b.do(code))
	assert.Equal(t, a.do(code), b.do(code))
}

// TestSnapshotClosures: workers made by a function (a factory of worker
// definitions, whose lambdas capture its arguments), in the chunk that
// defines it or a later one, and lambdas that capture a comprehension's
// variable, are snapshotted: each lambda is rebuilt at its line and
// column by a def made for it, called with the values it captured.
func TestSnapshotClosures(t *testing.T) {
	a := newBox(t, engine.Limits{})
	a.do(`def mk(k, name):
    return worker(init=lambda args: k,
                  handle_call=lambda msg, state: (name + ":" + str(state + msg) if msg != "boom" else fail(name), state + msg))
sup = start_supervisor(supervisor(children=[{"id": "a", "start": mk(1, "a")}, {"id": "b", "start": mk(10, "b")}]))`)
	a.do(`start_child(sup, {"id": "c", "start": mk(100, "c")})`)
	a.do(`
pool = start_supervisor(supervisor(strategy="simple_one_for_one",
    children=[{"start": worker(init=lambda args: args[0], handle_call=lambda m, s: (s, s))}]))
ws = [worker(init=lambda args: i * 7, handle_call=lambda m, s: (s, s)) for i in range(2)]
start_child(pool, (3,))`)
	a.do(`start_child(sup, {"id": "d", "start": ws[1]})`)
	src, err := a.s.Dump(1 << 20)
	require.NoError(t, err)
	t.Logf("defs:\n%s", strings.Join(src.Defs, "\n---\n"))
	sameAfter(t, a, snapshotOf(t, a),
		`[call(whereis(sup, id), 5) for id in ["a", "b", "c", "d"]]`,
		`call(whereis(sup, "b"), "boom")`,
		`exit(whereis(sup, "c"), "boom")`,
		`call(whereis(sup, "c"), 1)`,
		`ws[0] == ws[0], call(start_child(sup, {"id": "e", "start": ws[0]}), 0)`,
	)
}

// TestSnapshotCapturedFunctions: a worker's lambda that captured a
// function (a def, a builtin, or a lambda that captured one in turn) is rebuilt
// with the restored functions; a list of such closures too, whose second
// calls the first, a closure of the same lambda: a recursion to
// Starlark, after the restore as before.
func TestSnapshotCapturedFunctions(t *testing.T) {
	a := newBox(t, engine.Limits{})
	a.do(`def double(msg, state):
    return (state * 2, state + msg)
def twice(f):
    return lambda x: f(f(x))
def mk(h):
    return worker(init=lambda args: 1, handle_call=lambda msg, state: h(msg, state))
def inc(x):
    return x + 1
sup = start_supervisor(supervisor(children=[{"id": "w", "start": mk(double)}]))
fs = [twice(inc)]
fs.append(twice(fs[0]))
def over(f):
    return worker(init=lambda args: f(args), handle_call=lambda msg, state: (f(msg), state))
sup2 = start_supervisor(supervisor(children=[{"id": "b", "start": over(len), "args": [1, 2]}]))
twice = None`) // a def that does more than return its closures could make more, which Starlark would see as other functions than the restored ones
	b := snapshotOf(t, a)
	require.NotNil(t, b)
	const overLen = `[call(whereis(sup2, "b"), "abcd"), call(whereis(sup2, "b"), [1])]`
	assert.Equal(t, "[4, 1]", a.do(overLen))
	assert.Equal(t, "[4, 1]", b.do(overLen), "the closure over len, restored")
	sameAfter(t, a, b,
		`[call(whereis(sup, "w"), 3) for i in range(3)]`,
		`[f(1) for f in fs]`,
		`exit(whereis(sup, "w"), "boom")`,
		`call(whereis(sup, "w"), 1)`,
	)
}
