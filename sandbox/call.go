package sandbox

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// caller is a one-shot reply process: it receives the answer to a request
// and, because it also watches the target, the target's *actor.Terminated
// when it stops with the request still queued. (protoactor's Future
// cannot do both: a late Terminated overwrites its result without a lock.)
type caller struct{ ch chan any }

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

// request sends msg to target and waits for its answer, the target's
// termination (returned as *actor.Terminated), ctx's end or, when ctx has no
// deadline, the timeout.
//
// down, when not nil, is closed when the target's member goes down: the
// call then returns a *actor.Terminated at once.
func request(ctx context.Context, system *actor.ActorSystem, target *actor.PID, msg any, timeout time.Duration, down <-chan struct{}) (any, error) {
	c := &caller{ch: make(chan any, 1)}
	self, _ := system.ProcessRegistry.Add(c, "call"+system.ProcessRegistry.NextId())
	defer system.ProcessRegistry.Remove(self)
	proc, _ := system.ProcessRegistry.Get(target)
	proc.SendSystemMessage(target, &actor.Watch{Watcher: self})
	defer proc.SendSystemMessage(target, &actor.Unwatch{Watcher: self})
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
