package otp

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// A sandbox's supervisors are supervision.Machines, the same state machine
// as the supervision package's own supervisors, run by this runtime:
// starting a child runs its init at once, stopping one is immediate (a
// worker has no cleanup to wait for), and messages to the supervisor
// (its children's exits, API calls, retries) are handled in mailbox order
// like any process's.

// host is the supervision.Runtime of the supervisor process n.
type host struct {
	rt *Runtime
	n  uint64
}

var _ supervision.Runtime = host{}

// spawnSupervisor starts a supervisor for def under rt.parent and starts
// its children, in order.
func (rt *Runtime) spawnSupervisor(def *supDef) (*process, error) {
	spec := supervision.Spec{Flags: def.flags}
	for _, c := range def.children {
		spec.Children = append(spec.Children, rt.childSpec(c))
	}
	return rt.startSupervisor(spec, false)
}

// startSupervisor starts a supervisor with spec under rt.parent; the root
// supervisor is not counted as an actor.
func (rt *Runtime) startSupervisor(spec supervision.Spec, root bool) (*process, error) {
	var p *process
	if root {
		rt.st.next++
		p = &process{n: rt.st.next, kind: supervisorKind}
		rt.st.procs[p.n] = p
		rt.st.root = p.n
	} else {
		var err error
		if p, err = rt.newProcess(supervisorKind); err != nil {
			return nil, err
		}
	}
	spec.Name = Pid{p.n}.String()
	m, err := supervision.NewMachine(spec, host{rt: rt, n: p.n})
	if err != nil {
		rt.discard(p)
		return nil, err
	}
	p.m = m
	p.busy = true
	err = m.Init()
	p.busy = false
	if err != nil {
		rt.discard(p)
		return nil, err
	}
	return p, nil
}

// childSpec converts a checked child spec to the supervision package's;
// its start function spawns the worker or supervisor under the runtime's
// current parent (see host.Start).
func (rt *Runtime) childSpec(c *childDef) supervision.ChildSpec {
	cs := c.spec
	cs.Def = c // what Save writes of the child
	switch start := c.start.(type) {
	case *workerDef:
		args := c.args
		cs.Start = func(_ *supervision.StartContext, extra ...any) (*actor.PID, error) {
			all := append(starlark.Tuple(nil), args...)
			for _, x := range extra {
				all = append(all, x.(starlark.Value))
			}
			p, err := rt.spawnWorker(start, all)
			if err != nil {
				return nil, err
			}
			return pidOf(p.n), nil
		}
	case *supDef:
		cs.Start = func(_ *supervision.StartContext, _ ...any) (*actor.PID, error) {
			p, err := rt.spawnSupervisor(start)
			if err != nil {
				return nil, err
			}
			return pidOf(p.n), nil
		}
	}
	return cs
}

// supervisorStep handles one message of supervisor p.
func (rt *Runtime) supervisorStep(p *process, m message) error {
	if err := rt.charge(opSteps); err != nil {
		return err
	}
	switch m.kind {
	case msgExit:
		p.m.Exited(pidOf(m.child), m.reason)
	case msgOp:
		v, err := m.op(p.m)
		m.wait.reply(v, err)
	case msgLater:
		m.f()
	case msgCall:
		m.wait.reply(nil, fmt.Errorf("call: %s is a supervisor: it answers which_children, count_children, start_child, terminate_child, restart_child and delete_child, not call", Pid{p.n}))
	case msgCast:
		// A supervisor ignores casts, as OTP's logs and drops them.
	}
	rt.recordRestarts(p)
	if p.exit != nil && rt.proc(p.n) == p {
		r := *p.exit
		p.exit = nil
		rt.exited(p, r)
	}
	return engine.Exhausted(rt.thread)
}

// recordRestarts copies the restarts p's machine made since the last
// copy to the sandbox's log, which outlives the supervisor.
func (rt *Runtime) recordRestarts(p *process) {
	n := p.m.History().Total() - p.restarts
	if n == 0 {
		return
	}
	p.restarts += n
	recs := p.m.History().Records()
	if uint64(len(recs)) > n {
		recs = recs[uint64(len(recs))-n:]
	}
	for _, r := range recs {
		rec := Record{Kind: RecordRestart, Supervisor: Pid{p.n}.String(), Path: rt.path(p), ChildID: r.ChildID, Reason: reasonText(r.Reason), Time: r.Time}
		if r.PID != nil {
			rec.PID = r.PID.Id
		}
		rt.record(rec)
	}
}

// Start starts a child of the supervisor: spec.Start is one of childSpec's
// start functions, which spawn under rt.parent.
func (h host) Start(spec supervision.ChildSpec, args []any) (*actor.PID, error) {
	rt := h.rt
	prev, prevID := rt.parent, rt.childID
	rt.parent, rt.childID = h.n, spec.ID
	defer func() { rt.parent, rt.childID = prev, prevID }()
	pid, err := spec.Start(nil, args...)
	if err != nil {
		return nil, err
	}
	if p := rt.proc(numberOf(pid)); p != nil {
		p.id = spec.ID
		if rt.observer != nil {
			rt.observer(rt.changeOf(ChangeStarted, p, ""))
		}
	}
	return pid, nil
}

// Terminate stops a child at once: a worker has no cleanup to wait for,
// and a supervisor first stops its own children, in order.
func (h host) Terminate(pid *actor.PID, sd supervision.ShutdownSpec) supervision.Reason {
	r := supervision.Shutdown
	if sd == supervision.BrutalKill {
		r = supervision.Killed
	}
	if p := h.rt.proc(numberOf(pid)); p != nil {
		if p.m != nil && r.Kind != supervision.KindKilled {
			p.m.TerminateAll()
		}
		prev := h.rt.exitChange
		if prev != "" {
			h.rt.exitChange = ChangeTerminated
		}
		h.rt.exitProcess(p, r)
		h.rt.exitChange = prev
	}
	return r
}

// TerminateAll stops the children of a simple_one_for_one supervisor.
func (h host) TerminateAll(pids []*actor.PID, sd supervision.ShutdownSpec) []supervision.Reason {
	out := make([]supervision.Reason, len(pids))
	for i, pid := range pids {
		out[i] = h.Terminate(pid, sd)
	}
	return out
}

// Kill kills a child at once (a killed supervisor's links).
func (h host) Kill(pid *actor.PID) {
	if p := h.rt.proc(numberOf(pid)); p != nil {
		h.rt.exitProcess(p, supervision.Killed)
	}
}

// Alive reports whether pid is a live process of the sandbox.
func (h host) Alive(pid *actor.PID) bool { return h.rt.proc(numberOf(pid)) != nil }

// Later queues f behind the supervisor's messages.
func (h host) Later(f func()) {
	if p := h.rt.proc(h.n); p != nil {
		h.rt.post(p, message{kind: msgLater, f: f})
	}
}

// Exit makes the supervisor exit with r once its current message is
// handled.
func (h host) Exit(r supervision.Reason) {
	if p := h.rt.proc(h.n); p != nil {
		p.exit = &r
	}
}

// Publish records the supervisor's exits for Restarts.
func (h host) Publish(e *supervision.Event) {
	switch e.Kind {
	case supervision.IntensityExceeded, supervision.AutoShutdownTriggered:
		p := h.rt.proc(h.n)
		if p == nil {
			return
		}
		h.rt.recordRestarts(p) // the exit that was one too many comes first
		reason := "reached_max_restart_intensity"
		kind := RecordGaveUp
		if e.Kind == supervision.AutoShutdownTriggered {
			reason, kind = "auto_shutdown: a significant child exited", RecordAutoShutdown
		}
		h.rt.record(Record{Kind: kind, Supervisor: Pid{h.n}.String(), Path: h.rt.path(p), Reason: reason, Time: e.Time})
	}
}

// Now is the sandbox's clock.
func (h host) Now() time.Time { return h.rt.st.now }

// Name and Unname: a sandbox's children have no registered names
// (whereis asks the supervisor).
func (h host) Name(string, *actor.PID) {}
func (h host) Unname(string)           {}

// supervisorCall runs op on supervisor p as an API call from process from
// (0: the sandbox's code), in mailbox order. Like OTP's supervisor calls
// it waits as long as it takes: a call that can never be answered (the
// supervisor is blocked, starting the caller) fails as a deadlock.
func (rt *Runtime) supervisorCall(from uint64, p *process, what string, op func(m *supervision.Machine) (starlark.Value, error)) (starlark.Value, error) {
	if err := rt.charge(opSteps); err != nil {
		return nil, err
	}
	return rt.call(from, p, message{kind: msgOp, op: op}, 0, what)
}
