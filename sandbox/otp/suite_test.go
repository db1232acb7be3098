package otp_test

// OTP's supervisor_SUITE (lib/stdlib/test/supervisor_SUITE.erl in
// erlang/otp) against a sandbox's runtime: the cases about behaviour a
// sandbox has, with the names of supervision's TestSupervisorSuite_<case>
// (which run them against protoactor). A sandbox's supervisors are the
// same supervision.Machine; what differs is how processes run (inside
// executions, one message at a time), so the cases that depend on time
// (shutdown timeouts, a child still stopping, a restart loop seen from
// outside) do not apply; docs/supervision.md lists them.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// suitePrelude is the suite's supervisor_1: a child that answers calls
// with its args, stops normally on cast "stop", dies on "die", and logs
// its starts to ctl, which makes a start fail when told to (the suite's
// start_child(error) and supervisor_deadlock). counts is get_child_counts;
// ids lists which_children's ids, marking those not running.
const suitePrelude = `
def ctl_init(args):
    return {"starts": [], "fail": {}}
def ctl_call(msg, state):
    if msg[0] == "start":
        state["starts"].append(msg[1])
        n = state["fail"].get(msg[1], 0)
        state["fail"][msg[1]] = n - 1
        return (n > 0, state)
    if msg[0] == "fail":
        state["fail"][msg[1]] = msg[2]
        return (None, state)
    if msg[0] == "starts":
        starts = list(state["starts"])
        state["starts"] = []
        return (starts, state)
ctl = whereis(start_supervisor(supervisor(children=[{"id": "ctl", "start": worker(init=ctl_init, handle_call=ctl_call)}]), name="ctl"), "ctl")
def c_init(args):
    if call(ctl, ("start", args[0])):
        fail("error")
    if len(args) > 1 and args[1] == "ignore":
        return ignore
    return args
def c_cast(msg, state):
    if msg == "stop":
        exit(self(), "normal")
    if msg == "die":
        fail("died")
    return state
child = worker(init=c_init, handle_call=lambda msg, state: (state, state), handle_cast=c_cast)
def spec(id, **kw):
    s = {"id": id, "start": child, "args": (id,)}
    s.update(kw)
    return s
def counts(s):
    c = count_children(s)
    return [c["specs"], c["active"], c["supervisors"], c["workers"]]
def ids(s):
    out = []
    for c in which_children(s):
        if c["pid"] == None:
            out.append(c["id"] + ":undefined")
        elif c["pid"] == "restarting":
            out.append(c["id"] + ":restarting")
        else:
            out.append(c["id"])
    return out
def pids(s):
    return [c["pid"] for c in which_children(s)]
def starts():
    return call(ctl, ("starts",))
`

// suiteBox is a sandbox with the suite's prelude.
func suiteBox(t *testing.T, limits engine.Limits) *box {
	b := newBox(t, limits)
	b.do(suitePrelude)
	return b
}

// eq runs each expression and checks its value.
func (b *box) eq(pairs ...string) {
	b.t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		assert.Equal(b.t, pairs[i+1], b.do(pairs[i]), pairs[i])
	}
}

// failsWith runs code that must fail with an error containing want.
func (b *box) failsWith(code, want string) {
	b.t.Helper()
	assert.Contains(b.t, b.fails(code).Error(), want, code)
}

func TestSupervisorSuite_sup_start_normal(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="one_for_one", intensity=2, period=3600))`)
	b.do(`exit(sup, "shutdown")`)
	b.eq(`is_alive(sup)`, "False")
}

func TestSupervisorSuite_sup_start_ignore_child(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))`)
	b.eq(`start_child(sup, spec("child1", args=("child1", "ignore"), shutdown=1000)) == None`, "True",
		`c2 = start_child(sup, spec("child2", shutdown=1000))`, "",
		`which_children(sup) == [{"id": "child2", "pid": c2, "type": "worker"}, {"id": "child1", "pid": None, "type": "worker"}]`, "True",
		`counts(sup)`, "[2, 1, 0, 2]")
}

func TestSupervisorSuite_sup_start_ignore_temporary_child(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600, children=[
    spec("child1", args=("child1", "ignore"), restart="temporary"), spec("child2", restart="temporary")]))`)
	b.eq(`ids(sup)`, `["child2"]`, `counts(sup)`, "[1, 1, 0, 1]")
}

func TestSupervisorSuite_sup_start_ignore_temporary_child_start_child(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))`)
	b.eq(`start_child(sup, spec("child1", args=("child1", "ignore"), restart="temporary")) == None`, "True",
		`type(start_child(sup, spec("child2", restart="temporary")))`, `"pid"`,
		`ids(sup)`, `["child2"]`, `counts(sup)`, "[1, 1, 0, 1]")
}

func TestSupervisorSuite_sup_start_ignore_temporary_child_start_child_simple(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600,
    children=[{"start": child, "args": ("child1",), "restart": "temporary"}]))`)
	b.eq(`start_child(sup, ("ignore",)) == None`, "True",
		`c2 = start_child(sup, ())`, "",
		`which_children(sup) == [{"id": None, "pid": c2, "type": "worker"}]`, "True",
		`counts(sup)`, "[1, 1, 0, 1]")
}

func TestSupervisorSuite_sup_start_ignore_permanent_child_start_child_simple(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600,
    children=[{"start": child, "args": ("child1",)}]))`)
	b.eq(`start_child(sup, ("ignore",)) == None`, "True",
		`c2 = start_child(sup, ())`, "",
		`which_children(sup) == [{"id": None, "pid": c2, "type": "worker"}]`, "True",
		`counts(sup)`, "[1, 1, 0, 1]")
	b.do(`exit(sup, "shutdown")`)
	b.eq(`is_alive(sup)`, "False", `is_alive(c2)`, "False")
}

// sup_start_error_return: what a supervisor's init returns is, in a
// sandbox, what start_supervisor is given.
func TestSupervisorSuite_sup_start_error_return(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.failsWith(`start_supervisor("invalid")`, "sup must be a supervisor definition, supervisor(...), got string")
}

func TestSupervisorSuite_sup_start_child_returns_error(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))`)
	b.do(`call(ctl, ("fail", "child1", 1))`)
	b.failsWith(`start_child(sup, spec("child1"))`, `child "child1" failed to start: error (in c_init at <sandbox>:`)
	b.eq(`which_children(sup)`, "[]")
}

func TestSupervisorSuite_sup_start_restart_child_returns_error(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600, children=[spec("child1")]))`)
	b.do(`terminate_child(sup, "child1")`)
	b.do(`call(ctl, ("fail", "child1", 1))`)
	b.failsWith(`restart_child(sup, "child1")`, `restart_child(<0.4.0>, "child1"): child "child1" failed to start: error`)
	b.eq(`ids(sup)`, `["child1:undefined"]`)
}

func TestSupervisorSuite_sup_start_child_returns_error_simple(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600, children=[{"start": child, "args": ("c",)}]))`)
	b.do(`call(ctl, ("fail", "c", 2))`)
	b.failsWith(`start_child(sup, ("return", "error"))`, `failed to start: error`)
	b.failsWith(`start_child(sup, ("return", "error_reason"))`, `failed to start: error`)
	b.eq(`which_children(sup)`, "[]")
}

func TestSupervisorSuite_sup_start_map(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(children=[spec("child1"), spec("child2", shutdown="brutal_kill"), {"id": "child3", "start": supervisor()}]))`)
	b.eq(`get_childspec(sup, "child1")`, `{"id": "child1", "restart": "permanent", "shutdown": 5000, "type": "worker", "significant": False}`,
		`get_childspec(sup, "child2")`, `{"id": "child2", "restart": "permanent", "shutdown": "brutal_kill", "type": "worker", "significant": False}`,
		`get_childspec(sup, "child3")`, `{"id": "child3", "restart": "permanent", "shutdown": "infinity", "type": "supervisor", "significant": False}`)
	b.failsWith(`get_childspec(sup, "child4")`, "not_found")
}

func TestSupervisorSuite_sup_start_map_simple(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": child, "args": ("c",), "restart": "temporary"}]))
kids = [start_child(sup, ()) for i in range(3)]`)
	b.eq(`[get_childspec(sup, k) for k in kids] == [{"id": None, "restart": "temporary", "shutdown": 5000, "type": "worker", "significant": False}] * 3`, "True")
	b.failsWith(`get_childspec(sup, ctl)`, "not_found")
}

func TestSupervisorSuite_sup_start_map_faulty_specs(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.failsWith(`start_supervisor(supervisor(children=[{"start": child}]))`, "missing_id")
	b.failsWith(`start_supervisor(supervisor(children=[{"id": "child2"}]))`, "missing_start")
	b.do(`sup = start_supervisor(supervisor(children=[{"id": "child3", "start": child, "args": ("child3",), "silly_flag": True}]))`)
	b.eq(`ids(sup)`, `["child3"]`)
	b.failsWith(`start_supervisor(supervisor(children=["child4"]))`, "invalid_child_spec")
}

// sup_stop_infinity and sup_stop_brutal_kill: the children are stopped
// with the tree. (How each ended, shutdown or killed, leaves no trace in
// a sandbox: a worker has no terminate callback.)
func TestSupervisorSuite_sup_stop_infinity(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))
c1 = start_child(sup, {"id": "child1", "start": supervisor(), "shutdown": "infinity"})
c2 = start_child(sup, spec("child2", shutdown="infinity"))
exit(sup, "shutdown")`)
	b.eq(`[is_alive(p) for p in (sup, c1, c2)]`, "[False, False, False]")
}

func TestSupervisorSuite_sup_stop_brutal_kill(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))
c1 = start_child(sup, spec("child1", shutdown=1000))
c2 = start_child(sup, spec("child2", shutdown="brutal_kill"))
exit(sup, "shutdown")`)
	b.eq(`[is_alive(p) for p in (sup, c1, c2)]`, "[False, False, False]")
}

func TestSupervisorSuite_extra_return(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600, children=[spec("child1")]))
cpid = whereis(sup, "child1")`)
	for _, c := range []string{`terminate_child(sup, "hej")`, `delete_child(sup, "hej")`, `restart_child(sup, "hej")`} {
		b.failsWith(c, "not_found")
	}
	b.failsWith(`delete_child(sup, "child1")`, "running")
	b.failsWith(`restart_child(sup, "child1")`, "running")
	b.eq(`pids(sup) == [cpid]`, "True", `counts(sup)`, "[1, 1, 0, 1]")
	b.do(`terminate_child(sup, "child1")`)
	b.eq(`is_alive(cpid)`, "False", `ids(sup)`, `["child1:undefined"]`, `counts(sup)`, "[1, 0, 0, 1]")
	b.eq(`cpid2 = restart_child(sup, "child1")`, "", `pids(sup) == [cpid2]`, "True", `counts(sup)`, "[1, 1, 0, 1]")
	b.do(`terminate_child(sup, "child1")
terminate_child(sup, "child1")
delete_child(sup, "child1")`)
	b.failsWith(`restart_child(sup, "child1")`, "not_found")
	b.eq(`which_children(sup)`, "[]", `counts(sup)`, "[0, 0, 0, 0]")
	b.do(`cpid3 = start_child(sup, spec("child1"))`)
	b.eq(`counts(sup)`, "[1, 1, 0, 1]")
	b.do(`cast(cpid3, "die")`) // restarted automatically
	b.eq(`whereis(sup, "child1") not in (None, cpid3)`, "True", `counts(sup)`, "[1, 1, 0, 1]")
}

func TestSupervisorSuite_child_adm(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600, children=[spec("child1")]))
cpid = whereis(sup, "child1")`)
	b.eq(`counts(sup)`, "[1, 1, 0, 1]")
	b.failsWith(`start_child(sup, spec("child1"))`, `already_started: child "child1" of <0.4.0> is running as <0.5.0>`)
	b.failsWith(`terminate_child(sup, "hej")`, "not_found")
	b.do(`terminate_child(sup, "child1")`)
	b.eq(`is_alive(cpid)`, "False", `ids(sup)`, `["child1:undefined"]`, `counts(sup)`, "[1, 0, 0, 1]")
	b.do(`terminate_child(sup, "child1")`) // like deleting something that does not exist: ok
	b.failsWith(`start_child(sup, spec("child1"))`, "already_present")
	b.eq(`cpid2 = restart_child(sup, "child1")`, "", `pids(sup) == [cpid2]`, "True", `counts(sup)`, "[1, 1, 0, 1]")
	b.failsWith(`restart_child(sup, "child1")`, "running")
	b.failsWith(`restart_child(sup, "child2")`, "not_found")
	b.failsWith(`delete_child(sup, "child1")`, "running")
	b.failsWith(`delete_child(sup, "hej")`, "not_found")
	b.do(`terminate_child(sup, "child1")
delete_child(sup, "child1")`)
	b.failsWith(`restart_child(sup, "child1")`, "not_found")
	b.eq(`which_children(sup)`, "[]", `counts(sup)`, "[0, 0, 0, 0]")
	b.eq(`cpid3 = start_child(sup, spec("child1"))`, "", `pids(sup) == [cpid3]`, "True", `counts(sup)`, "[1, 1, 0, 1]")
	b.failsWith(`terminate_child(sup, cpid3)`, "not_found")
	b.eq(`pids(sup) == [cpid3]`, "True")
	// A supervisor that is not there: noproc.
	b.do(`foo = start_supervisor(supervisor())
kill(foo)`)
	for _, c := range []string{`start_child(foo, spec("child1"))`, `terminate_child(foo, "child1")`, `delete_child(foo, "child1")`,
		`which_children(foo)`, `count_children(foo)`} {
		b.failsWith(c, "noproc")
	}
}

func TestSupervisorSuite_child_adm_simple(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600, children=[{"start": child, "args": ("child",)}]))`)
	b.eq(`which_children(sup)`, "[]", `counts(sup)`, "[1, 0, 0, 0]")
	b.eq(`c1 = start_child(sup, ())`, "", `which_children(sup) == [{"id": None, "pid": c1, "type": "worker"}]`, "True", `counts(sup)`, "[1, 1, 0, 1]")
	b.eq(`c2 = start_child(sup, ())`, "", `sorted(pids(sup)) == [c1, c2]`, "True", `counts(sup)`, "[1, 2, 0, 2]")
	b.failsWith(`terminate_child(sup, "child1")`, "simple_one_for_one")
	b.eq(`counts(sup)`, "[1, 2, 0, 2]")
	b.do(`terminate_child(sup, c1)`)
	b.eq(`len(which_children(sup))`, "1", `counts(sup)`, "[1, 1, 0, 1]", `is_alive(c1)`, "False")
	b.do(`terminate_child(sup, c1)`) // a process that is gone: ok
	b.eq(`counts(sup)`, "[1, 1, 0, 1]")
	b.failsWith(`terminate_child(sup, ctl)`, "not_found")
	b.eq(`is_alive(ctl)`, "True")
	b.failsWith(`restart_child(sup, "child1")`, "simple_one_for_one")
	b.failsWith(`delete_child(sup, "child1")`, "simple_one_for_one")
}

func TestSupervisorSuite_child_specs(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))`)
	for code, want := range map[string]string{
		`start_child(sup, "hej")`:                                                             "invalid_child_spec",
		`start_child(sup, {"id": "child", "start": "mfa"})`:                                   `"start" must be a worker() or a supervisor()`,
		`start_child(sup, spec("child", restart="prmanent"))`:                                 `invalid_restart_type "prmanent"`,
		`start_child(sup, spec("child", shutdown=-10))`:                                       "invalid_shutdown -10",
		`start_child(sup, spec("child", type="wrker"))`:                                       `invalid_child_type "wrker"`,
		`supervisor(children=[spec("child"), spec("child")])`:                                 `duplicate_child_name "child"`,
		`supervisor(strategy="simple_one_for_one")`:                                           "bad_start_spec",
		`supervisor(strategy="simple_one_for_one", children=[spec("a"), spec("b")])`:          "bad_start_spec",
		`supervisor(strategy="simple_one_for_one", children=[spec("a", restart="prmanent")])`: "invalid_restart_type",
	} {
		b.failsWith(code, want)
	}
	for _, good := range []string{
		`spec("c1", shutdown="infinity")`, `{"id": "c2", "start": supervisor(), "shutdown": 1000}`,
		`spec("c3", restart="temporary")`, `spec("c4", restart="transient")`, `spec("c5", shutdown="infinity")`,
	} {
		b.do(`start_child(sup, ` + good + `)`)
	}
}

func TestSupervisorSuite_sup_flags(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	for code, want := range map[string]string{
		`supervisor(strategy="none_for_one", intensity=2, period=3600)`: "invalid_strategy",
		`supervisor(intensity="infinity")`:                              "invalid_intensity",
		`supervisor(period=0)`:                                          "invalid_period",
		`supervisor(period="infinity")`:                                 "invalid_period",
	} {
		b.failsWith(code, want)
	}
	res, err := b.exec(`sup = start_supervisor(supervisor(silly_flag=True))`)
	assert.NoError(t, err, "unexpected flags are ignored")
	assert.Contains(t, res.Output, "unknown flag silly_flag ignored")
	b.do(`exit(sup, "shutdown")`)
}

func TestSupervisorSuite_multiple_restarts(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=1, period=1))
start_child(sup, spec("child1", shutdown="brutal_kill"))
cast(whereis(sup, "child1"), "die")`)
	for range 3 { // every 2.1 s: never more than one restart within the period
		b.now = b.now.Add(1100 * time.Millisecond) // exec adds the other second
		b.do(`cast(whereis(sup, "child1"), "die")`)
	}
	b.do(`terminate_child(sup, "child1")
delete_child(sup, "child1")
kill(sup)`)
}

func TestSupervisorSuite_one_for_one(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))
c1 = start_child(sup, spec("child1"))
c2 = start_child(sup, spec("child2"))
cast(c1, "die")`)
	b.eq(`len(pids(sup))`, "2", `c2 in pids(sup)`, "True", `c1 in pids(sup)`, "False", `counts(sup)`, "[2, 2, 0, 2]")
	b.do(`cast(c2, "die")`)
	b.do(`cast(pids(sup)[0], "die")`) // a third restart within the hour
	b.eq(`is_alive(sup)`, "False")
}

func TestSupervisorSuite_one_for_one_escalation(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(intensity=4, period=3600))
c1 = start_child(sup, spec("child1"))
c2 = start_child(sup, spec("child2"))
call(ctl, ("fail", "child1", 100))
starts()
cast(c1, "die")`)
	b.eq(`starts()`, `["child1", "child1", "child1", "child1"]`, `[is_alive(sup), is_alive(c2)]`, "[False, False]")
}

func TestSupervisorSuite_one_for_all(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="one_for_all", intensity=2, period=3600))
c1 = start_child(sup, spec("child1"))
c2 = start_child(sup, spec("child2"))
cast(c1, "die")`)
	b.eq(`[is_alive(c1), is_alive(c2)]`, "[False, False]", `len(pids(sup))`, "2", `c1 in pids(sup) or c2 in pids(sup)`, "False",
		`counts(sup)`, "[2, 2, 0, 2]")
	b.do(`cast(pids(sup)[0], "die")`)
	b.do(`cast(pids(sup)[0], "die")`)
	b.eq(`is_alive(sup)`, "False")
}

func TestSupervisorSuite_one_for_all_escalation(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="one_for_all", intensity=4, period=3600))
c1 = start_child(sup, spec("child1"))
c2 = start_child(sup, spec("child2"))
call(ctl, ("fail", "child2", 100))
starts()
cast(c1, "die")`)
	b.eq(`starts()`, `["child1", "child2", "child1", "child2", "child1", "child2", "child1", "child2"]`,
		`[is_alive(sup), is_alive(c2)]`, "[False, False]")
}

func TestSupervisorSuite_one_for_all_other_child_fails_restart(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="one_for_all", intensity=3, period=3600, children=[spec("child1"), spec("child2")]))
c1 = whereis(sup, "child1")
call(ctl, ("fail", "child2", 1))
starts()
cast(c1, "die")`)
	// child1 restarted, child2 failed; the retry stopped child1 and
	// started both again.
	b.eq(`starts()`, `["child1", "child2", "child1", "child2"]`, `ids(sup)`, `["child2", "child1"]`)
}

func TestSupervisorSuite_simple_one_for_one(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600, children=[{"start": child, "args": ("child",)}]))
c1 = start_child(sup, ())
c2 = start_child(sup, ())
cast(c1, "die")`)
	b.eq(`len(pids(sup))`, "2", `c2 in pids(sup)`, "True", `counts(sup)`, "[1, 2, 0, 2]")
	b.do(`cast(c2, "die")`)
	b.do(`cast(pids(sup)[0], "die")`)
	b.eq(`is_alive(sup)`, "False")
}

// simple_one_for_one_extra: the restart keeps the extra arguments.
func TestSupervisorSuite_simple_one_for_one_extra(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600, children=[{"start": child, "args": ("child",)}]))
c1 = start_child(sup, ("extra_info",))
c2 = start_child(sup, ("extra_info",))
cast(c1, "die")`)
	b.eq(`[call(p, "args") for p in pids(sup)]`, `[("child", "extra_info"), ("child", "extra_info")]`, `counts(sup)`, "[1, 2, 0, 2]")
}

func TestSupervisorSuite_simple_one_for_one_escalation(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=4, period=3600, children=[{"start": child}]))
c1 = start_child(sup, ("error",))
c2 = start_child(sup, ("other",))
call(ctl, ("fail", "error", 100))
cast(c1, "die")`)
	b.eq(`[is_alive(sup), is_alive(c2)]`, "[False, False]")
}

func TestSupervisorSuite_rest_for_one(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="rest_for_one", intensity=2, period=3600))
c1 = start_child(sup, spec("child1"))
c2 = start_child(sup, spec("child2"))
c3 = start_child(sup, spec("child3"))`)
	b.eq(`counts(sup)`, "[3, 3, 0, 3]")
	b.do(`cast(c2, "die")`)
	b.eq(`is_alive(c3)`, "False", `len(pids(sup))`, "3", `c1 in pids(sup)`, "True",
		`c2 in pids(sup) or c3 in pids(sup)`, "False", `counts(sup)`, "[3, 3, 0, 3]")
	b.do(`cast(whereis(sup, "child3"), "die")`)
	b.do(`cast(whereis(sup, "child2"), "die")`)
	b.eq(`is_alive(sup)`, "False")
}

func TestSupervisorSuite_rest_for_one_escalation(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="rest_for_one", intensity=4, period=3600))
c1 = start_child(sup, spec("child1"))
c2 = start_child(sup, spec("child2"))
call(ctl, ("fail", "child2", 100))
starts()
cast(c1, "die")`)
	// The retries restart child2 alone: it is the one that failed.
	b.eq(`starts()`, `["child1", "child2", "child2", "child2", "child2"]`, `[is_alive(sup), is_alive(c2)]`, "[False, False]")
}

func TestSupervisorSuite_rest_for_one_other_child_fails_restart(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup = start_supervisor(supervisor(strategy="rest_for_one", intensity=3, period=3600, children=[spec("child1"), spec("child2")]))
call(ctl, ("fail", "child2", 1))
starts()
cast(whereis(sup, "child1"), "die")`)
	b.eq(`starts()`, `["child1", "child2", "child2"]`, `ids(sup)`, `["child2", "child1"]`)
}

// terminations: how child1 ends, and what its restart type makes of it.
func TestSupervisorSuite_normal_shutdown_abnormal_termination(t *testing.T) {
	for _, tc := range []struct {
		name, restart, end string
		want               []string // ids(sup), then counts(sup)
	}{
		{"permanent_normal", "permanent", `cast(c, "stop")`, []string{`["child1"]`, "[1, 1, 0, 1]"}},
		{"transient_normal", "transient", `cast(c, "stop")`, []string{`["child1:undefined"]`, "[1, 0, 0, 1]"}},
		{"temporary_normal", "temporary", `cast(c, "stop")`, []string{`[]`, "[0, 0, 0, 0]"}},
		{"permanent_shutdown", "permanent", `exit(c, "shutdown")`, []string{`["child1"]`, "[1, 1, 0, 1]"}},
		{"permanent_shutdown_term", "permanent", `exit(c, ("shutdown", "some_info"))`, []string{`["child1"]`, "[1, 1, 0, 1]"}},
		{"transient_shutdown", "transient", `exit(c, "shutdown")`, []string{`["child1:undefined"]`, "[1, 0, 0, 1]"}},
		{"transient_shutdown_term", "transient", `exit(c, ("shutdown", "some_info"))`, []string{`["child1:undefined"]`, "[1, 0, 0, 1]"}},
		{"temporary_shutdown", "temporary", `exit(c, "shutdown")`, []string{`[]`, "[0, 0, 0, 0]"}},
		{"temporary_shutdown_term", "temporary", `exit(c, ("shutdown", "some_info"))`, []string{`[]`, "[0, 0, 0, 0]"}},
		{"permanent_abnormal", "permanent", `cast(c, "die")`, []string{`["child1"]`, "[1, 1, 0, 1]"}},
		{"transient_abnormal", "transient", `cast(c, "die")`, []string{`["child1"]`, "[1, 1, 0, 1]"}},
		{"temporary_abnormal", "temporary", `cast(c, "die")`, []string{`[]`, "[0, 0, 0, 0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := suiteBox(t, engine.Limits{})
			b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600))
c = start_child(sup, spec("child1", restart="` + tc.restart + `"))
` + tc.end)
			b.eq(`is_alive(c)`, "False", `ids(sup)`, tc.want[0], `counts(sup)`, tc.want[1])
		})
	}
}

// faulty_application_shutdown: a tree whose child fails in its init does
// not start, and the error says which child and why, down the tree.
func TestSupervisorSuite_faulty_application_shutdown(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`call(ctl, ("fail", "app_faulty_server", 1))`)
	b.failsWith(`start_supervisor(supervisor(children=[{"id": "app_faulty", "start": supervisor(children=[spec("app_faulty_server")])}]), name="app_faulty")`,
		`start_supervisor(sup): child "app_faulty" failed to start: its child "app_faulty_server" failed to start: error (in c_init at <sandbox>:`)
}

func TestSupervisorSuite_temporary_bystander(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`sup1 = start_supervisor(supervisor(strategy="one_for_all", intensity=2, period=300))
sup2 = start_supervisor(supervisor(strategy="rest_for_one", intensity=2, period=300))
c1 = start_child(sup1, spec("child1", shutdown=100))
start_child(sup1, spec("child2", restart="temporary", shutdown=100))
c3 = start_child(sup2, spec("child1", shutdown=100))
start_child(sup2, spec("child2", restart="temporary", shutdown=100))
cast(c1, "stop")
cast(c3, "stop")`)
	b.eq(`[is_alive(sup1), is_alive(sup2)]`, "[True, True]", `ids(sup1)`, `["child1"]`, `ids(sup2)`, `["child1"]`)
}

func TestSupervisorSuite_tree(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`
def sub(children=[]):
    return supervisor(intensity=4, period=3600, children=children)
top = start_supervisor(supervisor(strategy="one_for_all", intensity=4, period=3600))
sup1 = start_child(top, {"id": "supchild1", "start": sub([spec("child1"), spec("child2")])})
sup2 = start_child(top, {"id": "supchild2", "start": sub()})
start_child(top, {"id": "supchild3", "start": sub(), "restart": "transient"})
terminate_child(top, "supchild3")`)
	b.eq(`counts(top)`, "[3, 2, 3, 0]", `counts(sup1)`, "[2, 2, 0, 2]", `counts(sup2)`, "[0, 0, 0, 0]")
	b.do(`c3 = start_child(sup2, spec("child3"))
c4 = start_child(sup2, spec("child4"))
sup1_children = pids(sup1)`)
	b.eq(`counts(sup1)`, "[2, 2, 0, 2]", `counts(sup2)`, "[2, 2, 0, 2]")
	b.do(`cast(c4, "die")`)
	b.eq(`pids(sup1) == sup1_children`, "True", `whereis(sup2, "child4") not in (None, c4)`, "True", `whereis(sup2, "child3") == c3`, "True")
	b.do(`call(ctl, ("fail", "child3", 100))
cast(c3, "die")`)
	b.eq(`ids(top)`, `["supchild3", "supchild2", "supchild1"]`, `counts(top)`, "[3, 3, 3, 0]",
		`ids(whereis(top, "supchild1"))`, `["child2", "child1"]`,
		`which_children(whereis(top, "supchild2"))`, "[]", `which_children(whereis(top, "supchild3"))`, "[]")
}

func TestSupervisorSuite_count_children(t *testing.T) {
	b := suiteBox(t, engine.Limits{MaxActors: 2100, MaxSteps: 1e8, MaxHeapBytes: 64 << 20})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600, children=[{"start": child, "args": ("c",), "restart": "temporary"}]))
for i in range(1000):
    start_child(sup, ())`)
	b.eq(`len(which_children(sup))`, "1000", `counts(sup)`, "[1, 1000, 0, 1000]")
	b.do(`for i in range(1000):
    start_child(sup, ())`)
	b.eq(`counts(sup)`, "[1, 2000, 0, 2000]", `which_children(sup) == which_children(sup)`, "True")
	b.do(`for p in pids(sup):
    kill(p)`)
	b.eq(`counts(sup)`, "[1, 0, 0, 0]")
}

func TestSupervisorSuite_count_children_supervisor(t *testing.T) {
	b := suiteBox(t, engine.Limits{MaxActors: 2100, MaxSteps: 1e8, MaxHeapBytes: 64 << 20})
	b.do(`sup = start_supervisor(supervisor(strategy="simple_one_for_one", intensity=2, period=3600, children=[{"start": supervisor(), "restart": "temporary"}]))
for i in range(1000):
    start_child(sup, ())`)
	b.eq(`counts(sup)`, "[1, 1000, 1000, 0]")
	b.do(`for i in range(1000):
    start_child(sup, ())`)
	b.eq(`counts(sup)`, "[1, 2000, 2000, 0]", `which_children(sup) == which_children(sup)`, "True")
	b.do(`for p in pids(sup):
    kill(p)`)
	b.eq(`counts(sup)`, "[1, 0, 0, 0]")
}

func TestSupervisorSuite_do_not_save_child_specs_for_temporary_children(t *testing.T) {
	for _, strategy := range []string{"one_for_all", "one_for_one", "rest_for_one"} {
		for how, end := range map[string]string{
			"kill": `kill(whereis(sup, "%s"))`, "normal": `cast(whereis(sup, "%[1]s"), "stop")`,
			"abnormal": `cast(whereis(sup, "%[1]s"), "die")`, "supervisor": `terminate_child(sup, "%[1]s")`,
		} {
			t.Run(strategy+"/"+how, func(t *testing.T) {
				b := suiteBox(t, engine.Limits{})
				b.do(`sup = start_supervisor(supervisor(strategy="` + strategy + `", intensity=2, period=3600))`)
				// Each step is an execution: the next one sees the exit
				// handled, as the suite's terminate waits for it.
				again := func(child string) error {
					b.do(`start_child(sup, ` + child + `)`)
					id, _, _ := strings.Cut(strings.TrimPrefix(child, `spec("`), `"`)
					b.do(fmt.Sprintf(end, id))
					_, err := b.exec(`start_child(sup, ` + child + `)`)
					return err
				}
				err := again(`spec("child1")`)
				if how == "supervisor" {
					assert.ErrorContains(t, err, "already_present")
				} else {
					assert.ErrorContains(t, err, "already_started")
				}
				err = again(`spec("child2", restart="transient")`)
				if how == "supervisor" || how == "normal" {
					assert.ErrorContains(t, err, "already_present")
				} else {
					assert.ErrorContains(t, err, "already_started")
				}
				assert.NoError(t, again(`spec("child3", restart="temporary")`))
			})
		}
	}
}

// simple_global_supervisor: a nested supervisor and its child, killed,
// exited or restarted, are found again under their ids.
func TestSupervisorSuite_simple_global_supervisor(t *testing.T) {
	setup := `top = start_supervisor(supervisor(strategy="one_for_all", intensity=3, period=60, children=[
    {"id": "middle", "start": supervisor(strategy="one_for_all", intensity=3, period=60, children=[spec("child", shutdown=2000)]), "shutdown": 2000}]))
def server():
    return whereis(whereis(top, "middle"), "child")
sup2_1, server_1 = whereis(top, "middle"), server()`
	for name, code := range map[string]string{
		"kill_supervisor": `kill(sup2_1)`,
		"kill_worker":     `kill(server_1)`,
		"exit_worker":     `cast(server_1, "stop")`,
		"restart_worker":  `terminate_child(sup2_1, "child")` + "\n" + `restart_child(sup2_1, "child")`,
	} {
		t.Run(name, func(t *testing.T) {
			b := suiteBox(t, engine.Limits{})
			b.do(setup)
			b.do(code)
			b.eq(`type(server())`, `"pid"`, `server() != server_1`, "True")
			if name == "kill_supervisor" {
				b.eq(`whereis(top, "middle") != sup2_1`, "True")
			}
			b.do(`server_2, sup2_2 = server(), whereis(top, "middle")
kill(top)`)
			b.eq(`[is_alive(p) for p in (top, sup2_2, server_2)]`, "[False, False, False]")
		})
	}
}

// order_of_children: pids are numbered in start order, so the children
// of a tree started with ids that do not sort alike have growing pids;
// a rest_for_one restart starts the later ones again in order.
func TestSupervisorSuite_order_of_children(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	b.do(`ids_in_order = ["ch7", "ch3", "ch10", "ch2", "ch5"]
sup = start_supervisor(supervisor(strategy="rest_for_one", intensity=2, period=3600, children=[spec(i, shutdown=1000) for i in ids_in_order]))
def by_pid():
    return [c["id"] for c in sorted(which_children(sup), key=lambda c: c["pid"])]
starts()`)
	b.eq(`by_pid()`, `["ch7", "ch3", "ch10", "ch2", "ch5"]`)
	b.do(`old = {c["id"]: c["pid"] for c in which_children(sup)}
cast(whereis(sup, "ch10"), "die")`)
	b.eq(`starts()`, `["ch10", "ch2", "ch5"]`, `by_pid()`, `["ch7", "ch3", "ch10", "ch2", "ch5"]`,
		`[i for i in ids_in_order if whereis(sup, i) == old[i]]`, `["ch7", "ch3"]`)
}

func TestSupervisorSuite_significant_temporary(t *testing.T) {
	for auto, alive := range map[string]string{"never": "True", "any_significant": "False", "all_significant": "False"} {
		t.Run(auto, func(t *testing.T) {
			b := suiteBox(t, engine.Limits{})
			sig := "True"
			if auto == "never" {
				sig = "False"
			}
			b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600, auto_shutdown="` + auto + `",
    children=[spec("child1", restart="temporary", significant=` + sig + `), spec("child2")]))
c2 = whereis(sup, "child2")
cast(whereis(sup, "child1"), "stop")`)
			b.eq(`is_alive(sup)`, alive, `is_alive(c2)`, alive)
		})
	}
}

func TestSupervisorSuite_significant_transient(t *testing.T) {
	for _, auto := range []string{"any_significant", "all_significant"} {
		t.Run(auto, func(t *testing.T) {
			b := suiteBox(t, engine.Limits{})
			b.do(`sup = start_supervisor(supervisor(intensity=2, period=3600, auto_shutdown="` + auto + `",
    children=[spec("child1", restart="transient", significant=True), spec("child2")]))
cast(whereis(sup, "child1"), "die")`)
			b.eq(`is_alive(sup)`, "True", `ids(sup)`, `["child2", "child1"]`)
			b.do(`exit(whereis(sup, "child1"), "shutdown")`)
			b.eq(`is_alive(sup)`, "False")
		})
	}
}

func TestSupervisorSuite_significant_simple(t *testing.T) {
	b := suiteBox(t, engine.Limits{})
	for _, auto := range []string{"any_significant", "all_significant"} {
		b.failsWith(`supervisor(strategy="simple_one_for_one", auto_shutdown="`+auto+`", children=[{"start": child, "restart": "temporary", "significant": True}])`,
			"bad_combination")
	}
}

func TestSupervisorSuite_significant_bystander(t *testing.T) {
	for _, strategy := range []string{"one_for_all", "rest_for_one"} {
		t.Run(strategy, func(t *testing.T) {
			b := suiteBox(t, engine.Limits{})
			b.do(`sup = start_supervisor(supervisor(strategy="` + strategy + `", intensity=2, period=3600, auto_shutdown="any_significant",
    children=[spec("child1"), spec("child2", restart="transient", significant=True)]))
cast(whereis(sup, "child1"), "die")`)
			b.eq(`is_alive(sup)`, "True", `ids(sup)`, `["child2", "child1"]`)
		})
	}
}
