package otp_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// errorsSetup defines what the error cases use: a one_for_one tree with
// a running child "a", a kept but stopped child "b", a pool, a worker
// without callbacks and one whose call crashes.
const errorsSetup = `
w = worker(init=lambda args: 0, handle_call=lambda msg, state: (state, state), handle_cast=lambda msg, state: state)
def bad_call(msg, state):
    return {}[msg]
sup = start_supervisor(supervisor(intensity=10, children=[{"id": "a", "start": w}, {"id": "b", "start": w}]))
terminate_child(sup, "b")
pool = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": w}]))
p1 = start_child(pool, ())
mute = start_child(sup, {"id": "mute", "start": worker()})
crashy = start_child(sup, {"id": "crashy", "start": worker(handle_call=bad_call)})
dead = start_child(pool, ())
kill(dead)
`

// TestErrorsTeach checks the wording of the builtins' errors: each names
// the call, what was expected and what came, and what to do.
func TestErrorsTeach(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		// Arguments: the signature shows what the builtin takes.
		{`call(whereis(sup, "a"))`, `call(pid, msg, timeout=5): missing argument for msg`},
		{`worker(handle_info=1)`, `worker(init=None, handle_call=None, handle_cast=None): unexpected keyword argument "handle_info"`},
		{`worker(init=1)`, `worker(init=None, handle_call=None, handle_cast=None): init must be a function such as def init(args): return state, got int 1`},
		{`call(42, "x")`, `call(pid, msg, timeout=5): pid must be a pid, got int 42`},
		{`call(whereis(sup, "a"), 1, timeout=-1)`, `call(pid, msg, timeout=5): timeout must be a positive number of seconds, got int -1`},
		{`which_children("sup")`, `which_children(sup): sup must be a pid, got string "sup"`},
		{`which_children(whereis(sup, "a"))`, `which_children(<0.3.0>): <0.3.0> is a worker, not a supervisor; which_children takes a supervisor's pid, from start_supervisor or whereis(sup, id)`},
		{`exit(whereis(sup, "a"), 3)`, `exit(pid, reason="normal"): reason must be text ("normal", "shutdown", "kill" or any other reason) or ("shutdown", term); got int 3`},
		{`terminate_child(sup, 1)`, `terminate_child(sup, id): id must be a child id (a string) or, under simple_one_for_one, a child's pid; got int 1`},
		{`restart_child(sup, None)`, `restart_child(sup, id): id must be a child id (a string), got None`},
		{`start_supervisor(w)`, `start_supervisor(sup, name=None): sup must be a supervisor definition, supervisor(...), got worker <worker>`},
		{`start_supervisor(supervisor(), name=1)`, `start_supervisor(sup, name=None): name must be a string, got int 1`},
		{`self(1)`, `self(): got 1 arguments, want 0`},

		// Flags and child specs: OTP's error term, and what is wanted.
		{`supervisor(strategy="all_for_one")`, `invalid_strategy "all_for_one": want one_for_one, one_for_all, rest_for_one or simple_one_for_one`},
		{`supervisor(intensity=-1)`, `invalid_intensity -1: want a number of restarts, 0 or more`},
		{`supervisor(period=0)`, `invalid_period 0: want a whole number of seconds, 1 or more`},
		{`supervisor(auto_shutdown="sometimes")`, `invalid_auto_shutdown "sometimes": want never, any_significant or all_significant`},
		{`supervisor(strategy="simple_one_for_one", auto_shutdown="any_significant", children=[{"start": w}])`, `bad_combination: a simple_one_for_one supervisor cannot have auto_shutdown "any_significant"`},
		{`supervisor(strategy="simple_one_for_one")`, `supervisor(...): bad_start_spec: a simple_one_for_one supervisor takes exactly one child spec, the template of its children; got 0`},
		{`supervisor(children=[{"id": "x", "start": w}, {"id": "x", "start": w}])`, `supervisor(...): duplicate_child_name "x": two children have that id`},
		{`supervisor(children=w)`, `children must be a list of child specs, got worker <worker>`},
		{`supervisor(children=["x"])`, `supervisor(...): invalid_child_spec: a child spec is a dict such as {"id": "c", "start": worker(...)}, got string "x"`},
		{`start_child(sup, {"start": w})`, `start_child(sup, spec): missing_id: the child spec has no "id"; every child of a one_for_one supervisor needs one, such as {"id": "c", "start": w}`},
		{`start_child(sup, {"id": "c"})`, `start_child(sup, spec): child "c": missing_start: the child spec has no "start"; give it a worker(...) or a supervisor(...)`},
		{`start_child(sup, {"id": "c", "start": 42})`, `start_child(sup, spec): child "c": "start" must be a worker() or a supervisor(), got int 42`},
		{`start_child(sup, {"id": "c", "start": w, "shutdown": -10})`, `child "c": invalid_shutdown -10: want milliseconds (0 or more), "brutal_kill" or "infinity"`},
		{`start_child(sup, {"id": "c", "start": w, "type": "wrker"})`, `child "c": invalid_child_type "wrker": want "worker" or "supervisor"`},
		{`start_child(sup, {"id": "c", "start": w, "type": "supervisor"})`, `child "c": invalid_child_type: "type" is "supervisor" but "start" is a worker()`},
		{`start_child(sup, {"id": "c", "start": w, "significant": 1})`, `child "c": invalid_significant 1: want True or False`},
		{`start_child(sup, {"id": "c", "start": w, "restart": "transient", "significant": True})`, `child "c": bad_combination: a significant child needs a supervisor with auto_shutdown "any_significant" or "all_significant", not "never"`},
		{`supervisor(auto_shutdown="any_significant", children=[{"id": "c", "start": w, "significant": True}])`, `child "c": bad_combination: a significant child must be "transient" or "temporary", not "permanent"`},
		{`start_child(sup, {"id": "c", "start": w, "args": 5})`, `child "c": "args" must be a tuple of arguments for init, got int 5`},

		// The supervisor API: which child of which supervisor, what to do.
		{`start_child(sup, {"id": "a", "start": w})`, `start_child(<0.2.0>, spec): already_started: child "a" of <0.2.0> is running as <0.3.0>; give the new child another id`},
		{`start_child(sup, {"id": "b", "start": w})`, `start_child(<0.2.0>, spec): already_present: <0.2.0> keeps a spec for child "b", which is not running; restart_child(<0.2.0>, "b") starts it, delete_child(<0.2.0>, "b") removes it`},
		{`delete_child(sup, "c2")`, `delete_child(<0.2.0>, "c2"): not_found: <0.2.0> has no child "c2"; which_children(<0.2.0>) lists its children`},
		{`delete_child(sup, "a")`, `delete_child(<0.2.0>, "a"): running: child "a" of <0.2.0> is running as <0.3.0>; terminate_child(<0.2.0>, "a") first`},
		{`restart_child(sup, "a")`, `restart_child(<0.2.0>, "a"): running: child "a" of <0.2.0> is running as <0.3.0>; terminate_child(<0.2.0>, "a") first`},
		{`terminate_child(sup, whereis(sup, "a"))`, `terminate_child(<0.2.0>, <0.3.0>): not_found: <0.2.0> is one_for_one, so its children are terminated by id, such as terminate_child(<0.2.0>, "c"); which_children(<0.2.0>) lists them`},
		{`terminate_child(pool, "x")`, `terminate_child(<0.5.0>, "x"): simple_one_for_one: the children of <0.5.0> have no ids; terminate one by its pid: terminate_child(<0.5.0>, pid)`},
		{`terminate_child(pool, whereis(sup, "a"))`, `terminate_child(<0.5.0>, <0.3.0>): not_found: <0.3.0> is not a child of <0.5.0>; which_children(<0.5.0>) lists them`},
		{`restart_child(pool, "x")`, `restart_child(<0.5.0>, "x"): simple_one_for_one: the children of <0.5.0> have no ids and are not restarted or deleted by hand; start_child(<0.5.0>, args) starts another`},
		{`delete_child(pool, "x")`, `delete_child(<0.5.0>, "x"): simple_one_for_one`},
		{`start_child(sup, (1,))`, `start_child(sup, spec): <0.2.0> is one_for_one, so spec must be a child spec dict such as {"id": "c", "start": worker(...)}; a tuple of arguments is for simple_one_for_one supervisors`},
		{`start_child(pool, [2])`, `start_child(sup, args): <0.5.0> is simple_one_for_one, so args must be a tuple of extra arguments for its template, got list; write (2,) for one argument`},
		{`start_child(pool, {"id": "x", "start": w})`, `start_child(sup, args): <0.5.0> is simple_one_for_one, so args must be a tuple of extra arguments for its template, got dict`},
		{`start_child(sup, {"id": "f", "start": worker(init=lambda args: fail("no db"))})`, `start_child(<0.2.0>, spec): child "f" failed to start: no db (in lambda at <sandbox>:1:68)`},
		{`get_childspec(sup, "zz")`, `get_childspec(<0.2.0>, "zz"): not_found: <0.2.0> has no child "zz"; which_children(<0.2.0>) lists its children`},
		{`get_childspec(pool, "x")`, `get_childspec(<0.5.0>, "x"): not_found: <0.5.0> is simple_one_for_one: its children have no ids; give one of their pids`},
		{`get_childspec(sup, p1)`, `get_childspec(<0.2.0>, <0.6.0>): not_found: <0.2.0> is one_for_one: give a child id, such as get_childspec(<0.2.0>, "c")`},
		{`which_children(dead)`, `which_children(<0.9.0>): noproc: <0.9.0> is not alive`},
		{`start_supervisor(supervisor(), name="app")
start_supervisor(supervisor(), name="app")`, `start_supervisor(sup, name="app"): already_started: a tree named "app" is running as <0.11.0>; give the new tree another name`},

		// Messages.
		{`call(sup, "hello")`, `call(<0.2.0>, "hello"): <0.2.0> is a supervisor: it answers which_children, count_children, get_childspec, start_child, terminate_child, restart_child and delete_child, not call`},
		{`call(dead, "hello")`, `call(<0.9.0>, "hello"): noproc: <0.9.0> is not alive; a restarted child has a new pid, whereis(sup, id) finds it`},
		{`call(mute, "hello")`, `call(<0.7.0>, "hello"): <0.7.0> crashed: it has no handle_call; give its worker() a handle_call(msg, state) that returns (reply, state)`},
		{`call(crashy, "k")`, `call(<0.8.0>, "k"): <0.8.0> crashed: key "k" not in dict (in bad_call at <sandbox>:4:14)`},
	} {
		t.Run(tc.code, func(t *testing.T) {
			b := newBox(t, engine.Limits{})
			b.do(errorsSetup)
			err := b.fails(tc.code)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCallToItselfAndCycles(t *testing.T) {
	b := newBox(t, engine.Limits{})
	b.do(`
def loop(msg, state):
    return (call(self(), msg), state)
sup = start_supervisor(supervisor(intensity=10, children=[{"id": "s", "start": worker(handle_call=loop)}]))
`)
	err := b.fails(`call(whereis(sup, "s"), "x")`)
	assert.Contains(t, err.Error(), `call(<0.3.0>, "x"): <0.3.0> crashed: call(<0.3.0>, "x"): calling_self: <0.3.0> cannot call itself: it would wait for its own reply (in loop at <sandbox>:3:17)`)
}

func TestWarnings(t *testing.T) {
	b := newBox(t, engine.Limits{})
	res, err := b.exec(`
w = worker(init=lambda args: 0, handle_call=lambda msg, state: (state, state))
sup = start_supervisor(supervisor(intesity=3, children=[{"id": "a", "start": w, "restrat": "temporary"}]))
a = whereis(sup, "a")
kill(a)
cast(a, "hello")
cast(sup, "hello")
mute = start_child(sup, {"id": "m", "start": worker()})
cast(mute, "hi")
`)
	assert.NoError(t, err, "unknown keys and flags are ignored, as OTP does")
	assert.Equal(t, strings.Join([]string{
		`warning: supervisor(...): unknown flag intesity ignored (the flags: strategy, intensity, period, auto_shutdown, children)`,
		`warning: supervisor(...): child "a": unknown child spec key "restrat" ignored (the keys: "id", "start", "args", "restart", "shutdown", "type", "significant")`,
		`warning: cast(<0.3.0>, "hello"): <0.3.0> is not alive, the message is dropped; a restarted child has a new pid, whereis(sup, id) finds it`,
		`warning: cast(<0.2.0>, "hello"): <0.2.0> is a supervisor, it ignores casts`,
		"",
	}, "\n"), res.Output)
	var reasons []string
	for _, r := range b.rt.Records() {
		reasons = append(reasons, r.Reason)
	}
	assert.Equal(t, []string{"killed", `<0.5.0> has no handle_cast for "hi"`, "reached_max_restart_intensity"}, reasons,
		"a cast the worker cannot handle crashes it; with the misspelt flag ignored, the intensity is 1")

	// A warning never makes an execution fail: past the output limit it
	// is dropped.
	small := newBox(t, engine.Limits{MaxOutputBytes: 200})
	res, err = small.exec(`
sup = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": worker()}]))
p = start_child(sup, ())
kill(p)
for i in range(100):
    cast(p, i)
`)
	assert.NoError(t, err)
	assert.Less(t, len(res.Output), 200)
}
