package otp

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// The builtins of the sandbox language. Each is documented in help.go
// (help(name) and docs/sandbox.md); their errors say what was expected
// and what came, and what to do (explain.go).

// LocalKey is the thread-local key under which a session's threads find
// their sandbox's Runtime: give the session engine.WithLocal(LocalKey, rt)
// and engine.WithWorld(rt).
const LocalKey = "otpbox.otp"

// runtimeOf returns the runtime of the sandbox whose code runs on thread.
func runtimeOf(thread *starlark.Thread) *Runtime {
	rt, _ := thread.Local(LocalKey).(*Runtime)
	return rt
}

// selfOf returns the process whose handler runs on thread (0: the
// sandbox's own code).
func selfOf(thread *starlark.Thread) uint64 {
	p, _ := thread.Local(selfKey).(Pid)
	return p.n
}

// Env is the environment of every sandbox: Starlark's universe, guarded,
// plus the OTP builtins. It is shared by all sandboxes; each builtin finds
// its sandbox's Runtime with LocalKey.
var Env = func() *engine.Env {
	env, err := engine.NewEnv(builtins)
	if err != nil {
		panic(err) // programmer error: the builtins are fixed
	}
	return env
}()

type builtinFunc func(rt *Runtime, thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// builtin wraps fn: it finds the runtime and makes thread pay for the
// work.
func builtin(name string, fn builtinFunc) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		rt := runtimeOf(thread)
		if rt == nil {
			return nil, fmt.Errorf("%s: not inside a sandbox", name)
		}
		defer rt.enter(thread)()
		return fn(rt, thread, b, args, kwargs)
	})
}

var builtins = starlark.StringDict{
	"worker":           builtin("worker", (*Runtime).bWorker),
	"supervisor":       builtin("supervisor", (*Runtime).bSupervisor),
	"start_supervisor": builtin("start_supervisor", (*Runtime).bStartSupervisor),
	"start_child":      builtin("start_child", (*Runtime).bStartChild),
	"terminate_child":  builtin("terminate_child", (*Runtime).bTerminateChild),
	"restart_child":    builtin("restart_child", (*Runtime).bRestartChild),
	"delete_child":     builtin("delete_child", (*Runtime).bDeleteChild),
	"which_children":   builtin("which_children", (*Runtime).bWhichChildren),
	"count_children":   builtin("count_children", (*Runtime).bCountChildren),
	"get_childspec":    builtin("get_childspec", (*Runtime).bGetChildSpec),
	"whereis":          builtin("whereis", (*Runtime).bWhereis),
	"call":             builtin("call", (*Runtime).bCall),
	"cast":             builtin("cast", (*Runtime).bCast),
	"exit":             builtin("exit", (*Runtime).bExit),
	"kill":             builtin("kill", (*Runtime).bKill),
	"self":             builtin("self", (*Runtime).bSelf),
	"is_alive":         builtin("is_alive", (*Runtime).bIsAlive),
	"help":             builtin("help", (*Runtime).bHelp),
	"fail":             starlark.NewBuiltin("fail", bFail),
	"ignore":           ignore,
}

// Names returns the names the sandbox language adds to Starlark's: its
// builtins and values, sorted.
func Names() []string { return builtins.Keys() }

func (rt *Runtime) bWorker(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var init, hc, hcast starlark.Value = starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "init?", &init, "handle_call?", &hc, "handle_cast?", &hcast); err != nil {
		return nil, argError(b.Name(), err)
	}
	d := &workerDef{}
	for _, f := range []struct {
		v    starlark.Value
		dst  *starlark.Callable
		n    string
		want string
	}{
		{init, &d.init, "init", "def init(args): return state"},
		{hc, &d.handleCall, "handle_call", "def handle_call(msg, state): return (reply, state)"},
		{hcast, &d.handleCast, "handle_cast", "def handle_cast(msg, state): return state"},
	} {
		if f.v == starlark.None {
			continue
		}
		c, ok := f.v.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("%s: %s must be a function such as %s, got %s", signatureOf(b.Name()), f.n, f.want, describe(f.v))
		}
		f.v.Freeze()
		*f.dst = c
	}
	return d, nil
}

var strategies = map[string]supervision.Strategy{
	"one_for_one": supervision.OneForOne, "one_for_all": supervision.OneForAll,
	"rest_for_one": supervision.RestForOne, "simple_one_for_one": supervision.SimpleOneForOne,
}

var autoShutdowns = map[string]supervision.AutoShutdown{
	"never": supervision.Never, "any_significant": supervision.AnySignificant, "all_significant": supervision.AllSignificant,
}

// supervisorFlags are supervisor()'s parameters; others are ignored
// with a warning, as OTP ignores flags it does not know.
var supervisorFlags = []string{"strategy", "intensity", "period", "auto_shutdown", "children"}

func (rt *Runtime) bSupervisor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sig := signatureOf(b.Name())
	var known []starlark.Tuple
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if !contains(supervisorFlags, k) {
			engine.Warn(thread, fmt.Sprintf("warning: supervisor(...): unknown flag %s ignored (the flags: strategy, intensity, period, auto_shutdown, children)", k))
			continue
		}
		known = append(known, kv)
	}
	var strategyV, intensityV, periodV, autoV, childrenV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, known, "strategy?", &strategyV, "intensity?", &intensityV,
		"period?", &periodV, "auto_shutdown?", &autoV, "children?", &childrenV); err != nil {
		return nil, argError(b.Name(), err)
	}
	strategy, auto := "one_for_one", "never"
	intensity, period := 1, 5
	if strategyV != nil {
		s, ok := strategyV.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: invalid_strategy %s: want one_for_one, one_for_all, rest_for_one or simple_one_for_one", sig, quote(strategyV))
		}
		strategy = string(s)
	}
	s, ok := strategies[strategy]
	if !ok {
		return nil, fmt.Errorf("%s: invalid_strategy %q: want one_for_one, one_for_all, rest_for_one or simple_one_for_one", sig, strategy)
	}
	if intensityV != nil {
		n, err := starlark.AsInt32(intensityV)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: invalid_intensity %s: want a number of restarts, 0 or more", sig, quote(intensityV))
		}
		intensity = n
	}
	if periodV != nil {
		n, err := starlark.AsInt32(periodV)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: invalid_period %s: want a whole number of seconds, 1 or more", sig, quote(periodV))
		}
		period = n
	}
	if autoV != nil {
		a, ok := autoV.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: invalid_auto_shutdown %s: want never, any_significant or all_significant", sig, quote(autoV))
		}
		auto = string(a)
	}
	a, ok := autoShutdowns[auto]
	if !ok {
		return nil, fmt.Errorf("%s: invalid_auto_shutdown %q: want never, any_significant or all_significant", sig, auto)
	}
	if s == supervision.SimpleOneForOne && a != supervision.Never {
		return nil, fmt.Errorf("%s: bad_combination: a simple_one_for_one supervisor cannot have auto_shutdown %q (its children cannot be significant)", sig, auto)
	}
	d := &supDef{flags: supervision.Flags{Strategy: s, Intensity: intensity, Period: time.Duration(period) * time.Second, AutoShutdown: a}}
	var children []starlark.Value
	switch c := childrenV.(type) {
	case nil:
	case *starlark.List:
		for i := range c.Len() {
			children = append(children, c.Index(i))
		}
	case starlark.Tuple:
		children = c
	default:
		return nil, fmt.Errorf("%s: children must be a list of child specs, got %s", sig, describe(childrenV))
	}
	ids := map[string]bool{}
	for _, v := range children {
		c, err := childDefOf(thread, "supervisor(...)", d.flags, v)
		if err != nil {
			return nil, err
		}
		if s != supervision.SimpleOneForOne {
			if ids[c.spec.ID] {
				return nil, fmt.Errorf("supervisor(...): duplicate_child_name %q: two children have that id", c.spec.ID)
			}
			ids[c.spec.ID] = true
		}
		d.children = append(d.children, c)
	}
	if s == supervision.SimpleOneForOne && len(d.children) != 1 {
		return nil, fmt.Errorf("supervisor(...): bad_start_spec: a simple_one_for_one supervisor takes exactly one child spec, the template of its children; got %d", len(d.children))
	}
	return d, nil
}

// childSpecKeyList are the keys of a child spec dict.
var childSpecKeyList = []string{"id", "start", "args", "restart", "shutdown", "type", "significant"}

// childDefOf checks a child spec dict for a supervisor with flags; fn
// names the call in errors.
func childDefOf(thread *starlark.Thread, fn string, flags supervision.Flags, v starlark.Value) (*childDef, error) {
	m, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf(`%s: invalid_child_spec: a child spec is a dict such as {"id": "c", "start": worker(...)}, got %s`, fn, describe(v))
	}
	get := func(k string) starlark.Value {
		if x, found, _ := m.Get(starlark.String(k)); found {
			return x
		}
		return nil
	}
	c := &childDef{}
	if id := get("id"); id != nil {
		s, ok := id.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: the child id must be a string, got %s", fn, describe(id))
		}
		c.spec.ID = string(s)
	}
	simple := flags.Strategy == supervision.SimpleOneForOne
	if c.spec.ID == "" && !simple {
		return nil, fmt.Errorf(`%s: missing_id: the child spec has no "id"; every child of a %s supervisor needs one, such as {"id": "c", "start": w}`, fn, flags.Strategy)
	}
	child := "the child"
	if c.spec.ID != "" {
		child = fmt.Sprintf("child %q", c.spec.ID)
	}
	for _, k := range m.Keys() {
		if ks, ok := k.(starlark.String); !ok || !contains(childSpecKeyList, string(ks)) {
			engine.Warn(thread, fmt.Sprintf("warning: %s: %s: unknown child spec key %s ignored (the keys: %s)", fn, child, k, childSpecKeys))
		}
	}
	c.start = get("start")
	switch c.start.(type) {
	case *workerDef:
	case *supDef:
		c.spec.Type = supervision.SupervisorChild
	case nil:
		return nil, fmt.Errorf(`%s: %s: missing_start: the child spec has no "start"; give it a worker(...) or a supervisor(...)`, fn, child)
	default:
		return nil, fmt.Errorf(`%s: %s: "start" must be a worker() or a supervisor(), got %s`, fn, child, describe(c.start))
	}
	if t := get("type"); t != nil {
		switch t {
		case starlark.String("worker"), starlark.String("supervisor"):
			if string(t.(starlark.String)) != c.spec.Type.String() {
				return nil, fmt.Errorf(`%s: %s: invalid_child_type: "type" is %s but "start" is a %s()`, fn, child, t, c.spec.Type)
			}
		default:
			return nil, fmt.Errorf(`%s: %s: invalid_child_type %s: want "worker" or "supervisor"`, fn, child, quote(t))
		}
	}
	if a := get("args"); a != nil {
		t, ok := a.(starlark.Tuple)
		if !ok {
			l, isList := a.(*starlark.List)
			if !isList {
				return nil, fmt.Errorf(`%s: %s: "args" must be a tuple of arguments for init, got %s`, fn, child, describe(a))
			}
			for i := range l.Len() {
				t = append(t, l.Index(i))
			}
		}
		t.Freeze()
		c.args = t
	}
	if r := get("restart"); r != nil {
		switch r {
		case starlark.String("permanent"):
			c.spec.Restart = supervision.Permanent
		case starlark.String("transient"):
			c.spec.Restart = supervision.Transient
		case starlark.String("temporary"):
			c.spec.Restart = supervision.Temporary
		default:
			return nil, fmt.Errorf(`%s: %s: invalid_restart_type %s: want "permanent", "transient" or "temporary"`, fn, child, quote(r))
		}
	}
	if sd := get("shutdown"); sd != nil {
		bad := fmt.Errorf(`%s: %s: invalid_shutdown %s: want milliseconds (0 or more), "brutal_kill" or "infinity"`, fn, child, quote(sd))
		switch x := sd.(type) {
		case starlark.String:
			switch x {
			case "brutal_kill":
				c.spec.Shutdown = supervision.BrutalKill
			case "infinity":
				c.spec.Shutdown = supervision.Infinity
			default:
				return nil, bad
			}
		case starlark.Int:
			ms, ok := x.Int64()
			if !ok || ms < 0 || ms > int64(time.Duration(1<<62)/time.Millisecond) {
				return nil, bad
			}
			c.spec.Shutdown = supervision.Timeout(time.Duration(ms) * time.Millisecond)
		default:
			return nil, bad
		}
	}
	if sig := get("significant"); sig != nil {
		b, ok := sig.(starlark.Bool)
		if !ok {
			return nil, fmt.Errorf(`%s: %s: invalid_significant %s: want True or False`, fn, child, quote(sig))
		}
		c.spec.Significant = bool(b)
	}
	if c.spec.Significant {
		switch {
		case flags.AutoShutdown == supervision.Never:
			return nil, fmt.Errorf(`%s: %s: bad_combination: a significant child needs a supervisor with auto_shutdown "any_significant" or "all_significant", not "never"`, fn, child)
		case c.spec.Restart == supervision.Permanent:
			return nil, fmt.Errorf(`%s: %s: bad_combination: a significant child must be "transient" or "temporary", not "permanent" (it would never stop its supervisor)`, fn, child)
		}
	}
	return c, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// procArg returns the live process of a pid argument (nil when it is not
// alive).
func (rt *Runtime) procArg(fn, arg string, v starlark.Value) (*process, Pid, error) {
	p, ok := v.(Pid)
	if !ok {
		return nil, Pid{}, fmt.Errorf("%s: %s must be a pid, got %s", signatureOf(fn), arg, describe(v))
	}
	return rt.proc(p.n), p, nil
}

// supArg returns the live supervisor of a pid argument.
func (rt *Runtime) supArg(fn string, v starlark.Value) (*process, error) {
	p, pid, err := rt.procArg(fn, "sup", v)
	switch {
	case err != nil:
		return nil, err
	case p == nil:
		return nil, fmt.Errorf("%s(%s): %w: %s is not alive (a supervisor that reached its restart intensity is gone; a restarted one has a new pid)", fn, pid, errNoProc, pid)
	case p.kind != supervisorKind:
		return nil, fmt.Errorf("%s(%s): %s is a worker, not a supervisor; %s takes a supervisor's pid, from start_supervisor or whereis(sup, id)", fn, pid, pid, fn)
	}
	return p, nil
}

// supCall unpacks the supervisor argument and runs op on it.
func (rt *Runtime) supCall(thread *starlark.Thread, fn string, supV starlark.Value, op func(m *supervision.Machine) (starlark.Value, error)) (starlark.Value, error) {
	rt.touch()
	sup, err := rt.supArg(fn, supV)
	if err != nil {
		return nil, err
	}
	return rt.supervisorCall(selfOf(thread), sup, fn, op)
}

func pidValue(pid *actor.PID) starlark.Value {
	if n := numberOf(pid); n != 0 {
		return Pid{n}
	}
	return starlark.None
}

// rootProc returns the sandbox's root supervisor, starting it on first
// use: one_for_one over temporary trees, so a tree that gives up is
// removed and nothing escapes the sandbox.
func (rt *Runtime) rootProc() (*process, error) {
	if p := rt.proc(rt.st.root); p != nil {
		return p, nil
	}
	prev := rt.parent
	rt.parent = 0
	defer func() { rt.parent = prev }()
	return rt.startSupervisor(supervision.Spec{Flags: supervision.Flags{Strategy: supervision.OneForOne, Intensity: 1 << 30, Period: time.Second}}, true)
}

func (rt *Runtime) bStartSupervisor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var def, nameV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "sup", &def, "name?", &nameV); err != nil {
		return nil, argError(b.Name(), err)
	}
	d, ok := def.(*supDef)
	if !ok {
		return nil, fmt.Errorf("%s: sup must be a supervisor definition, supervisor(...), got %s", signatureOf(b.Name()), describe(def))
	}
	name := ""
	switch n := nameV.(type) {
	case nil, starlark.NoneType:
	case starlark.String:
		if n == "" {
			return nil, fmt.Errorf("%s: name must not be empty", signatureOf(b.Name()))
		}
		name = string(n)
	default:
		return nil, fmt.Errorf("%s: name must be a string, got %s", signatureOf(b.Name()), describe(nameV))
	}
	rt.touch()
	root, err := rt.rootProc()
	if err != nil {
		return nil, err
	}
	if name == "" {
		rt.st.trees++
		name = fmt.Sprintf("tree%d", rt.st.trees)
	}
	cs := rt.childSpec(&childDef{spec: supervision.ChildSpec{ID: name, Type: supervision.SupervisorChild, Restart: supervision.Temporary}, start: d})
	return rt.supervisorCall(selfOf(thread), root, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
		pid, err := m.StartChild(cs)
		var already *supervision.AlreadyStartedError
		switch {
		case errors.As(err, &already):
			return nil, fmt.Errorf("start_supervisor(sup, name=%q): already_started: a tree named %q is running as %s; give the new tree another name",
				name, name, pidValue(already.PID))
		case err != nil:
			return nil, rt.explainStart("start_supervisor(sup)", name, true, err)
		}
		return pidValue(pid), nil
	})
}

func (rt *Runtime) bStartChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, specV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &specV); err != nil {
		return nil, argError(b.Name(), err)
	}
	rt.touch()
	sup, err := rt.supArg(b.Name(), supV)
	if err != nil {
		return nil, err
	}
	flags := sup.m.Spec().Flags
	if flags.Strategy == supervision.SimpleOneForOne {
		extra, ok := specV.(starlark.Tuple)
		if !ok {
			return nil, fmt.Errorf("start_child(sup, args): %s is simple_one_for_one, so args must be a tuple of extra arguments for its template, got %s%s", Pid{sup.n}, specV.Type(), tupleHint(specV))
		}
		extra.Freeze()
		xs := make([]any, len(extra))
		for i, x := range extra {
			xs[i] = x
		}
		return rt.supervisorCall(selfOf(thread), sup, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
			pid, err := m.StartChildWith(xs)
			if err != nil {
				return nil, rt.explainStart(fmt.Sprintf("start_child(%s, %s)", Pid{sup.n}, engine.Repr(extra, reprBytes)), "", false, err)
			}
			return pidValue(pid), nil
		})
	}
	if _, ok := specV.(starlark.Tuple); ok {
		return nil, fmt.Errorf(`start_child(sup, spec): %s is %s, so spec must be a child spec dict such as {"id": "c", "start": worker(...)}; a tuple of arguments is for simple_one_for_one supervisors`, Pid{sup.n}, flags.Strategy)
	}
	c, err := childDefOf(thread, "start_child(sup, spec)", flags, specV)
	if err != nil {
		return nil, err
	}
	cs := rt.childSpec(c)
	call := fmt.Sprintf("start_child(%s, spec)", Pid{sup.n})
	return rt.supervisorCall(selfOf(thread), sup, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
		pid, err := m.StartChild(cs)
		if err != nil {
			return nil, rt.explainAPI(m, call, Pid{sup.n}, c.spec.ID, err)
		}
		return pidValue(pid), nil
	})
}

// tupleHint suggests the tuple for a list of arguments.
func tupleHint(v starlark.Value) string {
	l, ok := v.(*starlark.List)
	if !ok {
		return ""
	}
	if l.Len() == 1 {
		return fmt.Sprintf("; write (%s,) for one argument", engine.Repr(l.Index(0), reprBytes))
	}
	t := make(starlark.Tuple, l.Len())
	for i := range t {
		t[i] = l.Index(i)
	}
	return fmt.Sprintf("; write %s (a one-element tuple is (x,))", engine.Repr(t, reprBytes))
}

func (rt *Runtime) bTerminateChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, which starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &which); err != nil {
		return nil, argError(b.Name(), err)
	}
	switch which.(type) {
	case Pid, starlark.String:
	default:
		return nil, fmt.Errorf("%s: id must be a child id (a string) or, under simple_one_for_one, a child's pid; got %s", signatureOf(b.Name()), describe(which))
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		sup := supPid(m)
		call := fmt.Sprintf("terminate_child(%s, %s)", sup, which)
		switch w := which.(type) {
		case Pid:
			if m.Spec().Strategy != supervision.SimpleOneForOne {
				return nil, fmt.Errorf(`%s: not_found: %s is %s, so its children are terminated by id, such as terminate_child(%s, "c"); which_children(%s) lists them`, call, sup, m.Spec().Strategy, sup, sup)
			}
			if err := m.TerminateChildPID(pidOf(w.n)); err != nil {
				return nil, fmt.Errorf("%s: not_found: %s is not a child of %s; which_children(%s) lists them", call, w, sup, sup)
			}
		case starlark.String:
			if err := m.TerminateChild(string(w)); err != nil {
				return nil, rt.explainAPI(m, call, sup, string(w), err)
			}
		}
		return starlark.None, nil
	})
}

// supPid is the pid of the supervisor whose machine m is.
func supPid(m *supervision.Machine) Pid {
	return Pid{numberOf(&actor.PID{Id: m.Spec().Name})}
}

// idArgs unpacks (sup, id).
func idArgs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, string, error) {
	var supV, idV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &idV); err != nil {
		return nil, "", argError(b.Name(), err)
	}
	id, ok := idV.(starlark.String)
	if !ok {
		return nil, "", fmt.Errorf("%s: id must be a child id (a string), got %s", signatureOf(b.Name()), describe(idV))
	}
	return supV, string(id), nil
}

func (rt *Runtime) bRestartChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, id, err := idArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		pid, err := m.RestartChild(id)
		if err != nil {
			sup := supPid(m)
			return nil, rt.explainAPI(m, fmt.Sprintf("restart_child(%s, %q)", sup, id), sup, id, err)
		}
		return pidValue(pid), nil
	})
}

func (rt *Runtime) bDeleteChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, id, err := idArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		if err := m.DeleteChild(id); err != nil {
			sup := supPid(m)
			return nil, rt.explainAPI(m, fmt.Sprintf("delete_child(%s, %q)", sup, id), sup, id, err)
		}
		return starlark.None, nil
	})
}

func (rt *Runtime) bWhereis(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, id, err := idArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		for _, c := range m.WhichChildren() {
			if c.ID == id {
				return pidValue(c.PID), nil
			}
		}
		return starlark.None, nil
	})
}

// supOnly unpacks the single supervisor argument.
func supOnly(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &supV); err != nil {
		return nil, argError(b.Name(), err)
	}
	return supV, nil
}

func (rt *Runtime) bWhichChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, err := supOnly(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		children := m.WhichChildren()
		out := make([]starlark.Value, 0, len(children))
		for _, c := range children {
			d := starlark.NewDict(3)
			var id starlark.Value = starlark.None
			if c.ID != "" {
				id = starlark.String(c.ID)
			}
			pid := pidValue(c.PID)
			if c.Restarting {
				pid = starlark.String("restarting")
			}
			_ = d.SetKey(starlark.String("id"), id)
			_ = d.SetKey(starlark.String("pid"), pid)
			_ = d.SetKey(starlark.String("type"), starlark.String(c.Type.String()))
			out = append(out, d)
		}
		return starlark.NewList(out), nil
	})
}

func (rt *Runtime) bCountChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, err := supOnly(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		n := m.CountChildren()
		d := starlark.NewDict(4)
		_ = d.SetKey(starlark.String("specs"), starlark.MakeInt(n.Specs))
		_ = d.SetKey(starlark.String("active"), starlark.MakeInt(n.Active))
		_ = d.SetKey(starlark.String("supervisors"), starlark.MakeInt(n.Supervisors))
		_ = d.SetKey(starlark.String("workers"), starlark.MakeInt(n.Workers))
		return d, nil
	})
}

// bGetChildSpec is OTP's get_childspec(Sup, Id): the spec as the
// supervisor keeps it, defaults applied.
func (rt *Runtime) bGetChildSpec(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, which starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &which); err != nil {
		return nil, argError(b.Name(), err)
	}
	var key string
	switch w := which.(type) {
	case Pid:
		key = w.String()
	case starlark.String:
		key = string(w)
	default:
		return nil, fmt.Errorf("%s: id must be a child id (a string) or, under simple_one_for_one, a child's pid; got %s", signatureOf(b.Name()), describe(which))
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		sup := supPid(m)
		simple := m.Spec().Strategy == supervision.SimpleOneForOne
		_, byPid := which.(Pid)
		if simple != byPid {
			if simple {
				return nil, fmt.Errorf("get_childspec(%s, %s): not_found: %s is simple_one_for_one: its children have no ids; give one of their pids", sup, which, sup)
			}
			return nil, fmt.Errorf(`get_childspec(%s, %s): not_found: %s is %s: give a child id, such as get_childspec(%s, "c")`, sup, which, sup, m.Spec().Strategy, sup)
		}
		spec, err := m.GetChildSpec(key)
		if err != nil {
			return nil, rt.explainAPI(m, fmt.Sprintf("get_childspec(%s, %s)", sup, which), sup, key, err)
		}
		return specDict(spec), nil
	})
}

// specDict is a kept child spec as get_childspec returns it.
func specDict(spec supervision.ChildSpec) *starlark.Dict {
	d := starlark.NewDict(5)
	var id starlark.Value = starlark.None
	if spec.ID != "" {
		id = starlark.String(spec.ID)
	}
	var shutdown starlark.Value
	switch spec.Shutdown {
	case supervision.BrutalKill:
		shutdown = starlark.String("brutal_kill")
	case supervision.Infinity:
		shutdown = starlark.String("infinity")
	default:
		shutdown = starlark.MakeInt64(int64(time.Duration(spec.Shutdown) / time.Millisecond))
	}
	_ = d.SetKey(starlark.String("id"), id)
	_ = d.SetKey(starlark.String("restart"), starlark.String(spec.Restart.String()))
	_ = d.SetKey(starlark.String("shutdown"), shutdown)
	_ = d.SetKey(starlark.String("type"), starlark.String(spec.Type.String()))
	_ = d.SetKey(starlark.String("significant"), starlark.Bool(spec.Significant))
	return d
}

// callTimeout is the default timeout of call(), gen_server's.
const callTimeout = 5 * time.Second

func (rt *Runtime) bCall(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV, msg starlark.Value
	timeout := starlark.Value(starlark.Float(callTimeout.Seconds()))
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pid", &pidV, "msg", &msg, "timeout?", &timeout); err != nil {
		return nil, argError(b.Name(), err)
	}
	secs, ok := starlark.AsFloat(timeout)
	if !ok || secs <= 0 || secs > 1e9 {
		return nil, fmt.Errorf("%s: timeout must be a positive number of seconds, got %s", signatureOf(b.Name()), describe(timeout))
	}
	rt.touch()
	p, pid, err := rt.procArg(b.Name(), "pid", pidV)
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("call(%s, %s)", pid, engine.Repr(msg, reprBytes))
	self := selfOf(thread)
	switch {
	case p == nil:
		return nil, fmt.Errorf("%s: %w: %s is not alive; a restarted child has a new pid, whereis(sup, id) finds it", head, errNoProc, pid)
	case p.n == self:
		return nil, fmt.Errorf("%s: calling_self: %s cannot call itself: it would wait for its own reply", head, pid)
	case p.kind == supervisorKind:
		return nil, fmt.Errorf("%s: %s is a supervisor: it answers which_children, count_children, get_childspec, start_child, terminate_child, restart_child and delete_child, not call", head, pid)
	}
	noHandleCall := p.def.handleCall == nil
	msg.Freeze()
	v, err := rt.call(self, p, message{kind: msgCall, value: msg}, time.Duration(secs*float64(time.Second)), "call")
	if err == nil {
		return v, nil
	}
	if rt.passThrough(err) {
		return nil, err
	}
	var c *Crash
	switch {
	case errors.As(err, &c) && noHandleCall:
		return nil, fmt.Errorf("%s: %s crashed: it has no handle_call; give its worker() a handle_call(msg, state) that returns (reply, state)", head, pid)
	case errors.As(err, &c):
		return nil, fmt.Errorf("%s: %s crashed: %s", head, pid, crashText(c.Msg, c.Backtrace))
	}
	return nil, &reworded{head: head, err: err, trim: "call: "}
}

func (rt *Runtime) bCast(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV, msg starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &pidV, &msg); err != nil {
		return nil, argError(b.Name(), err)
	}
	rt.touch()
	p, pid, err := rt.procArg(b.Name(), "pid", pidV)
	if err != nil {
		return nil, err
	}
	switch {
	case p == nil: // as OTP's cast: never fails, dropped
		engine.Warn(thread, fmt.Sprintf("warning: cast(%s, %s): %s is not alive, the message is dropped; a restarted child has a new pid, whereis(sup, id) finds it",
			pid, engine.Repr(msg, reprBytes), pid))
		return starlark.None, nil
	case p.kind == supervisorKind:
		engine.Warn(thread, fmt.Sprintf("warning: cast(%s, %s): %s is a supervisor, it ignores casts", pid, engine.Repr(msg, reprBytes), pid))
		return starlark.None, nil
	}
	msg.Freeze()
	return starlark.None, rt.deliver(p, message{kind: msgCast, value: msg, from: selfOf(thread)})
}

// errExited unwinds the handler of a process that called exit(self()).
var errExited = errors.New("the process exited")

func (rt *Runtime) bExit(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV starlark.Value
	var reasonV starlark.Value = starlark.String("normal")
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pid", &pidV, "reason?", &reasonV); err != nil {
		return nil, argError(b.Name(), err)
	}
	switch r := reasonV.(type) {
	case starlark.String:
		return rt.signal(thread, b.Name(), pidV, parseReason(string(r)))
	case starlark.Tuple:
		if len(r) == 2 && r[0] == starlark.String("shutdown") {
			// OTP's {shutdown, Term}: a normal stop that carries a term.
			term := engine.Repr(r[1], reprBytes)
			if s, ok := r[1].(starlark.String); ok {
				term = string(s)
			}
			return rt.signal(thread, b.Name(), pidV, supervision.ShutdownWith(term))
		}
	}
	return nil, fmt.Errorf(`%s: reason must be text ("normal", "shutdown", "kill" or any other reason) or ("shutdown", term); got %s`, signatureOf(b.Name()), describe(reasonV))
}

func (rt *Runtime) bKill(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &pidV); err != nil {
		return nil, argError(b.Name(), err)
	}
	return rt.signal(thread, b.Name(), pidV, supervision.Killed)
}

// parseReason reads an exit reason: OTP's atoms, or any other text as an
// abnormal reason.
func parseReason(s string) supervision.Reason {
	switch s {
	case "normal":
		return supervision.Normal
	case "shutdown":
		return supervision.Shutdown
	case "kill", "killed":
		return supervision.Killed
	}
	return supervision.Abnormal(&Crash{Msg: s})
}

// signal sends an exit signal, as OTP's exit(Pid, Reason) to a process
// that does not trap exits: it takes effect at once. A worker ignores
// normal from others; a supervisor traps exits, so only kill stops it
// (it then kills its children), or a signal from its parent: the
// sandbox's code is the parent of the trees it starts, and its signal is
// handled in the tree's mailbox order, as OTP's supervisor handles its
// parent's 'EXIT': it stops its children in order, then exits.
func (rt *Runtime) signal(thread *starlark.Thread, fn string, pidV starlark.Value, r supervision.Reason) (starlark.Value, error) {
	rt.touch()
	p, _, err := rt.procArg(fn, "pid", pidV)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return starlark.None, nil // a signal to a dead process is dropped
	}
	if err := rt.charge(messageSteps); err != nil {
		return nil, err
	}
	self := selfOf(thread)
	switch {
	case p.n == self:
		rt.exited(p, r)
		return nil, errExited
	case p.kind == supervisorKind && r.Kind != supervision.KindKilled:
		if self == 0 && p.parent == rt.st.root && p.n != rt.st.root {
			n := p.n
			rt.post(p, message{kind: msgOp, wait: &waiter{}, op: func(m *supervision.Machine) (starlark.Value, error) {
				m.TerminateAll()
				if q := rt.proc(n); q != nil {
					q.exit = &r
				}
				return starlark.None, nil
			}})
		}
		return starlark.None, nil // trapped: from anyone but its parent, ignored
	case r.Kind == supervision.KindNormal:
		return starlark.None, nil
	}
	rt.exited(p, r)
	return starlark.None, nil
}

func (rt *Runtime) bSelf(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argError(b.Name(), err)
	}
	if n := selfOf(thread); n != 0 {
		return Pid{n}, nil
	}
	return starlark.None, nil
}

// bIsAlive is OTP's is_process_alive(Pid).
func (rt *Runtime) bIsAlive(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &pidV); err != nil {
		return nil, argError(b.Name(), err)
	}
	p, _, err := rt.procArg(b.Name(), "pid", pidV)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(p != nil), nil
}

// bFail raises msg as the error: in a handler it crashes the worker with
// msg as the reason.
func bFail(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var reason starlark.Value = starlark.String("fail")
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &reason); err != nil {
		return nil, argError(b.Name(), err)
	}
	if s, ok := reason.(starlark.String); ok {
		return nil, errors.New(string(s))
	}
	return nil, errors.New(engine.Repr(reason, 1024))
}
