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

// The builtins of the sandbox language: this file has the environment and
// the process builtins (call, cast, exit, ...), defs.go worker() and
// supervisor(), api.go the supervisor API. Each is documented in help.go
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
	"pid":              builtin("pid", (*Runtime).bPid),
	"help":             builtin("help", (*Runtime).bHelp),
	"fail":             starlark.NewBuiltin("fail", bFail),
	"ignore":           ignore,
}

// Names returns the names the sandbox language adds to Starlark's: its
// builtins and values, sorted.
func Names() []string { return builtins.Keys() }

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
