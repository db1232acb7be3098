package otp

import (
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// A worker is a gen_server written in Starlark:
//
//	init(args) -> state
//	handle_call(msg, state) -> (reply, state)
//	handle_cast(msg, state) -> state
//
// Each handler runs on a thread of its own that draws on the running
// execution's budget. An error, fail() or a broken rule of the behaviour
// (a missing handler, a malformed return) crashes the worker and its
// supervisor applies OTP's rules.

// selfKey is the thread-local key of the process whose handler runs.
const selfKey = "otpbox.otp.self"

// stateReprBytes bounds a worker's state as shown in the tree.
const stateReprBytes = 256

// spawnWorker starts a worker under the supervisor rt.parent and runs its
// init, as a start function does (the supervisor waits for it).
func (rt *Runtime) spawnWorker(def *workerDef, args starlark.Tuple) (*process, error) {
	p, err := rt.newProcess(workerKind)
	if err != nil {
		return nil, err
	}
	p.def = def
	p.state = starlark.None
	if def.init != nil {
		p.busy = true
		v, err := rt.handler(p, def.init, starlark.Tuple{args})
		p.busy = false
		if err != nil {
			rt.discard(p)
			return nil, err
		}
		if rt.proc(p.n) != p {
			return nil, errors.New("init: the process exited during init")
		}
		if v == ignore {
			rt.discard(p)
			return nil, supervision.ErrIgnore
		}
		p.state = v
	}
	return p, nil
}

// newProcess makes a live process under rt.parent, within MaxActors.
func (rt *Runtime) newProcess(k kind) (*process, error) {
	if rt.st.actors >= rt.limits.MaxActors {
		return nil, &engine.LimitError{Limit: engine.LimitActors, Max: uint64(rt.limits.MaxActors), Got: uint64(rt.st.actors + 1)}
	}
	if err := rt.charge(spawnSteps); err != nil {
		return nil, err
	}
	rt.st.next++
	p := &process{n: rt.st.next, kind: k, parent: rt.parent, id: rt.childID}
	rt.childID = "" // its own children get theirs from their Start
	rt.st.procs[p.n] = p
	rt.st.actors++
	return p, nil
}

// discard removes a process whose start failed: nobody is told.
func (rt *Runtime) discard(p *process) {
	if rt.proc(p.n) == p {
		prev := rt.exitChange
		rt.exitChange = "" // it never started: nobody saw it
		rt.exitProcess(p, supervision.Shutdown)
		rt.exitChange = prev
	}
}

// handler calls fn with args as process p (self() is p). A handler error
// is returned as a *Crash-able error; an error that ends the execution is
// returned as is and is fatal (see isFatal).
func (rt *Runtime) handler(p *process, fn starlark.Callable, args starlark.Tuple) (starlark.Value, error) {
	if err := rt.charge(handlerSteps); err != nil {
		return nil, err
	}
	thread := rt.thread
	v, err := engine.CallIn(thread, fn, args, engine.Local{Key: selfKey, Value: Pid{p.n}})
	return v, err
}

// fatal reports whether err ends the execution (its budget, deadline or
// output is spent, or it was cancelled) rather than the process.
func (rt *Runtime) fatal(err error) bool {
	return err != nil && engine.Exhausted(rt.thread) != nil
}

// workerStep handles one message of worker p.
func (rt *Runtime) workerStep(p *process, m message) error {
	switch m.kind {
	case msgCall:
		rt.traceMessage(p, rt.traced("call", m.value))
		if p.def.handleCall == nil {
			err := &Crash{Msg: fmt.Sprintf("%s has no handle_call for %s", Pid{p.n}, engine.Repr(m.value, traceValueBytes))}
			m.wait.reply(nil, fmt.Errorf("call: %w", err))
			rt.crash(p, err)
			return nil
		}
		v, err := rt.handler(p, p.def.handleCall, starlark.Tuple{m.value, p.state})
		if rt.fatal(err) {
			return err
		}
		if rt.proc(p.n) != p { // exited while it ran (killed, or exit(self()))
			m.wait.reply(nil, fmt.Errorf("call: %s exited: %s", Pid{p.n}, reasonText(p.reason)))
			return nil
		}
		if err == nil {
			pair, ok := v.(starlark.Tuple)
			if !ok || len(pair) != 2 {
				err = &Crash{Msg: fmt.Sprintf("handle_call must return (reply, state), got %s", v.Type())}
			} else {
				pair[0].Freeze()
				p.state = pair[1]
				m.wait.reply(pair[0], nil)
				return nil
			}
		}
		m.wait.reply(nil, fmt.Errorf("call: %s crashed: %w", Pid{p.n}, crashError(err)))
		rt.crash(p, err)
	case msgCast:
		rt.traceMessage(p, rt.traced("cast", m.value))
		if p.def.handleCast == nil {
			rt.crash(p, &Crash{Msg: fmt.Sprintf("%s has no handle_cast for %s", Pid{p.n}, engine.Repr(m.value, traceValueBytes))})
			return nil
		}
		v, err := rt.handler(p, p.def.handleCast, starlark.Tuple{m.value, p.state})
		if rt.fatal(err) {
			return err
		}
		if rt.proc(p.n) != p {
			return nil
		}
		if err != nil {
			rt.crash(p, err)
			return nil
		}
		p.state = v
	}
	return nil
}

// traced is m as kept in a worker's trace.
// traceMessage keeps m in p's trace and shows it to the observer.
func (rt *Runtime) traceMessage(p *process, m TracedMessage) {
	p.trace.add(m)
	if rt.observer != nil {
		c := rt.changeOf(ChangeTrace, p, "")
		c.Message, c.Value = m.Kind, m.Value
		rt.observer(c)
	}
}

func (rt *Runtime) traced(kind string, v starlark.Value) TracedMessage {
	return TracedMessage{Kind: kind, Value: engine.Repr(v, traceValueBytes), Time: rt.st.now}
}
