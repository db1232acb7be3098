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
	"whereis":          builtin("whereis", (*Runtime).bWhereis),
	"call":             builtin("call", (*Runtime).bCall),
	"cast":             builtin("cast", (*Runtime).bCast),
	"exit":             builtin("exit", (*Runtime).bExit),
	"kill":             builtin("kill", (*Runtime).bKill),
	"self":             builtin("self", (*Runtime).bSelf),
	"is_alive":         builtin("is_alive", (*Runtime).bIsAlive),
	"fail":             starlark.NewBuiltin("fail", bFail),
}

func (rt *Runtime) bWorker(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var init, hc, hcast starlark.Value = starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "init?", &init, "handle_call?", &hc, "handle_cast?", &hcast); err != nil {
		return nil, err
	}
	d := &workerDef{}
	for _, f := range []struct {
		v   starlark.Value
		dst *starlark.Callable
		n   string
	}{{init, &d.init, "init"}, {hc, &d.handleCall, "handle_call"}, {hcast, &d.handleCast, "handle_cast"}} {
		if f.v == starlark.None {
			continue
		}
		c, ok := f.v.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("worker: %s must be a function, got %s", f.n, f.v.Type())
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

func (rt *Runtime) bSupervisor(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	strategy, auto := "one_for_one", "never"
	intensity, period := 1, 5
	var children *starlark.List
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "strategy?", &strategy, "intensity?", &intensity,
		"period?", &period, "auto_shutdown?", &auto, "children?", &children); err != nil {
		return nil, err
	}
	s, ok := strategies[strategy]
	if !ok {
		return nil, fmt.Errorf("supervisor: invalid_strategy %q: want one_for_one, one_for_all, rest_for_one or simple_one_for_one", strategy)
	}
	a, ok := autoShutdowns[auto]
	if !ok {
		return nil, fmt.Errorf("supervisor: invalid_auto_shutdown %q: want never, any_significant or all_significant", auto)
	}
	if intensity < 0 {
		return nil, fmt.Errorf("supervisor: invalid_intensity %d: want 0 or more restarts", intensity)
	}
	if period <= 0 {
		return nil, fmt.Errorf("supervisor: invalid_period %d: want a positive number of seconds", period)
	}
	d := &supDef{flags: supervision.Flags{Strategy: s, Intensity: intensity, Period: time.Duration(period) * time.Second, AutoShutdown: a}}
	if children != nil {
		for i := range children.Len() {
			c, err := childDefOf("supervisor", children.Index(i))
			if err != nil {
				return nil, err
			}
			d.children = append(d.children, c)
		}
	}
	if s == supervision.SimpleOneForOne && len(d.children) != 1 {
		return nil, fmt.Errorf("supervisor: a simple_one_for_one supervisor takes exactly one child spec, the template; got %d", len(d.children))
	}
	return d, nil
}

// childDefOf checks a child spec dict.
func childDefOf(fn string, v starlark.Value) (*childDef, error) {
	m, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: a child spec must be a dict such as {\"id\": \"c\", \"start\": w}, got %s", fn, v.Type())
	}
	get := func(k string) starlark.Value {
		if x, found, _ := m.Get(starlark.String(k)); found {
			return x
		}
		return nil
	}
	for k := range m.Keys() {
		ks, _ := starlark.AsString(m.Keys()[k])
		switch ks {
		case "id", "start", "args", "restart", "shutdown", "significant", "type":
		default:
			return nil, fmt.Errorf("%s: unknown child spec key %s: want id, start, args, restart, shutdown, significant", fn, m.Keys()[k])
		}
	}
	c := &childDef{}
	if id := get("id"); id != nil {
		s, ok := id.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: child id must be a string, got %s", fn, id.Type())
		}
		c.spec.ID = string(s)
	}
	c.start = get("start")
	switch c.start.(type) {
	case *workerDef:
	case *supDef:
		c.spec.Type = supervision.SupervisorChild
	case nil:
		return nil, fmt.Errorf("%s: child %q: missing_start: \"start\" must be a worker() or a supervisor()", fn, c.spec.ID)
	default:
		return nil, fmt.Errorf("%s: child %q: \"start\" must be a worker() or a supervisor(), got %s", fn, c.spec.ID, c.start.Type())
	}
	if a := get("args"); a != nil {
		t, ok := a.(starlark.Tuple)
		if !ok {
			l, isList := a.(*starlark.List)
			if !isList {
				return nil, fmt.Errorf("%s: child %q: args must be a tuple, got %s", fn, c.spec.ID, a.Type())
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
			return nil, fmt.Errorf("%s: child %q: invalid_restart_type %s: want \"permanent\", \"transient\" or \"temporary\"", fn, c.spec.ID, r)
		}
	}
	if sd := get("shutdown"); sd != nil {
		switch x := sd.(type) {
		case starlark.String:
			switch x {
			case "brutal_kill":
				c.spec.Shutdown = supervision.BrutalKill
			case "infinity":
				c.spec.Shutdown = supervision.Infinity
			default:
				return nil, fmt.Errorf("%s: child %q: invalid_shutdown %s: want milliseconds, \"brutal_kill\" or \"infinity\"", fn, c.spec.ID, x)
			}
		case starlark.Int:
			ms, ok := x.Int64()
			if !ok || ms < 0 {
				return nil, fmt.Errorf("%s: child %q: invalid_shutdown %s: want milliseconds ≥ 0", fn, c.spec.ID, x)
			}
			c.spec.Shutdown = supervision.Timeout(time.Duration(ms) * time.Millisecond)
		default:
			return nil, fmt.Errorf("%s: child %q: invalid_shutdown %s: want milliseconds, \"brutal_kill\" or \"infinity\"", fn, c.spec.ID, sd.Type())
		}
	}
	if sig := get("significant"); sig != nil {
		c.spec.Significant = bool(sig.Truth())
	}
	return c, nil
}

// procArg returns the live process of a pid argument.
func (rt *Runtime) procArg(fn, arg string, v starlark.Value) (*process, Pid, error) {
	p, ok := v.(Pid)
	if !ok {
		return nil, Pid{}, fmt.Errorf("%s: %s must be a pid, got %s", fn, arg, v.Type())
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
		return nil, fmt.Errorf("%s: %w: %s is not alive", fn, errNoProc, pid)
	case p.kind != supervisorKind:
		return nil, fmt.Errorf("%s: %s is a worker, not a supervisor", fn, pid)
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

// root returns the sandbox's root supervisor, starting it on first use:
// one_for_one over temporary trees, so a tree that gives up is removed
// and nothing escapes the sandbox.
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
	var def starlark.Value
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "sup", &def, "name?", &name); err != nil {
		return nil, err
	}
	d, ok := def.(*supDef)
	if !ok {
		return nil, fmt.Errorf("start_supervisor: want supervisor(...), got %s", def.Type())
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
		return pidValue(pid), err
	})
}

func (rt *Runtime) bStartChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, specV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &specV); err != nil {
		return nil, err
	}
	rt.touch()
	sup, err := rt.supArg(b.Name(), supV)
	if err != nil {
		return nil, err
	}
	if sup.m.Spec().Strategy == supervision.SimpleOneForOne {
		extra, ok := specV.(starlark.Tuple)
		if !ok {
			return nil, fmt.Errorf("start_child(sup, args): %s is simple_one_for_one, so args must be a tuple of extra arguments for its template, got %s", Pid{sup.n}, specV.Type())
		}
		extra.Freeze()
		xs := make([]any, len(extra))
		for i, x := range extra {
			xs[i] = x
		}
		return rt.supervisorCall(selfOf(thread), sup, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
			pid, err := m.StartChildWith(xs)
			return pidValue(pid), err
		})
	}
	c, err := childDefOf("start_child(sup, spec)", specV)
	if err != nil {
		return nil, err
	}
	cs := rt.childSpec(c)
	return rt.supervisorCall(selfOf(thread), sup, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
		pid, err := m.StartChild(cs)
		return pidValue(pid), err
	})
}

func (rt *Runtime) bTerminateChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, which starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &which); err != nil {
		return nil, err
	}
	var op func(m *supervision.Machine) error
	switch w := which.(type) {
	case Pid:
		op = func(m *supervision.Machine) error { return m.TerminateChildPID(pidOf(w.n)) }
	case starlark.String:
		op = func(m *supervision.Machine) error { return m.TerminateChild(string(w)) }
	default:
		return nil, fmt.Errorf("terminate_child(sup, id): id must be a child id (string) or, under simple_one_for_one, a pid; got %s", which.Type())
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		return starlark.None, op(m)
	})
}

// idArgs unpacks (sup, id).
func idArgs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, string, error) {
	var supV, idV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &idV); err != nil {
		return nil, "", err
	}
	id, ok := idV.(starlark.String)
	if !ok {
		return nil, "", fmt.Errorf("%s(sup, id): id must be a child id (string), got %s", b.Name(), idV.Type())
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
		return pidValue(pid), err
	})
}

func (rt *Runtime) bDeleteChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, id, err := idArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		return starlark.None, m.DeleteChild(id)
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
	err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &supV)
	return supV, err
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

// callTimeout is the default timeout of call(), gen_server's.
const callTimeout = 5 * time.Second

func (rt *Runtime) bCall(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV, msg starlark.Value
	timeout := starlark.Value(starlark.Float(callTimeout.Seconds()))
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pid", &pidV, "msg", &msg, "timeout?", &timeout); err != nil {
		return nil, err
	}
	secs, ok := starlark.AsFloat(timeout)
	if !ok || secs <= 0 || secs > 1e9 {
		return nil, fmt.Errorf("call(pid, msg, timeout): timeout must be a positive number of seconds, got %s", timeout)
	}
	rt.touch()
	p, pid, err := rt.procArg(b.Name(), "pid", pidV)
	if err != nil {
		return nil, err
	}
	self := selfOf(thread)
	switch {
	case p == nil:
		return nil, fmt.Errorf("call: %w: %s is not alive", errNoProc, pid)
	case p.n == self:
		return nil, fmt.Errorf("call: calling_self: %s cannot call itself (it would wait for its own reply)", pid)
	case p.kind == supervisorKind:
		return nil, fmt.Errorf("call: %s is a supervisor: use which_children, count_children, start_child, terminate_child, restart_child or delete_child on it, not call", pid)
	}
	msg.Freeze()
	return rt.call(self, p, message{kind: msgCall, value: msg}, time.Duration(secs*float64(time.Second)), "call")
}

func (rt *Runtime) bCast(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV, msg starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &pidV, &msg); err != nil {
		return nil, err
	}
	rt.touch()
	p, _, err := rt.procArg(b.Name(), "pid", pidV)
	if err != nil {
		return nil, err
	}
	if p == nil || p.kind == supervisorKind {
		return starlark.None, nil // as OTP's cast: never fails, dropped
	}
	msg.Freeze()
	return starlark.None, rt.deliver(p, message{kind: msgCast, value: msg, from: selfOf(thread)})
}

// errExited unwinds the handler of a process that called exit(self()).
var errExited = errors.New("the process exited")

func (rt *Runtime) bExit(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV starlark.Value
	reason := "normal"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pid", &pidV, "reason?", &reason); err != nil {
		return nil, err
	}
	return rt.signal(thread, b.Name(), pidV, parseReason(reason))
}

func (rt *Runtime) bKill(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &pidV); err != nil {
		return nil, err
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
// (it then kills its children).
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
		return starlark.None, nil // trapped: from anyone but its parent, ignored
	case r.Kind == supervision.KindNormal:
		return starlark.None, nil
	}
	rt.exited(p, r)
	return starlark.None, nil
}

func (rt *Runtime) bSelf(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
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
		return nil, err
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
	msg := "fail"
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &msg); err != nil {
		return nil, err
	}
	return nil, errors.New(msg)
}
