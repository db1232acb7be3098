package supervision

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// childExited tells a supervisor that one of its processes stopped by
// itself.
type childExited struct{ p *proc }

// later runs f on the supervisor's goroutine (Runtime.Later).
type later struct{ f func() }

// request runs an API call on the supervisor's goroutine.
type request struct {
	op    func(m *Machine) result
	reply chan result
}

type result struct {
	pid      *actor.PID
	err      error
	spec     ChildSpec
	children []ChildInfo
	counts   Counts
}

// getHandle asks a supervisor for its *Supervisor handle.
type getHandle struct{}

// supervisor is the actor behind a Supervisor: a Machine whose children
// are protoactor actors. All its state is owned by its goroutine.
type supervisor struct {
	p      *proc
	d      *pinned
	m      *Machine
	handle *Supervisor
	system *actor.ActorSystem
	self   *actor.PID
	clock  func() time.Time

	procs map[string]*proc // the children's processes, by pid id
	names map[string]*name // registered names, by child id
}

var _ Runtime = (*supervisor)(nil)

func newSupervisor(p *proc, spec Spec, d *pinned, h *Supervisor) *supervisor {
	clock := spec.Clock
	if clock == nil {
		clock = time.Now
	}
	s := &supervisor{p: p, d: d, handle: h, clock: clock,
		procs: make(map[string]*proc, len(spec.Children)), names: make(map[string]*name, len(spec.Children))}
	s.m = newMachine(spec, s)
	h.history = s.m.History()
	return s
}

func (s *supervisor) ownProc() *proc { return s.p }

// Receive is the supervisor's message loop.
func (s *supervisor) Receive(ctx actor.Context) {
	if s.p.killed.Load() {
		switch ctx.Message().(type) {
		case *actor.Stopping:
			s.m.KillAll() // links: children die with a killed supervisor (F7)
		case *actor.Stopped:
			s.stopped(ctx)
		}
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.p.setReason(Abnormal(newPanicError(v)))
			ctx.Stop(ctx.Self())
		}
	}()
	switch m := ctx.Message().(type) {
	case *request:
		m.reply <- m.op(s.m)
	case *childExited:
		delete(s.procs, m.p.pid.Id)
		s.m.Exited(m.p.pid, m.p.exitReason())
	case *later:
		m.f()
	case *actor.Started:
		s.init(ctx)
	case *actor.Stopping:
		s.p.setReason(Shutdown)
		s.m.TerminateAll()
	case *actor.Stopped:
		s.stopped(ctx)
	case *getHandle:
		ctx.Respond(s.handle)
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		// F8: an unexpected message is logged and ignored.
		ctx.Logger().Warn("supervision: unexpected message", slog.String("supervisor", s.m.spec.Name), slog.Any("message", m))
	}
}

// init starts the children in order, synchronously (A1–A3, A8).
func (s *supervisor) init(ctx actor.Context) {
	s.system = ctx.ActorSystem()
	s.self = ctx.Self()
	if err := s.m.Init(); err != nil {
		s.p.setReason(ShutdownWith(err))
		s.p.stopping.Store(true)
		ctx.Stop(s.self)
		s.p.initc <- err
		return
	}
	s.p.initc <- nil
}

func (s *supervisor) stopped(ctx actor.Context) {
	s.m.Forget()
	s.Publish(&Event{Kind: SupervisorExited, PID: s.self, Reason: s.p.exitReason(), Name: s.m.spec.Name, Time: s.clock()})
	s.p.finish(ctx)
	s.d.stop()
}

// Start spawns one incarnation of spec under a name of its own: the
// supervisor's name, the child id and an incarnation number. The number
// is unique in the actor system, not in this supervisor: the children of
// a killed incarnation of a named supervisor are abandoned, not waited
// for, and must not hold the names its restarted incarnation gives.
func (s *supervisor) Start(spec ChildSpec, args []any) (*actor.PID, error) {
	path := s.m.spec.Name + "/" + spec.ID
	name := path + "#" + s.system.ProcessRegistry.NextId()
	if s.m.simple() {
		path = name // no id: every dynamic child has its own path
	}
	sc := &StartContext{system: s.system, sup: s.self, path: path, name: name}
	p, err := callStart(sc, spec.Start, args)
	if err != nil {
		return nil, err
	}
	s.procs[p.pid.Id] = p
	return p.pid, nil
}

// take removes pid's process from the children and marks it as stopped
// by the supervisor, so its exit is not reported.
func (s *supervisor) take(pid *actor.PID) *proc {
	p := s.procs[pid.Id]
	delete(s.procs, pid.Id)
	p.stopping.Store(true)
	return p
}

// Terminate stops a child within its shutdown spec (F1, F3–F5).
func (s *supervisor) Terminate(pid *actor.PID, sd ShutdownSpec) Reason {
	p := s.take(pid)
	if sd == BrutalKill {
		p.kill(s.system)
		return Killed
	}
	p.setReason(Shutdown)
	s.system.Root.Stop(p.pid)
	if sd == Infinity {
		<-p.done
		return p.exitReason()
	}
	t := time.NewTimer(time.Duration(sd))
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitReason()
	case <-t.C:
		p.kill(s.system)
		return Killed
	}
}

// TerminateAll stops SimpleOneForOne children in parallel under one timer
// (H4).
func (s *supervisor) TerminateAll(pids []*actor.PID, sd ShutdownSpec) []Reason {
	procs := make([]*proc, len(pids))
	for i, pid := range pids {
		p := s.take(pid)
		procs[i] = p
		if sd == BrutalKill {
			p.kill(s.system)
			continue
		}
		p.setReason(Shutdown)
		s.system.Root.Stop(p.pid)
	}
	var timeout <-chan time.Time
	if sd > 0 {
		t := time.NewTimer(time.Duration(sd))
		defer t.Stop()
		timeout = t.C
	}
	expired := sd == BrutalKill
	out := make([]Reason, len(procs))
	for i, p := range procs {
		if !expired {
			select {
			case <-p.done:
				out[i] = p.exitReason()
				continue
			case <-timeout:
				expired = true
			}
		}
		select {
		case <-p.done:
			out[i] = p.exitReason()
		default:
			p.kill(s.system)
			out[i] = Killed
		}
	}
	return out
}

// Kill kills a child without waiting.
func (s *supervisor) Kill(pid *actor.PID) { s.take(pid).kill(s.system) }

// Alive reports whether pid is registered in this actor system.
func (s *supervisor) Alive(pid *actor.PID) bool {
	_, alive := s.system.ProcessRegistry.GetLocal(pid.Id)
	return alive
}

// Later queues f behind the supervisor's pending messages.
func (s *supervisor) Later(f func()) { s.system.Root.Send(s.self, &later{f: f}) }

// Exit stops the supervisor with reason r after the current message.
func (s *supervisor) Exit(r Reason) {
	s.p.setReason(r)
	s.system.Root.Stop(s.self)
}

// Publish puts e on the actor system's EventStream.
func (s *supervisor) Publish(e *Event) {
	e.Supervisor = s.self
	switch e.Kind {
	case IntensityExceeded:
		e.PID = s.self
		s.system.Logger().Error("supervision: reached_max_restart_intensity", slog.String("supervisor", s.m.spec.Name),
			slog.Int("intensity", s.m.spec.Intensity), slog.Duration("period", s.m.spec.Period))
	case AutoShutdownTriggered:
		e.PID = s.self
	}
	s.system.EventStream.Publish(e)
}

// Now is the supervisor's clock (Spec.Clock).
func (s *supervisor) Now() time.Time { return s.clock() }

// Name points the child's registered name at pid, registering it first.
func (s *supervisor) Name(id string, pid *actor.PID) {
	n, ok := s.names[id]
	if !ok {
		n = register(s.system, s.m.spec.Name+"/"+id)
		s.names[id] = n
	}
	n.set(pid)
}

// Unname frees the child's registered name.
func (s *supervisor) Unname(id string) {
	if n, ok := s.names[id]; ok {
		n.unregister()
		delete(s.names, id)
	}
}
