// Package otptest generates random sandbox programs over every OTP
// builtin, for the differential replay fuzzers of sandbox/otp and
// sandbox: byte strings in, programs out, so that Go's fuzzer can mutate
// and minimize them.
package otptest

import (
	"fmt"
	"strings"
)

// Prelude defines the workers and helpers the programs use: the first
// execution of every program.
const Prelude = `
def c_init(args):
    return args[0] if args else 0
def c_call(msg, state):
    if msg == "get":
        return (state, state)
    if msg == "crash":
        fail("crash in call")
    if type(msg) == "tuple" and msg[0] == "fwd":
        return (call(msg[1], "get", timeout=1), state)
    if msg == "stop":
        exit(self(), "normal")
    return (state + 1, state + 1)
def c_cast(msg, state):
    if msg == "crash":
        fail("crash in cast")
    if type(msg) == "int" and msg > 0:
        cast(self(), msg - 1)
        return state + 1
    if type(msg) == "tuple" and msg[0] == "tell":
        cast(msg[1], "inc")
        return state
    if msg == "quit":
        exit(self(), "shutdown")
    return state + 1
def maybe_init(args):
    if args and args[0] == "fail":
        fail("init failed")
    if args and args[0] == "ign":
        return ignore
    return len(args)
def mkw(k):
    return worker(init=lambda args: k, handle_call=lambda msg, state: (state, state + k))
w = worker(init=c_init, handle_call=c_call, handle_cast=c_cast)
wb = worker(init=maybe_init, handle_call=c_call, handle_cast=c_cast)
mute = worker()
sups = []
pids = []
r = None
def pick(xs, i):
    live = [x for x in xs if x != None and is_alive(x)]
    return live[i % len(live)] if live else None
def harvest(s):
    for c in which_children(s):
        if type(c["pid"]) == "pid":
            pids.append(c["pid"])
ops = {"inc": lambda v: v + 1, "pick": pick}
def mkh(h):
    return worker(init=lambda args: len(args), handle_call=lambda msg, state: (h(state), h(state)))
K = 1
def getk():
    return K
P = (pick, (lambda v: v,))
def twice_of(f):
    return lambda v: f(f(v))
TW = twice_of(ops["inc"])
BL = (abs, twice_of(abs))
def fs_init(args):
    return {"h": TW, "l": [twice_of(abs)], "t": (pick, abs)}
def fs_call(msg, state):
    if len(state["l"]) < 4:
        state["l"].append(state["l"][-1])
    return (state["h"](1) + state["l"][0](-1) + state["t"][1](-len(state["l"])), state)
fsw = worker(init=fs_init, handle_call=fs_call, handle_cast=c_cast)
`

// chooser turns fuzz bytes into choices, one byte each (so that a
// mutation of the input changes the program locally); past the end, a
// generator seeded by the input goes on.
type chooser struct {
	b    []byte
	i    int
	seed uint64
}

func (c *chooser) n(k int) int {
	if c.i < len(c.b) {
		v := int(c.b[c.i]) % k
		c.i++
		return v
	}
	if c.seed == 0 {
		c.seed = 0x9e3779b97f4a7c15
		for _, x := range c.b {
			c.seed = (c.seed ^ uint64(x)) * 0x100000001b3
		}
	}
	c.seed ^= c.seed << 13
	c.seed ^= c.seed >> 7
	c.seed ^= c.seed << 17
	return int(c.seed % uint64(k))
}

func (c *chooser) of(xs ...string) string { return xs[c.n(len(xs))] }

// lambdaWorker is a worker written inline with lambdas, as the
// language's examples write them.
const lambdaWorker = `worker(init=lambda args: len(args), handle_call=lambda msg, state: (state, state + 1),
    handle_cast=lambda msg, state: state + (fail("crash in cast") if msg == "crash" else 1))`

// childSpec is a random child spec dict literal.
func (c *chooser) childSpec(i int, depth int, auto string) string {
	start := c.of("w", "wb", "mute", "w", lambdaWorker, fmt.Sprintf("mkw(%d)", c.n(3)), "fsw")
	if depth < 2 && c.n(5) == 0 {
		start = c.supervisor(depth + 1)
	}
	restart := c.of("permanent", "transient", "temporary")
	sig := ""
	if restart != "permanent" && auto != "never" && c.n(2) == 0 {
		sig = `, "significant": True`
	}
	args := c.of(`()`, `(5,)`, `("fail",)`, `(1, 2)`, `("ign",)`)
	shutdown := c.of(`5000`, `"brutal_kill"`, `"infinity"`, `0`)
	return fmt.Sprintf(`{"id": "c%d", "start": %s, "args": %s, "restart": "%s", "shutdown": %s%s}`, i, start, args, restart, shutdown, sig)
}

// supervisor is a random supervisor(...) expression.
func (c *chooser) supervisor(depth int) string {
	strategy := c.of("one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one")
	auto := "never"
	var children []string
	if strategy == "simple_one_for_one" {
		children = []string{fmt.Sprintf(`{"start": %s, "restart": "%s"}`, c.of("w", "wb", "mute", lambdaWorker), c.of("permanent", "transient", "temporary"))}
	} else {
		auto = c.of("never", "never", "any_significant", "all_significant")
		for i := range 1 + c.n(4) {
			children = append(children, c.childSpec(i, depth, auto))
		}
	}
	return fmt.Sprintf(`supervisor(strategy="%s", intensity=%d, period=%d, auto_shutdown="%s", children=[%s])`,
		strategy, c.n(4), 1+c.n(5), auto, strings.Join(children, ", "))
}

// op is one random OTP operation, a statement.
func (c *chooser) op() string {
	i, j := c.n(8), c.n(8)
	sup := fmt.Sprintf("pick(sups, %d)", i)
	pid := fmt.Sprintf("pick(pids, %d)", i)
	other := fmt.Sprintf("pick(pids, %d)", j)
	switch c.n(16) {
	case 0, 1:
		return "sups.append(start_supervisor(" + c.supervisor(0) + "))"
	case 2:
		return fmt.Sprintf("pids.append(start_child(%s, %s))", sup, c.of(c.childSpec(4+c.n(3), 0, "never"), "()", `("fail",)`, "(7,)", `("ign",)`))
	case 3:
		if c.n(2) == 0 {
			return "harvest(" + sup + ")"
		}
		return fmt.Sprintf(`pids.append(whereis(%s, "c%d"))`, sup, c.n(5))
	case 4:
		return fmt.Sprintf("r = call(%s, %s)", pid, c.of(`"get"`, `"inc"`, `"crash"`, `("fwd", `+other+`)`, `"stop"`))
	case 5, 6:
		return fmt.Sprintf("cast(%s, %s)", pid, c.of(`"inc"`, `"crash"`, `"crash"`, `3`, `("tell", `+other+`)`, `"quit"`))
	case 7:
		return fmt.Sprintf("exit(%s, %s)", pid, c.of(`"normal"`, `"shutdown"`, `"kill"`, `"boom"`))
	case 8:
		return "kill(" + sup + ")"
	case 9:
		return fmt.Sprintf(`terminate_child(%s, %s)`, sup, c.of(`"c0"`, `"c1"`, `"c2"`, pid))
	case 10:
		return fmt.Sprintf(`pids.append(restart_child(%s, "c%d"))`, sup, c.n(4))
	case 11:
		return fmt.Sprintf(`delete_child(%s, "c%d")`, sup, c.n(4))
	case 12:
		// A table of functions, which snapshots write as references.
		switch c.n(8) {
		case 0:
			return fmt.Sprintf(`ops["k%d"] = lambda v: v - %d`, c.n(4), c.n(9))
		case 2:
			// Closures over functions, and over closures of one lambda (made
			// by a lambda: a def that could make more after a snapshot
			// keeps the journal whole).
			return fmt.Sprintf(`ops["t%d"] = (lambda f: lambda v: f(f(v)))(ops[%s])`, c.n(3), c.of(`"inc"`, `"t0"`, `"t1"`, `"k0"`))
		case 3:
			return fmt.Sprintf(`pids.append(start_child(%s, {"id": "h%d", "start": mkh(%s)}))`, sup, c.n(3), c.of(`ops["inc"]`, `ops["t0"]`, `ops["k1"]`, `abs`))
		case 1:
			return `r = [f(1) for k, f in sorted(ops.items()) if k != "pick"] + [ops["pick"](pids, 0), getk(), K, P[1][0](3), P[0] == ops["inc"], TW(1), BL[1](-2)]`
		case 5:
			// Closures made by a loop, maybe on an execution's first line.
			return fmt.Sprintf(`ops["c%d"] = [%s for j in range(3)][%d]`, c.n(2), c.of("lambda v: v * j", "lambda v, j=j: v + j"), c.n(3))
		case 7:
			// Closures of a def that can make more, which a restore makes
			// by calling it (one calling another is a recursion).
			return fmt.Sprintf(`%s = twice_of(%s)`, c.of(`TW`, `ops["w0"]`, `ops["w1"]`), c.of(`ops["inc"]`, `TW`, `ops["w0"]`, `ops["k0"]`))
		case 6:
			// Tuples of functions, which snapshots rebuild.
			return fmt.Sprintf(`P = (ops[%s], (lambda v: v * %d, ops[%s]))`, c.of(`"inc"`, `"pick"`, `"t0"`), c.n(5), c.of(`"inc"`, `"k0"`, `"c1"`))
		case 4:
			// getk sees K as it was when it was defined, then.
			return fmt.Sprintf("K = %s", c.of("2", `"k"`, "(3, None)", "[4]"))
		}
		return "r = which_children(" + sup + ")"
	case 13:
		// A new version of a handler: running workers (and w) keep theirs.
		return fmt.Sprintf("def c_call(msg, state):\n    return (state * %d, state + 2)", 2+c.n(3))
	case 14:
		return fmt.Sprintf(`r = get_childspec(%s, %s)`, sup, c.of(`"c0"`, `"c1"`, pid))
	case 15:
		return fmt.Sprintf("exit(%s, %s)", sup, c.of(`"shutdown"`, `"normal"`, `"boom"`, `("shutdown", 1)`))
	default:
		return "r = count_children(" + sup + ")"
	}
}

// Program returns the executions of one fuzz input: the prelude, then
// snippets of one to three operations, some made to fail at the end.
func Program(data []byte) []string {
	c := &chooser{b: data}
	first := fmt.Sprintf(`sups.append(start_supervisor(supervisor(strategy="%s", intensity=%d, period=%d, children=[%s])))
harvest(sups[-1])`, c.of("one_for_one", "one_for_all", "rest_for_one"), 2+c.n(4), 1+c.n(5),
		`{"id": "c0", "start": w}, {"id": "c1", "start": w, "args": (3,)}, {"id": "c2", "start": wb, "restart": "transient"}`)
	out := []string{Prelude, first}
	for range 1 + c.n(12) {
		var lines []string
		for range 1 + c.n(3) {
			lines = append(lines, c.op())
		}
		switch c.n(8) {
		case 0:
			lines = append(lines, "1 // 0") // fails: nothing of it remains
		case 1:
			lines = append(lines, "r")
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return out
}
