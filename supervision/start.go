package supervision

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// StartFunc starts one incarnation of a child, like the {M,F,A} of an OTP
// child spec. It must spawn the child through sc (Spawn or
// SpawnSupervisor) and return that pid, or return ErrIgnore, or an error.
// args are the extra arguments of SimpleOneForOne's StartChildWith (nil
// otherwise); they are kept and passed again on every restart.
//
// The supervisor calls StartFunc on its own goroutine and waits for it:
// starts are synchronous, like OTP's. A StartFunc must not call its own
// supervisor's API (that deadlocks, as it does in OTP).
type StartFunc func(sc *StartContext, args ...any) (*actor.PID, error)

// StartContext is what a StartFunc spawns its child with. It is valid only
// during the call.
type StartContext struct {
	system *actor.ActorSystem
	sup    *actor.PID
	path   string // stable path of the child: supervisor name + "/" + id
	name   string // spawn name of this incarnation: path + "#" + n
	p      *proc
}

// System returns the actor system the child runs in.
func (sc *StartContext) System() *actor.ActorSystem { return sc.system }

// Name returns the name the child will be spawned under (its supervisor's
// name, its id and an incarnation number).
func (sc *StartContext) Name() string { return sc.name }

var errSpawnedTwice = errors.New("supervision: StartContext used to spawn twice")

// Spawn spawns the actor made by producer as the child and waits until it
// finished init: the handling of *actor.Started, or Init for an
// Initializer. It returns the child's pid, ErrIgnore, or the init error
// (a panic is a *PanicError). opts configure the actor's Props (mailbox,
// middleware, …) as for actor.PropsFromProducer.
func (sc *StartContext) Spawn(producer actor.Producer, opts ...actor.PropsOption) (*actor.PID, error) {
	return sc.spawn(func(p *proc) actor.Actor { return &worker{p: p, inner: producer()} }, nil, opts)
}

// SpawnSupervisor spawns a supervisor as the child and waits until it has
// started all its children.
func (sc *StartContext) SpawnSupervisor(spec Spec) (*actor.PID, error) {
	h, err := sc.spawnSupervisor(spec)
	if err != nil {
		return nil, err
	}
	return h.pid, nil
}

func (sc *StartContext) spawnSupervisor(spec Spec) (*Supervisor, error) {
	if err := validate(&spec, true); err != nil {
		return nil, err
	}
	if spec.Name != "" {
		sc.name = spec.Name
	} else {
		spec.Name = sc.path
	}
	d := newPinned()
	h := &Supervisor{system: sc.system, name: spec.Name, strategy: spec.Strategy}
	pid, err := sc.spawn(func(p *proc) actor.Actor {
		h.p = p
		return newSupervisor(p, spec, d, h)
	}, d, nil)
	if err != nil {
		if sc.p.pid == nil {
			d.stop() // never spawned: nobody else will stop it
		}
		return nil, err
	}
	h.pid = pid
	return h, nil
}

func (sc *StartContext) spawn(make func(*proc) actor.Actor, d actor.Dispatcher, opts []actor.PropsOption) (*actor.PID, error) {
	if sc.p != nil {
		return nil, errSpawnedTwice
	}
	p := newProc(sc.sup)
	sc.p = p
	if d == nil {
		d = &p.dispatch
	}
	props := actor.PropsFromProducer(func() actor.Actor { return make(p) }, append([]actor.PropsOption{actor.WithDispatcher(d)}, opts...)...)
	pid, err := sc.system.Root.SpawnNamed(props, sc.name)
	if err != nil {
		if errors.Is(err, actor.ErrNameExists) {
			return nil, &AlreadyStartedError{PID: pid}
		}
		return nil, err
	}
	p.pid = pid
	if err := <-p.initc; err != nil {
		<-p.done
		return nil, err
	}
	return pid, nil
}

// Spawn returns a StartFunc that spawns the actor made by producer. The
// extra arguments of StartChildWith are ignored; use SpawnWith to pass
// them to the actor.
func Spawn(producer actor.Producer, opts ...actor.PropsOption) StartFunc {
	return func(sc *StartContext, _ ...any) (*actor.PID, error) {
		return sc.Spawn(producer, opts...)
	}
}

// SpawnWith returns a StartFunc that builds the actor from the start
// arguments, as OTP's apply(M, F, A ++ Extra) does for SimpleOneForOne.
func SpawnWith(producer func(args ...any) actor.Actor, opts ...actor.PropsOption) StartFunc {
	return func(sc *StartContext, args ...any) (*actor.PID, error) {
		return sc.Spawn(func() actor.Actor { return producer(args...) }, opts...)
	}
}

// Nested returns a StartFunc that starts a supervisor with spec as a
// child; give its ChildSpec Type SupervisorChild.
func Nested(spec Spec) StartFunc {
	return func(sc *StartContext, _ ...any) (*actor.PID, error) {
		return sc.SpawnSupervisor(spec)
	}
}

// callStart runs a StartFunc, turning a panic into an error and checking
// that the returned pid is the one it spawned.
func callStart(sc *StartContext, start StartFunc, args []any) (p *proc, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, newPanicError(v)
			if sc.p != nil && sc.p.pid != nil {
				sc.p.stopping.Store(true)
				sc.p.kill(sc.system)
			}
		}
	}()
	pid, err := start(sc, args...)
	if err != nil {
		return nil, err
	}
	if pid == nil || sc.p == nil || sc.p.pid == nil || !pid.Equal(sc.p.pid) {
		if sc.p != nil && sc.p.pid != nil {
			sc.p.stopping.Store(true)
			sc.p.kill(sc.system)
		}
		return nil, fmt.Errorf("%w: start function returned %v", ErrBadReturn, pid)
	}
	return sc.p, nil
}
