package supervision

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// proc is one incarnation of a supervised process: the supervisor's handle
// on a child's life. The child's goroutine writes reason, initc and done;
// the supervisor reads them after the child signalled, so the fields that
// both touch are atomics or channels.
type proc struct {
	pid *actor.PID
	// sup is notified with *childExited when the process stops by itself;
	// nil for a top-level supervisor.
	sup *actor.PID
	// initc carries the result of init (nil, ErrIgnore or an error).
	initc chan error
	// done is closed when the process has stopped: its Stopped handler ran
	// (or was skipped because it was killed) and it handles nothing more.
	done chan struct{}

	reason atomic.Pointer[Reason]
	// stopping is set by whoever asked the process to stop (its supervisor
	// or a top-level Stop): its exit needs no notification.
	stopping atomic.Bool
	// killed makes the process drop every further message, cleanup
	// included.
	killed atomic.Bool

	// dispatch runs the process's init inline; see inlineFirst.
	dispatch inlineFirst
}

func newProc(sup *actor.PID) *proc {
	return &proc{sup: sup, initc: make(chan error, 1), done: make(chan struct{})}
}

// setReason records why the process exits; the first reason wins.
func (p *proc) setReason(r Reason) {
	p.reason.CompareAndSwap(nil, &r)
}

// exitReason is the recorded reason, Normal when the process stopped
// without giving one.
func (p *proc) exitReason() Reason {
	if r := p.reason.Load(); r != nil {
		return *r
	}
	return Normal
}

// finish runs on the process's goroutine when it has stopped.
func (p *proc) finish(ctx actor.Context) {
	close(p.done)
	if p.sup != nil && !p.stopping.Load() {
		ctx.Send(p.sup, &childExited{p: p})
	}
}

// kill abandons the process: it drops all further messages, cleanup
// included, and is stopped by protoactor when its mailbox gets there. A
// supervisor killing its own child sets stopping first.
func (p *proc) kill(system *actor.ActorSystem) {
	p.killed.Store(true)
	p.setReason(Killed)
	system.Root.Stop(p.pid)
}

// procOwner is implemented by the actors that carry a proc (the worker
// wrapper and the supervisor), so Exit can find it from a Context.
type procOwner interface{ ownProc() *proc }

// Exit makes the calling actor exit with reason r, like OTP's
// exit(self(), R) for a process that does not trap exits: it records the
// reason and stops the actor after the current message. Its supervisor
// then applies the child's restart type to r. It must be called from the
// actor's own Receive.
func Exit(ctx actor.Context, r Reason) {
	if o, ok := ctx.Actor().(procOwner); ok {
		o.ownProc().setReason(r)
	}
	ctx.Stop(ctx.Self())
}

// Initializer is implemented by actors whose start can fail. Init runs as
// the child's init, on its own goroutine, before the start function of its
// supervisor returns; it replaces the delivery of *actor.Started. Returning
// ErrIgnore makes the start "ignore"; any other error makes the start fail
// with it. Actors without Init get *actor.Started as usual, and a panic in
// that handler is a start failure.
type Initializer interface {
	Init(ctx actor.Context) error
}

// worker wraps a user actor as an OTP child: it runs init synchronously with
// its supervisor, turns panics into abnormal exits instead of protoactor
// restarts, and reports its exit.
type worker struct {
	p     *proc
	inner actor.Actor
}

func (w *worker) ownProc() *proc { return w.p }

func (w *worker) Receive(ctx actor.Context) {
	p := w.p
	if p.killed.Load() {
		if _, ok := ctx.Message().(*actor.Stopped); ok {
			p.finish(ctx)
		}
		return
	}
	switch ctx.Message().(type) {
	case *actor.Started:
		w.init(ctx)
	case *actor.Stopped:
		w.invoke(ctx)
		p.finish(ctx)
	default:
		w.invoke(ctx)
	}
}

// invoke passes the message to the user's actor; a panic makes the process
// exit abnormally.
func (w *worker) invoke(ctx actor.Context) {
	defer func() {
		if v := recover(); v != nil {
			w.p.setReason(Abnormal(newPanicError(v)))
			ctx.Stop(ctx.Self())
		}
	}()
	w.inner.Receive(ctx)
}

func (w *worker) init(ctx actor.Context) {
	err := w.runInit(ctx)
	if err != nil {
		// The start fails: nobody is to be told of this exit but the
		// supervisor waiting on initc.
		w.p.stopping.Store(true)
		ctx.Stop(ctx.Self())
	}
	w.p.initc <- err
}

func (w *worker) runInit(ctx actor.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
	}()
	if in, ok := w.inner.(Initializer); ok {
		return in.Init(ctx)
	}
	w.inner.Receive(ctx)
	if r := w.p.reason.Load(); r != nil {
		// Exit called during Started: OTP's {stop, Reason} from init.
		return *r
	}
	return nil
}
