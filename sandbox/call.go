package sandbox

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// caller is a one-shot reply process: it receives the answer to a request
// and, because it also watches the target, the target's *actor.Terminated
// when it stops with the request still queued. (protoactor's Future
// cannot do both: a late Terminated overwrites its result without a lock.)
type caller struct {
	ch         chan any
	prev, next *caller // in waiters, for a local target
}

var _ actor.Process = (*caller)(nil)

func (c *caller) put(v any) {
	select {
	case c.ch <- v:
	default: // only the first answer counts
	}
}

func (c *caller) SendUserMessage(_ *actor.PID, message any) {
	_, msg, _ := actor.UnwrapEnvelope(message)
	c.put(msg)
}

func (c *caller) SendSystemMessage(_ *actor.PID, message any) {
	if t, ok := message.(*actor.Terminated); ok {
		c.put(t)
	}
}

func (c *caller) Stop(*actor.PID) {}

// waiters are the callers waiting on this member's activations, by the
// activation's pid: an activation that stops tells them (activationEnded)
// instead of each call watching it. A watch leaves memory in the target
// for good (protoactor's PIDSet keeps its map, and the last watcher's pid
// with its process, after an unwatch): half a kilobyte a live sandbox.
//
// It is exact because protoactor removes a stopping actor from the
// process registry before it runs Stopped: a call registered before the
// activation's Stopped is told by it; one registered after sends to a pid
// that is no longer registered, and gets a DeadLetterResponse.
type waiters struct {
	mu    sync.Mutex
	heads map[string]*caller
}

func (w *waiters) add(id string, c *caller) {
	w.mu.Lock()
	if w.heads == nil {
		w.heads = make(map[string]*caller)
	}
	if h := w.heads[id]; h != nil {
		c.next, h.prev = h, c
	}
	w.heads[id] = c
	w.mu.Unlock()
}

func (w *waiters) remove(id string, c *caller) {
	w.mu.Lock()
	switch {
	case c.prev != nil:
		c.prev.next = c.next
	case c.next != nil:
		w.heads[id] = c.next
	default:
		delete(w.heads, id)
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
	w.mu.Unlock()
}

// activationEnded tells the calls waiting on pid that it stopped.
func (w *waiters) activationEnded(pid *actor.PID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := &actor.Terminated{Who: pid, Why: actor.TerminatedReason_Stopped}
	for c := w.heads[pid.Id]; c != nil; c = c.next {
		c.put(t)
	}
}

// request sends msg to target and waits for its answer, the target's
// termination (returned as *actor.Terminated), ctx's end or, when ctx has no
// deadline, the timeout.
//
// down, when not nil, is closed when the target's member goes down: the
// call then returns a *actor.Terminated at once.
//
// A target on this member is followed through local (see waiters), one on
// another member is watched.
func request(ctx context.Context, system *actor.ActorSystem, local *waiters, target *actor.PID, msg any, timeout time.Duration, down <-chan struct{}) (any, error) {
	c := &caller{ch: make(chan any, 1)}
	self, _ := system.ProcessRegistry.Add(c, "call"+system.ProcessRegistry.NextId())
	defer system.ProcessRegistry.Remove(self)
	if target.Address == system.Address() {
		local.add(target.Id, c)
		defer local.remove(target.Id, c)
	} else {
		proc, _ := system.ProcessRegistry.Get(target)
		proc.SendSystemMessage(target, &actor.Watch{Watcher: self})
		defer proc.SendSystemMessage(target, &actor.Unwatch{Watcher: self})
	}
	system.Root.RequestWithCustomSender(target, msg, self)
	var expired <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case v := <-c.ch:
		return v, nil
	case <-down:
		return &actor.Terminated{Who: target, Why: actor.TerminatedReason_AddressTerminated}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-expired:
		return nil, actor.ErrTimeout
	}
}
