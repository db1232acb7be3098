package supervision

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// child is the supervisor's record of one child spec (or, under
// SimpleOneForOne, of one dynamic child). Only the supervisor's goroutine
// touches it.
type child struct {
	spec ChildSpec
	p    *proc // nil: OTP's undefined
	// restarting: a restart failed and a retry is queued.
	restarting bool
	args       []any
	name       *name // stable registered name; nil under SimpleOneForOne
	lastErr    error // the error of the last failed restart
}

// childExited tells a supervisor that one of its processes stopped by
// itself.
type childExited struct{ p *proc }

// tryAgain retries a failed restart through the mailbox, so API calls
// interleave with retries (OTP's try_again_restart).
type tryAgain struct{ c *child }

// request runs an API call on the supervisor's goroutine.
type request struct {
	op    func(s *supervisor) result
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

// supervisor is the actor behind a Supervisor: OTP's supervisor state
// machine. All its state is owned by its goroutine.
type supervisor struct {
	p      *proc
	d      *pinned
	spec   Spec
	handle *Supervisor
	system *actor.ActorSystem
	self   *actor.PID
	clock  func() time.Time
	epoch  time.Time

	children []*child          // start order (not SimpleOneForOne)
	ids      map[string]*child // by id
	dyn      map[*child]struct{}
	dynPID   map[string]*child // SimpleOneForOne children by pid id
	restarts []int64           // restart times in whole seconds since epoch, oldest first
	seq      uint64            // incarnation counter for names
}

func newSupervisor(p *proc, spec Spec, d *pinned, h *Supervisor) *supervisor {
	clock := spec.Clock
	if clock == nil {
		clock = time.Now
	}
	return &supervisor{
		p:      p,
		d:      d,
		handle: h,
		spec:   spec,
		clock:  clock,
		ids:    make(map[string]*child, len(spec.Children)),
	}
}

func (s *supervisor) ownProc() *proc { return s.p }

func (s *supervisor) simple() bool { return s.spec.Strategy == SimpleOneForOne }

// Receive is the supervisor's message loop.
func (s *supervisor) Receive(ctx actor.Context) {
	if s.p.killed.Load() {
		switch ctx.Message().(type) {
		case *actor.Stopping:
			s.killChildren() // links: children die with a killed supervisor (F7)
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
		m.reply <- m.op(s)
	case *childExited:
		s.handleExit(ctx, m.p)
	case *tryAgain:
		s.tryAgain(ctx, m.c)
	case *actor.Started:
		s.init(ctx)
	case *actor.Stopping:
		s.p.setReason(Shutdown)
		s.terminateAll()
	case *actor.Stopped:
		s.stopped(ctx)
	case *getHandle:
		ctx.Respond(s.handle)
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		// F8: an unexpected message is logged and ignored.
		ctx.Logger().Warn("supervision: unexpected message", slog.String("supervisor", s.spec.Name), slog.Any("message", m))
	}
}

// init starts the children in order, synchronously (A1–A3, A8).
func (s *supervisor) init(ctx actor.Context) {
	s.system = ctx.ActorSystem()
	s.self = ctx.Self()
	s.epoch = s.clock()
	if s.simple() {
		s.dyn = make(map[*child]struct{})
		s.dynPID = make(map[string]*child)
		s.p.initc <- nil
		return
	}
	for _, cs := range s.spec.Children {
		c := &child{spec: cs}
		s.add(c)
		if err := s.start(c, false); err != nil && !errors.Is(err, ErrIgnore) {
			failed := &FailedToStartError{ID: cs.ID, Reason: err}
			s.terminateAll()
			s.unregisterAll()
			s.p.setReason(ShutdownWith(failed))
			s.p.stopping.Store(true)
			ctx.Stop(s.self)
			s.p.initc <- failed
			return
		}
		if c.p == nil && c.spec.Restart == Temporary {
			s.remove(c)
		}
	}
	s.p.initc <- nil
}

func (s *supervisor) stopped(ctx actor.Context) {
	s.unregisterAll()
	s.publish(&Event{Kind: SupervisorExited, PID: s.self, Reason: s.p.exitReason()})
	s.p.finish(ctx)
	s.d.stop()
}

// add appends c to the start order and registers its name.
func (s *supervisor) add(c *child) {
	s.children = append(s.children, c)
	s.ids[c.spec.ID] = c
	c.name = register(s.system, s.spec.Name+"/"+c.spec.ID)
}

// remove deletes c's spec.
func (s *supervisor) remove(c *child) {
	if s.simple() {
		delete(s.dyn, c)
		return
	}
	delete(s.ids, c.spec.ID)
	for i, x := range s.children {
		if x == c {
			s.children = append(s.children[:i], s.children[i+1:]...)
			break
		}
	}
	c.name.unregister()
}

func (s *supervisor) unregisterAll() {
	for _, c := range s.children {
		c.name.unregister()
	}
}

// start runs c's start function. It returns ErrIgnore or the start error;
// on success c runs the new process.
func (s *supervisor) start(c *child, restart bool) error {
	s.seq++
	path := s.spec.Name + "/" + c.spec.ID
	name := path + "#" + strconv.FormatUint(s.seq, 10)
	if s.simple() {
		path = name // no id: every dynamic child has its own path
	}
	sc := &StartContext{system: s.system, sup: s.self, path: path, name: name}
	p, err := callStart(sc, c.spec.Start, c.args)
	switch {
	case errors.Is(err, ErrIgnore):
		s.publish(&Event{Kind: ChildIgnored, ChildID: s.idOf(c), Restart: restart})
		return ErrIgnore
	case err != nil:
		s.publish(&Event{Kind: ChildStartFailed, ChildID: s.idOf(c), Reason: Abnormal(err), Restart: restart})
		return err
	}
	p.ch = c
	c.p = p
	c.restarting = false
	c.name.set(p.pid)
	if s.simple() {
		s.dynPID[p.pid.Id] = c
	}
	s.publish(&Event{Kind: ChildStarted, ChildID: s.idOf(c), PID: p.pid, Restart: restart})
	return nil
}

// idOf is c's id as reported in events: none under SimpleOneForOne.
func (s *supervisor) idOf(c *child) string {
	if s.simple() {
		return ""
	}
	return c.spec.ID
}

// detach forgets c's process.
func (s *supervisor) detach(c *child) *proc {
	p := c.p
	c.p = nil
	c.name.set(nil)
	if s.simple() && p != nil {
		delete(s.dynPID, p.pid.Id)
	}
	return p
}

// terminate stops c's process according to its shutdown spec and waits
// (F1, F3–F5).
func (s *supervisor) terminate(c *child) {
	p := s.detach(c)
	if p == nil {
		return
	}
	p.stopping.Store(true)
	sd := c.spec.Shutdown
	if sd == BrutalKill {
		p.kill(s.system)
		s.publish(&Event{Kind: ChildKilled, ChildID: s.idOf(c), PID: p.pid, Reason: Killed})
		return
	}
	p.setReason(Shutdown)
	s.system.Root.Stop(p.pid)
	if sd == Infinity {
		<-p.done
	} else {
		t := time.NewTimer(time.Duration(sd))
		select {
		case <-p.done:
			t.Stop()
		case <-t.C:
			p.kill(s.system)
			s.publish(&Event{Kind: ChildKilled, ChildID: s.idOf(c), PID: p.pid, Reason: Killed})
			return
		}
	}
	s.publish(&Event{Kind: ChildTerminated, ChildID: s.idOf(c), PID: p.pid, Reason: p.exitReason()})
}

// terminateAll stops every child: in reverse start order one at a time, or
// all at once under one timer for SimpleOneForOne (H4). Temporary children
// are removed.
func (s *supervisor) terminateAll() {
	if s.simple() {
		s.terminateDynamic()
		return
	}
	s.terminateGroup(s.children, nil)
}

// terminateGroup stops the children of group except skip, in reverse order,
// and removes the temporary ones.
func (s *supervisor) terminateGroup(group []*child, skip *child) {
	for i := len(group) - 1; i >= 0; i-- {
		c := group[i]
		if c == skip {
			continue
		}
		s.terminate(c)
		c.restarting = false
		if c.spec.Restart == Temporary {
			s.remove(c)
		}
	}
}

func (s *supervisor) terminateDynamic() {
	sd := s.spec.Children[0].Shutdown
	procs := make([]*child, 0, len(s.dynPID))
	for c := range s.dyn {
		if c.p != nil {
			procs = append(procs, c)
		}
	}
	s.dyn = make(map[*child]struct{})
	for _, c := range procs {
		p := c.p
		p.stopping.Store(true)
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
	for _, c := range procs {
		p := s.detach(c)
		if !expired {
			select {
			case <-p.done:
				s.publish(&Event{Kind: ChildTerminated, PID: p.pid, Reason: p.exitReason()})
				continue
			case <-timeout:
				expired = true
			}
		}
		select {
		case <-p.done:
			s.publish(&Event{Kind: ChildTerminated, PID: p.pid, Reason: p.exitReason()})
		default:
			p.kill(s.system)
			s.publish(&Event{Kind: ChildKilled, PID: p.pid, Reason: Killed})
		}
	}
}

// killChildren kills every child at once, without waiting (a killed
// supervisor's links, F7).
func (s *supervisor) killChildren() {
	kill := func(c *child) {
		if p := s.detach(c); p != nil {
			p.stopping.Store(true)
			p.kill(s.system)
			s.publish(&Event{Kind: ChildKilled, ChildID: s.idOf(c), PID: p.pid, Reason: Killed})
		}
	}
	for _, c := range s.children {
		kill(c)
	}
	for c := range s.dyn {
		kill(c)
	}
}

// handleExit applies the restart type and strategy to a child that exited
// by itself (B–E, H2, I).
func (s *supervisor) handleExit(ctx actor.Context, p *proc) {
	c := p.ch
	if c == nil || c.p != p {
		return // already terminated or replaced: stale
	}
	s.detach(c)
	r := p.exitReason()
	s.publish(&Event{Kind: ChildExited, ChildID: s.idOf(c), PID: p.pid, Reason: r})
	var restart bool
	switch c.spec.Restart {
	case Permanent:
		restart = true
	case Transient:
		restart = !r.IsNormal()
	}
	if restart {
		s.handle.history.add(RestartRecord{ChildID: s.idOf(c), PID: p.pid, Reason: r, Time: s.clock()})
		s.restart(ctx, c)
		return
	}
	if c.spec.Restart == Temporary || s.simple() {
		s.remove(c)
	}
	if c.spec.Significant && s.significantExitStops() {
		s.shutdown(ctx, AutoShutdownTriggered)
	}
}

// significantExitStops decides auto_shutdown after a significant child
// exited without a restart.
func (s *supervisor) significantExitStops() bool {
	switch s.spec.AutoShutdown {
	case AnySignificant:
		return true
	case AllSignificant:
		for _, c := range s.children {
			if c.spec.Significant && (c.p != nil || c.restarting) {
				return false
			}
		}
		return true
	}
	return false
}

// addRestart records a restart with OTP's window arithmetic: whole seconds,
// keep restarts at or after now-period, too many when more than intensity.
func (s *supervisor) addRestart() bool {
	now := int64(s.clock().Sub(s.epoch) / time.Second)
	threshold := now - int64(s.spec.Period/time.Second)
	i := 0
	for i < len(s.restarts) && s.restarts[i] < threshold {
		i++
	}
	// Keep at most intensity+1 entries: one more means shutdown anyway.
	if n := len(s.restarts) - i; n > s.spec.Intensity {
		i = len(s.restarts) - s.spec.Intensity
	}
	s.restarts = append(s.restarts[i:], now)
	return len(s.restarts) <= s.spec.Intensity
}

// restart restarts c per the strategy, or shuts the supervisor down when
// intensity is exceeded.
func (s *supervisor) restart(ctx actor.Context, c *child) {
	if !s.addRestart() {
		s.shutdown(ctx, IntensityExceeded)
		return
	}
	switch s.spec.Strategy {
	case OneForAll:
		s.restartGroup(ctx, c, s.children)
	case RestForOne:
		for i, x := range s.children {
			if x == c {
				s.restartGroup(ctx, c, s.children[i:])
				break
			}
		}
	default:
		s.restartOne(ctx, c)
	}
}

func (s *supervisor) restartOne(ctx actor.Context, c *child) {
	err := s.start(c, true)
	switch {
	case errors.Is(err, ErrIgnore):
		if s.simple() {
			s.remove(c) // newer OTP: an ignored restart removes the child
		}
	case err != nil:
		s.retryLater(ctx, c, err)
	}
}

// restartGroup terminates group (except c, already dead) in reverse order,
// then starts it again in order (C1, C2, C4, D1, D2).
func (s *supervisor) restartGroup(ctx actor.Context, c *child, group []*child) {
	group = append([]*child(nil), group...)
	s.terminateGroup(group, c)
	for _, g := range group {
		if g != c && g.spec.Restart == Temporary {
			continue // removed as a bystander
		}
		err := s.start(g, true)
		if err != nil && !errors.Is(err, ErrIgnore) {
			s.retryLater(ctx, g, err)
			return
		}
	}
}

func (s *supervisor) retryLater(ctx actor.Context, c *child, err error) {
	c.restarting = true
	c.lastErr = err
	ctx.Send(s.self, &tryAgain{c: c})
}

func (s *supervisor) tryAgain(ctx actor.Context, c *child) {
	if !c.restarting || !s.has(c) {
		return // terminated, deleted or restarted meanwhile
	}
	s.handle.history.add(RestartRecord{ChildID: s.idOf(c), Reason: Abnormal(c.lastErr), Time: s.clock()})
	s.restart(ctx, c)
}

func (s *supervisor) has(c *child) bool {
	if s.simple() {
		_, ok := s.dyn[c]
		return ok
	}
	return s.ids[c.spec.ID] == c
}

// shutdown terminates all children and exits with reason shutdown, so the
// parent supervisor decides (E1, I1).
func (s *supervisor) shutdown(ctx actor.Context, why EventKind) {
	s.publish(&Event{Kind: why, PID: s.self, Reason: Shutdown})
	if why == IntensityExceeded {
		ctx.Logger().Error("supervision: reached_max_restart_intensity", slog.String("supervisor", s.spec.Name),
			slog.Int("intensity", s.spec.Intensity), slog.Duration("period", s.spec.Period))
	}
	s.terminateAll()
	s.p.setReason(Shutdown)
	ctx.Stop(s.self)
}

func (s *supervisor) publish(e *Event) {
	e.Supervisor = s.self
	e.Name = s.spec.Name
	e.Time = s.clock()
	s.system.EventStream.Publish(e)
}
