package sandbox

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// traceSize bounds the message trace kept per actor.
const traceSize = 32

// starWorker is a gen_server written in Starlark: init(args) -> state (args
// is the tuple of the child spec's args and start_child's extra args),
// handle_call(msg, state) -> (reply, state), handle_cast(msg, state) ->
// state. Each handler runs under the sandbox's limits; an error, a fail()
// or an exceeded limit crashes the worker, and its supervisor decides.
type starWorker struct {
	rt    *otpRuntime
	def   *workerDef
	args  starlark.Tuple
	pid   *actor.PID
	state starlark.Value // owned by the worker's goroutine

	started bool         // Init succeeded; owned by the worker's goroutine
	inbox   atomic.Int32 // messages queued, for the mailbox limit
	repr    atomic.Pointer[string]

	mu  sync.Mutex // protects log and next
	log [traceSize]TracedMessage
	n   int
}

var _ supervision.Initializer = (*starWorker)(nil)

// Init runs the Starlark init; it is the child's init, so its error fails
// the start.
func (w *starWorker) Init(ctx actor.Context) error {
	if n := w.rt.actors.Add(1); int(n) > w.rt.limits.MaxActors {
		w.rt.actors.Add(-1)
		return &LimitError{Limit: LimitActors, Max: uint64(w.rt.limits.MaxActors), Got: uint64(n)}
	}
	w.pid = ctx.Self()
	w.state = starlark.None
	if w.def.init != nil {
		v, err := w.run(ctx, w.def.init, starlark.Tuple{w.args})
		if err != nil {
			w.rt.actors.Add(-1)
			return err
		}
		w.state = v
	}
	w.setRepr()
	w.rt.addWorker(w)
	w.started = true
	return nil
}

func (w *starWorker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *callMsg:
		w.inbox.Add(-1)
		w.record("call", m.msg)
		if w.def.handleCall == nil {
			m.reply <- callResult{err: fmt.Errorf("%s has no handle_call", w.pid.Id)}
			return
		}
		v, err := w.run(ctx, w.def.handleCall, starlark.Tuple{m.msg, w.state})
		if err != nil {
			m.reply <- callResult{err: fmt.Errorf("call crashed %s: %w", w.pid.Id, err)}
			w.crash(ctx, err)
			return
		}
		pair, ok := v.(starlark.Tuple)
		if !ok || len(pair) != 2 {
			err := fmt.Errorf("handle_call must return (reply, state), got %s", v.Type())
			m.reply <- callResult{err: err}
			w.crash(ctx, err)
			return
		}
		pair[0].Freeze()
		w.state = pair[1]
		w.setRepr()
		m.reply <- callResult{v: pair[0]}
	case *castMsg:
		w.inbox.Add(-1)
		w.record("cast", m.msg)
		if w.def.handleCast == nil {
			return
		}
		v, err := w.run(ctx, w.def.handleCast, starlark.Tuple{m.msg, w.state})
		if err != nil {
			w.crash(ctx, err)
			return
		}
		w.state = v
		w.setRepr()
	case *exitMsg:
		w.record("exit", starlark.String(m.reason.String()))
		supervision.Exit(ctx, m.reason)
	case *actor.Stopped:
		if w.started { // a failed init already gave its slot back
			w.rt.actors.Add(-1)
			w.rt.removeWorker(w)
		}
	}
}

// run calls a handler with self() bound to this worker.
func (w *starWorker) run(ctx actor.Context, fn starlark.Callable, args starlark.Tuple) (starlark.Value, error) {
	c := context.WithValue(context.WithValue(context.Background(), selfKey{}, ctx.Self()), runtimeKey{}, w.rt)
	v, _, err := engine.Call(c, w.rt.limits, fn, args, nil)
	return v, err
}

func (w *starWorker) crash(ctx actor.Context, err error) {
	supervision.Exit(ctx, supervision.Abnormal(err))
}

func (w *starWorker) setRepr() {
	s := w.state.String()
	if len(s) > 256 {
		s = s[:256] + "…"
	}
	w.repr.Store(&s)
}

func (w *starWorker) stateRepr() string {
	if s := w.repr.Load(); s != nil {
		return *s
	}
	return ""
}

func (w *starWorker) record(kind string, v starlark.Value) {
	s := v.String()
	if len(s) > 128 {
		s = s[:128] + "…"
	}
	w.mu.Lock()
	w.log[w.n%traceSize] = TracedMessage{Kind: kind, Value: s, Time: w.rt.host.now().UTC()}
	w.n++
	w.mu.Unlock()
}

func (w *starWorker) traced() []TracedMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n <= traceSize {
		return append([]TracedMessage(nil), w.log[:w.n]...)
	}
	i := w.n % traceSize
	return append(append([]TracedMessage(nil), w.log[i:]...), w.log[:i]...)
}

// selfKey carries the pid of the worker whose handler runs, for self().
type selfKey struct{}

// callTimeout is the default timeout of call().
const callTimeout = 5 * time.Second
