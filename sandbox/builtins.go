package sandbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// The OTP builtins of a sandbox, backed by the supervision package
// (otpBuiltins):
//
//	w = worker(init=None, handle_call=None, handle_cast=None)
//	s = supervisor(strategy="one_for_one", intensity=1, period=5, auto_shutdown="never",
//	               children=[{"id": "c1", "start": w, "args": (), "restart": "permanent",
//	                          "shutdown": 5000 | "brutal_kill" | "infinity", "significant": False}])
//	sup = start_supervisor(s, name=None)        # a tree under the sandbox's root
//	start_child(sup, spec_dict)                 # or start_child(sup, args_tuple) for simple_one_for_one
//	terminate_child(sup, id_or_pid); restart_child(sup, id); delete_child(sup, id)
//	which_children(sup); count_children(sup); whereis(sup, id)
//	call(pid, msg, timeout=5.0); cast(pid, msg); exit(pid, reason="normal"); kill(pid); self(); fail(msg)
//
// otpLocal is the thread-local key under which a session's Execute finds
// its sandbox's runtime; handlers run through engine.Call find it in their
// context under runtimeKey.
const otpLocal = "otpbox.otp"

type runtimeKey struct{}

// runtimeOf returns the sandbox runtime of the code running on thread.
func runtimeOf(thread *starlark.Thread) *otpRuntime {
	if rt, ok := thread.Local(otpLocal).(*otpRuntime); ok {
		return rt
	}
	rt, _ := engine.Context(thread).Value(runtimeKey{}).(*otpRuntime)
	return rt
}

type otpFunc func(rt *otpRuntime, thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

func otpBuiltin(name string, fn otpFunc) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		rt := runtimeOf(thread)
		if rt == nil {
			return nil, fmt.Errorf("%s: not inside a sandbox", name)
		}
		return fn(rt, thread, b, args, kwargs)
	})
}

// otpBuiltins are shared by every sandbox (one Env for all); each call
// finds its sandbox through runtimeOf.
var otpBuiltins = starlark.StringDict{
	"worker":           otpBuiltin("worker", (*otpRuntime).bWorker),
	"supervisor":       otpBuiltin("supervisor", (*otpRuntime).bSupervisor),
	"start_supervisor": otpBuiltin("start_supervisor", (*otpRuntime).bStartSupervisor),
	"start_child":      otpBuiltin("start_child", (*otpRuntime).bStartChild),
	"terminate_child":  otpBuiltin("terminate_child", (*otpRuntime).bTerminateChild),
	"restart_child":    otpBuiltin("restart_child", (*otpRuntime).bRestartChild),
	"delete_child":     otpBuiltin("delete_child", (*otpRuntime).bDeleteChild),
	"which_children":   otpBuiltin("which_children", (*otpRuntime).bWhichChildren),
	"count_children":   otpBuiltin("count_children", (*otpRuntime).bCountChildren),
	"whereis":          otpBuiltin("whereis", (*otpRuntime).bWhereis),
	"call":             otpBuiltin("call", (*otpRuntime).bCall),
	"cast":             otpBuiltin("cast", (*otpRuntime).bCast),
	"exit":             otpBuiltin("exit", (*otpRuntime).bExit),
	"kill":             otpBuiltin("kill", (*otpRuntime).bKill),
	"self":             otpBuiltin("self", (*otpRuntime).bSelf),
	"fail":             starlark.NewBuiltin("fail", bFail),
}

// Pid is a process id in Starlark.
type Pid struct{ pid *actor.PID }

var _ starlark.HasAttrs = Pid{}

func (p Pid) String() string        { return "<pid " + p.pid.Id + ">" }
func (p Pid) Type() string          { return "pid" }
func (p Pid) Freeze()               {}
func (p Pid) Truth() starlark.Bool  { return true }
func (p Pid) Hash() (uint32, error) { return starlark.String(p.pid.Id).Hash() }
func (p Pid) Attr(name string) (starlark.Value, error) {
	if name == "id" {
		return starlark.String(p.pid.Id), nil
	}
	return nil, nil
}
func (p Pid) AttrNames() []string { return []string{"id"} }

// workerDef is the value of worker(...).
type workerDef struct {
	init, handleCall, handleCast starlark.Callable
}

func (*workerDef) String() string        { return "<worker>" }
func (*workerDef) Type() string          { return "worker" }
func (*workerDef) Freeze()               {}
func (*workerDef) Truth() starlark.Bool  { return true }
func (*workerDef) Hash() (uint32, error) { return 0, errors.New("unhashable: worker") }

// supDef is the value of supervisor(...).
type supDef struct {
	flags    supervision.Flags
	children []*childDef
}

func (d *supDef) String() string {
	return fmt.Sprintf("<supervisor %s, %d children>", d.flags.Strategy, len(d.children))
}
func (*supDef) Type() string          { return "supervisor" }
func (*supDef) Freeze()               {}
func (*supDef) Truth() starlark.Bool  { return true }
func (*supDef) Hash() (uint32, error) { return 0, errors.New("unhashable: supervisor") }

// childDef is a child spec dict, checked.
type childDef struct {
	spec  supervision.ChildSpec
	start starlark.Value
	args  starlark.Tuple
}

func (rt *otpRuntime) bWorker(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
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
			return nil, fmt.Errorf("worker: %s must be callable, got %s", f.n, f.v.Type())
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

func (rt *otpRuntime) bSupervisor(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	strategy, auto := "one_for_one", "never"
	intensity, period := 1, 5
	var children *starlark.List
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "strategy?", &strategy, "intensity?", &intensity,
		"period?", &period, "auto_shutdown?", &auto, "children?", &children); err != nil {
		return nil, err
	}
	s, ok := strategies[strategy]
	if !ok {
		return nil, fmt.Errorf("supervisor: invalid_strategy %q", strategy)
	}
	a, ok := autoShutdowns[auto]
	if !ok {
		return nil, fmt.Errorf("supervisor: invalid_auto_shutdown %q", auto)
	}
	if period <= 0 {
		return nil, fmt.Errorf("supervisor: invalid_period %d", period)
	}
	d := &supDef{flags: supervision.Flags{Strategy: s, Intensity: intensity, Period: time.Duration(period) * time.Second, AutoShutdown: a}}
	if children != nil {
		for i := range children.Len() {
			c, err := rt.childDef(children.Index(i))
			if err != nil {
				return nil, err
			}
			d.children = append(d.children, c)
		}
	}
	return d, nil
}

func (rt *otpRuntime) childDef(v starlark.Value) (*childDef, error) {
	m, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("child spec must be a dict, got %s", v.Type())
	}
	get := func(k string) starlark.Value {
		if x, found, _ := m.Get(starlark.String(k)); found {
			return x
		}
		return nil
	}
	c := &childDef{}
	if id, ok := get("id").(starlark.String); ok {
		c.spec.ID = string(id)
	}
	c.start = get("start")
	switch c.start.(type) {
	case *workerDef:
	case *supDef:
		c.spec.Type = supervision.SupervisorChild
	default:
		return nil, fmt.Errorf("child %q: missing_start: start must be worker() or supervisor()", c.spec.ID)
	}
	if a := get("args"); a != nil {
		t, ok := a.(starlark.Tuple)
		if !ok {
			l, isList := a.(*starlark.List)
			if !isList {
				return nil, fmt.Errorf("child %q: args must be a tuple", c.spec.ID)
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
			return nil, fmt.Errorf("child %q: invalid_restart_type %s", c.spec.ID, r)
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
				return nil, fmt.Errorf("child %q: invalid_shutdown %s", c.spec.ID, x)
			}
		case starlark.Int:
			ms, ok := x.Int64()
			if !ok || ms < 0 {
				return nil, fmt.Errorf("child %q: invalid_shutdown %s", c.spec.ID, x)
			}
			c.spec.Shutdown = supervision.Timeout(time.Duration(ms) * time.Millisecond)
		default:
			return nil, fmt.Errorf("child %q: invalid_shutdown %s", c.spec.ID, sd)
		}
	}
	if sig := get("significant"); sig != nil {
		c.spec.Significant = bool(sig.Truth())
	}
	return c, nil
}

func pidArg(fn string, v starlark.Value) (*actor.PID, error) {
	p, ok := v.(Pid)
	if !ok {
		return nil, fmt.Errorf("%s: want a pid, got %s", fn, v.Type())
	}
	return p.pid, nil
}

func (rt *otpRuntime) supArg(thread *starlark.Thread, fn string, v starlark.Value) (*supervision.Supervisor, error) {
	pid, err := pidArg(fn, v)
	if err != nil {
		return nil, err
	}
	return rt.handle(engine.Context(thread), pid)
}

func pidValue(pid *actor.PID) starlark.Value {
	if pid == nil {
		return starlark.None
	}
	return Pid{pid: pid}
}

func (rt *otpRuntime) bStartSupervisor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var def starlark.Value
	name := ""
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "sup", &def, "name?", &name); err != nil {
		return nil, err
	}
	d, ok := def.(*supDef)
	if !ok {
		return nil, fmt.Errorf("start_supervisor: want supervisor(...), got %s", def.Type())
	}
	pid, err := rt.startTree(engine.Context(thread), d, name)
	if err != nil {
		return nil, err
	}
	return pidValue(pid), nil
}

func (rt *otpRuntime) bStartChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, specV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &specV); err != nil {
		return nil, err
	}
	sup, err := rt.supArg(thread, b.Name(), supV)
	if err != nil {
		return nil, err
	}
	ctx := engine.Context(thread)
	if extra, ok := specV.(starlark.Tuple); ok { // simple_one_for_one
		extra.Freeze()
		xs := make([]any, len(extra))
		for i, x := range extra {
			xs[i] = x
		}
		pid, err := sup.StartChildWith(ctx, xs...)
		if err != nil {
			return nil, err
		}
		return pidValue(pid), nil
	}
	c, err := rt.childDef(specV)
	if err != nil {
		return nil, err
	}
	cs, err := rt.childSpec(c)
	if err != nil {
		return nil, err
	}
	pid, err := sup.StartChild(ctx, cs)
	if err != nil {
		return nil, err
	}
	return pidValue(pid), nil
}

func (rt *otpRuntime) bTerminateChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, which starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &which); err != nil {
		return nil, err
	}
	sup, err := rt.supArg(thread, b.Name(), supV)
	if err != nil {
		return nil, err
	}
	switch w := which.(type) {
	case Pid:
		err = sup.TerminateChildPID(engine.Context(thread), w.pid)
	case starlark.String:
		err = sup.TerminateChild(engine.Context(thread), string(w))
	default:
		return nil, fmt.Errorf("terminate_child: want an id or a pid, got %s", which.Type())
	}
	return starlark.None, err
}

func (rt *otpRuntime) idCall(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (*supervision.Supervisor, string, error) {
	var supV starlark.Value
	var id string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &id); err != nil {
		return nil, "", err
	}
	sup, err := rt.supArg(thread, b.Name(), supV)
	return sup, id, err
}

func (rt *otpRuntime) bRestartChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sup, id, err := rt.idCall(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	pid, err := sup.RestartChild(engine.Context(thread), id)
	if err != nil {
		return nil, err
	}
	return pidValue(pid), nil
}

func (rt *otpRuntime) bDeleteChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sup, id, err := rt.idCall(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.None, sup.DeleteChild(engine.Context(thread), id)
}

func (rt *otpRuntime) bWhereis(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sup, id, err := rt.idCall(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	children, err := sup.WhichChildren(engine.Context(thread))
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		if c.ID == id {
			return pidValue(c.PID), nil
		}
	}
	return starlark.None, nil
}

// oneSup unpacks the single supervisor argument of which/count_children.
func (rt *otpRuntime) oneSup(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (*supervision.Supervisor, error) {
	var supV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &supV); err != nil {
		return nil, err
	}
	return rt.supArg(thread, b.Name(), supV)
}

func (rt *otpRuntime) bWhichChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sup, err := rt.oneSup(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	children, err := sup.WhichChildren(engine.Context(thread))
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, 0, len(children))
	for _, c := range children {
		d := starlark.NewDict(4)
		var id starlark.Value = starlark.None
		if c.ID != "" {
			id = starlark.String(c.ID)
		}
		var pid starlark.Value = pidValue(c.PID)
		if c.Restarting {
			pid = starlark.String("restarting")
		}
		_ = d.SetKey(starlark.String("id"), id)
		_ = d.SetKey(starlark.String("pid"), pid)
		_ = d.SetKey(starlark.String("type"), starlark.String(c.Type.String()))
		out = append(out, d)
	}
	return starlark.NewList(out), nil
}

func (rt *otpRuntime) bCountChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sup, err := rt.oneSup(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	n, err := sup.CountChildren(engine.Context(thread))
	if err != nil {
		return nil, err
	}
	d := starlark.NewDict(4)
	_ = d.SetKey(starlark.String("specs"), starlark.MakeInt(n.Specs))
	_ = d.SetKey(starlark.String("active"), starlark.MakeInt(n.Active))
	_ = d.SetKey(starlark.String("supervisors"), starlark.MakeInt(n.Supervisors))
	_ = d.SetKey(starlark.String("workers"), starlark.MakeInt(n.Workers))
	return d, nil
}

func (rt *otpRuntime) bCall(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV, msg starlark.Value
	timeout := starlark.Value(starlark.Float(callTimeout.Seconds()))
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pid", &pidV, "msg", &msg, "timeout?", &timeout); err != nil {
		return nil, err
	}
	pid, err := pidArg(b.Name(), pidV)
	if err != nil {
		return nil, err
	}
	secs, ok := starlark.AsFloat(timeout)
	if !ok || secs <= 0 {
		return nil, fmt.Errorf("call: timeout must be a positive number of seconds")
	}
	return rt.call(engine.Context(thread), pid, msg, time.Duration(secs*float64(time.Second)))
}

func (rt *otpRuntime) bCast(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV, msg starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &pidV, &msg); err != nil {
		return nil, err
	}
	pid, err := pidArg(b.Name(), pidV)
	if err != nil {
		return nil, err
	}
	return starlark.None, rt.cast(pid, msg)
}

func parseReason(s string) supervision.Reason {
	switch s {
	case "normal":
		return supervision.Normal
	case "shutdown":
		return supervision.Shutdown
	case "kill", "killed":
		return supervision.Killed
	}
	return supervision.Abnormal(errors.New(s))
}

func (rt *otpRuntime) bExit(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV starlark.Value
	reason := "normal"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pid", &pidV, "reason?", &reason); err != nil {
		return nil, err
	}
	return rt.exit(b.Name(), pidV, parseReason(reason))
}

func (rt *otpRuntime) bKill(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pidV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &pidV); err != nil {
		return nil, err
	}
	return rt.exit(b.Name(), pidV, supervision.Killed)
}

func (rt *otpRuntime) exit(fn string, pidV starlark.Value, r supervision.Reason) (starlark.Value, error) {
	pid, err := pidArg(fn, pidV)
	if err != nil {
		return nil, err
	}
	if rt.worker(pid) == nil {
		rt.mu.Lock()
		sup, isSup := rt.sups[pid.Id]
		rt.mu.Unlock()
		if !isSup {
			return nil, fmt.Errorf("%s: %s is not a process of this sandbox", fn, pid.Id)
		}
		if r.Kind == supervision.KindKilled {
			sup.Kill()
		} else {
			sup.Signal(r)
		}
		return starlark.None, nil
	}
	rt.host.system.Root.Send(pid, &exitMsg{reason: r})
	return starlark.None, nil
}

func (rt *otpRuntime) bSelf(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	if pid, ok := engine.Context(thread).Value(selfKey{}).(*actor.PID); ok {
		return Pid{pid: pid}, nil
	}
	return starlark.None, nil
}

func bFail(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	msg := "fail"
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &msg); err != nil {
		return nil, err
	}
	return nil, errors.New(msg)
}
