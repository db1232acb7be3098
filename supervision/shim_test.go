package supervision_test

// Temporary stand-ins for testkit while it is being written.

import (
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
)

type shimKit struct{ sys *actor.ActorSystem }

func (k *shimKit) System() *actor.ActorSystem { return k.sys }
func (k *shimKit) Root() *actor.RootContext   { return k.sys.Root }

func shimNew(t *testing.T) *shimKit {
	sys := actor.NewActorSystem()
	t.Cleanup(sys.Shutdown)
	return &shimKit{sys: sys}
}

type shimRec struct {
	t      *testing.T
	mu     sync.Mutex
	events []*supervision.Event
	notify chan struct{}
}

func shimRecorder(t *testing.T, sys *actor.ActorSystem) *shimRec {
	r := &shimRec{t: t, notify: make(chan struct{}, 1)}
	sub := sys.EventStream.Subscribe(func(e any) {
		if ev, ok := e.(*supervision.Event); ok {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
			select {
			case r.notify <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	return r
}

func (r *shimRec) Events() []*supervision.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*supervision.Event(nil), r.events...)
}

func (r *shimRec) Strings() []string {
	var out []string
	for _, e := range r.Events() {
		out = append(out, e.String())
	}
	return out
}

func (r *shimRec) Reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

func (r *shimRec) WaitFor(n int) []*supervision.Event {
	r.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if ev := r.Events(); len(ev) >= n {
			return ev
		}
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("timeout waiting for %d events, got %v", n, r.Strings())
		}
	}
}

func (r *shimRec) WaitUntil(pred func(*supervision.Event) bool) *supervision.Event {
	r.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		for _, e := range r.Events() {
			if pred(e) {
				return e
			}
		}
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("timeout, got %v", r.Strings())
		}
	}
}

func (r *shimRec) ExpectSequence(want ...string) {
	r.t.Helper()
	r.WaitFor(len(want))
	got := r.Strings()
	if len(got) != len(want) {
		r.t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			r.t.Fatalf("events:\n got %v\nwant %v", got, want)
		}
	}
}
