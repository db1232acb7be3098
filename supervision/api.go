package supervision

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Supervisor is a handle on a running supervisor. Its methods are OTP's
// supervisor API; each call runs on the supervisor's goroutine, serialized
// with restarts, as gen_server calls are. A handle is safe for concurrent
// use. Calls on a supervisor that has exited return ErrNoProc; calls honour
// ctx's deadline and cancellation.
type Supervisor struct {
	system   *actor.ActorSystem
	pid      *actor.PID
	p        *proc
	name     string
	strategy Strategy
	history  *History
}

// ChildInfo is one row of WhichChildren (OTP's {Id, Child, Type, Modules}).
type ChildInfo struct {
	// ID is empty under SimpleOneForOne (OTP's undefined).
	ID string
	// PID is nil when the child is not running (OTP's undefined or
	// restarting).
	PID        *actor.PID
	Restarting bool
	Type       ChildType
}

// Counts is OTP's count_children.
type Counts struct {
	// Specs is the number of child specs (1 under SimpleOneForOne).
	Specs int
	// Active is the number of running children.
	Active int
	// Supervisors and Workers count children of each type, running or not.
	Supervisors int
	Workers     int
}

// Start starts a top-level supervisor and returns once all its children
// have started (OTP's start_link). If a child fails to start, the children
// already started are stopped in reverse order and the error is a
// *FailedToStartError. If spec.Name is registered already, the error is an
// *AlreadyStartedError.
func Start(system *actor.ActorSystem, spec Spec) (*Supervisor, error) {
	if spec.Name == "" {
		spec.Name = "supervisor" + system.ProcessRegistry.NextId()
	}
	sc := &StartContext{system: system, path: spec.Name, name: spec.Name}
	return sc.spawnSupervisor(spec)
}

// Ref returns the handle of the supervisor at pid, for instance a nested
// supervisor found with WhichChildren.
func Ref(ctx context.Context, system *actor.ActorSystem, pid *actor.PID) (*Supervisor, error) {
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	res, err := system.Root.RequestFuture(pid, &getHandle{}, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("supervision: ref %s: %w", pid, ErrNoProc)
	}
	h, ok := res.(*Supervisor)
	if !ok {
		return nil, fmt.Errorf("supervision: %s is not a supervisor", pid)
	}
	return h, nil
}

// PID returns the supervisor's pid.
func (s *Supervisor) PID() *actor.PID { return s.pid }

// Name returns the supervisor's registered name; its children's stable
// names are Name/ID.
func (s *Supervisor) Name() string { return s.name }

// Strategy returns the supervisor's restart strategy.
func (s *Supervisor) Strategy() Strategy { return s.strategy }

// History returns the supervisor's restart history.
func (s *Supervisor) History() *History { return s.history }

// Done is closed when the supervisor has exited and all its children are
// stopped.
func (s *Supervisor) Done() <-chan struct{} { return s.p.done }

// Reason returns the supervisor's exit reason, once Done is closed:
// shutdown after reaching its restart intensity or an auto_shutdown,
// normal after Stop.
func (s *Supervisor) Reason() Reason { return s.p.exitReason() }

// Whereis returns the stable pid of the child with id: a registered name
// that forwards to whichever incarnation is running. Messages sent to it
// while the child is not running go to dead letters.
func (s *Supervisor) Whereis(id string) *actor.PID {
	return actor.NewPID(s.system.Address(), s.name+"/"+id)
}

// Stop stops the supervisor with reason normal: its children are stopped
// in reverse start order, each within its shutdown spec (F1, F2). It
// returns when all are gone, or with ctx's error.
func (s *Supervisor) Stop(ctx context.Context) error {
	return s.Exit(ctx, Normal)
}

// Exit stops the supervisor with reason r, like exit(Sup, R) from its
// parent: children still get shutdown, in order.
func (s *Supervisor) Exit(ctx context.Context, r Reason) error {
	s.Signal(r)
	select {
	case <-s.p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Signal asks the supervisor to exit with reason r and returns at once;
// Done is closed once it has stopped its children and exited.
func (s *Supervisor) Signal(r Reason) {
	s.p.setReason(r)
	if s.p.sup == nil {
		s.p.stopping.Store(true) // top level: nobody to tell
	}
	s.system.Root.Stop(s.pid)
}

// Kill kills the supervisor like exit(Sup, kill): no ordered shutdown; its
// children are killed at once (F7). A nested supervisor's parent sees the
// exit with reason killed.
func (s *Supervisor) Kill() {
	s.p.setReason(Killed)
	if s.p.sup == nil {
		s.p.stopping.Store(true)
	}
	s.p.kill(s.system)
}

func (s *Supervisor) call(ctx context.Context, op func(*Machine) result) result {
	req := &request{op: op, reply: make(chan result, 1)}
	s.system.Root.Send(s.pid, req)
	select {
	case r := <-req.reply:
		return r
	case <-s.p.done:
		select {
		case r := <-req.reply:
			return r
		default:
			return result{err: ErrNoProc}
		}
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
}

// StartChild adds a child spec and starts it (G1–G3). The new child goes
// last in start order. A nil pid with a nil error means the start function
// returned ErrIgnore (OTP's {ok, undefined}); the spec is kept unless the
// child is temporary. A start error discards the spec and is returned as
// is; an invalid spec gives a *SpecError.
func (s *Supervisor) StartChild(ctx context.Context, spec ChildSpec) (*actor.PID, error) {
	r := s.call(ctx, func(m *Machine) result { pid, err := m.StartChild(spec); return result{pid: pid, err: err} })
	return r.pid, r.err
}

// StartChildWith starts a SimpleOneForOne child from the template with
// extra arguments (H1). A nil pid with a nil error means ignore.
func (s *Supervisor) StartChildWith(ctx context.Context, args ...any) (*actor.PID, error) {
	r := s.call(ctx, func(m *Machine) result { pid, err := m.StartChildWith(args); return result{pid: pid, err: err} })
	return r.pid, r.err
}

// TerminateChild stops the child with id per its shutdown spec and keeps
// its spec (a temporary child's spec is removed). It never causes a restart
// (G4).
func (s *Supervisor) TerminateChild(ctx context.Context, id string) error {
	return s.call(ctx, func(m *Machine) result { return result{err: m.TerminateChild(id)} }).err
}

// TerminateChildPID stops a SimpleOneForOne child by pid (H3). A pid that is
// no longer alive is fine; a live pid that is not a child is ErrNotFound.
func (s *Supervisor) TerminateChildPID(ctx context.Context, pid *actor.PID) error {
	return s.call(ctx, func(m *Machine) result { return result{err: m.TerminateChildPID(pid)} }).err
}

// RestartChild starts a child whose spec is kept but which is not running
// (G5). It does not count toward intensity. A nil pid with a nil error
// means ignore.
func (s *Supervisor) RestartChild(ctx context.Context, id string) (*actor.PID, error) {
	r := s.call(ctx, func(m *Machine) result { pid, err := m.RestartChild(id); return result{pid: pid, err: err} })
	return r.pid, r.err
}

// DeleteChild removes the spec of a child that is not running (G6).
func (s *Supervisor) DeleteChild(ctx context.Context, id string) error {
	return s.call(ctx, func(m *Machine) result { return result{err: m.DeleteChild(id)} }).err
}

// WhichChildren lists the children, most recently started first (G8).
func (s *Supervisor) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	r := s.call(ctx, func(m *Machine) result { return result{children: m.WhichChildren()} })
	return r.children, r.err
}

// CountChildren counts the children (G8).
func (s *Supervisor) CountChildren(ctx context.Context) (Counts, error) {
	r := s.call(ctx, func(m *Machine) result { return result{counts: m.CountChildren()} })
	return r.counts, r.err
}

// GetChildSpec returns the spec of the child with id (A7). Under
// SimpleOneForOne, id is a child's PID Id and the template is returned.
// A temporary child that has started has a nil Start: it is never
// restarted, so its supervisor keeps nothing it was started with.
func (s *Supervisor) GetChildSpec(ctx context.Context, id string) (ChildSpec, error) {
	r := s.call(ctx, func(m *Machine) result { spec, err := m.GetChildSpec(id); return result{spec: spec, err: err} })
	return r.spec, r.err
}
