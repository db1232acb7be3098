package testkit

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
)

// Probe is a real actor that records every user message it receives, with
// its sender, and lets the test expect them in order. The probe actor may
// receive concurrently with the test; every other method must be called from
// one goroutine at a time, normally the test goroutine (Expect* fail with
// t.Fatalf, which must run there).
type Probe struct {
	t      testing.TB
	kit    *Kit
	pid    *actor.PID
	signal chan struct{} // capacity 1: something was queued

	mu    sync.Mutex // protects queue
	queue []envelope

	last     *actor.PID // sender of the last message taken; test goroutine only
	deadline time.Time  // set by Within, zero outside; test goroutine only
}

type envelope struct {
	msg    any
	sender *actor.PID
}

type watch struct {
	pid  *actor.PID
	done chan struct{}
}

// NewProbe spawns a probe actor in the Kit's system and stops it in
// t.Cleanup. Failures are reported on t.
func (k *Kit) NewProbe(t testing.TB) *Probe {
	t.Helper()
	p := &Probe{t: t, kit: k, signal: make(chan struct{}, 1)}
	p.pid = k.system.Root.Spawn(actor.PropsFromFunc(p.receive))
	t.Cleanup(func() { _ = k.system.Root.StopFuture(p.pid).Wait() })
	return p
}

func (p *Probe) receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case watch:
		c.Watch(m.pid)
		close(m.done)
	default: // user messages, *actor.Terminated, *actor.ReceiveTimeout …
		p.mu.Lock()
		p.queue = append(p.queue, envelope{m, c.Sender()})
		p.mu.Unlock()
		select {
		case p.signal <- struct{}{}:
		default:
		}
	}
}

// PID returns the probe actor's pid. It is safe for concurrent use.
func (p *Probe) PID() *actor.PID { return p.pid }

// Sender returns the sender of the last message an expectation took, or nil.
func (p *Probe) Sender() *actor.PID { return p.last }

// ExpectMsg takes the next message and fails the test unless it equals want
// (assert.ObjectsAreEqual: pointers are compared by what they point to) or
// none arrives before the timeout. It returns the message.
func (p *Probe) ExpectMsg(want any) any {
	p.t.Helper()
	got := p.expect("ExpectMsg")
	if !assert.ObjectsAreEqual(want, got) {
		p.t.Fatalf("testkit: ExpectMsg: got %s, want %s", describe(got), describe(want))
	}
	return got
}

// ExpectMsgType takes the next message from p and fails the test unless it
// is a T or none arrives before the timeout. The contract is p's.
func ExpectMsgType[T any](p *Probe) T {
	p.t.Helper()
	got := p.expect("ExpectMsgType")
	m, ok := got.(T)
	if !ok {
		p.t.Fatalf("testkit: ExpectMsgType: got %s, want a %v", describe(got), reflect.TypeFor[T]())
	}
	return m
}

// ExpectMsgWhere takes the next message and fails the test unless pred
// accepts it or none arrives before the timeout. It returns the message.
func (p *Probe) ExpectMsgWhere(pred func(any) bool) any {
	p.t.Helper()
	got := p.expect("ExpectMsgWhere")
	if !pred(got) {
		p.t.Fatalf("testkit: ExpectMsgWhere: predicate rejected %s", describe(got))
	}
	return got
}

// ExpectNoMsg waits d and fails the test if a message arrives meanwhile.
func (p *Probe) ExpectNoMsg(d time.Duration) {
	p.t.Helper()
	if e, ok := p.next(time.Now().Add(d)); ok {
		p.t.Fatalf("testkit: ExpectNoMsg(%v): got %s", d, describe(e.msg))
	}
}

// ReceiveN takes n messages and fails the test unless all arrive before the
// timeout, which covers all n.
func (p *Probe) ReceiveN(n int) []any {
	p.t.Helper()
	deadline := p.until(time.Now())
	msgs := make([]any, 0, n)
	for len(msgs) < n {
		e, ok := p.next(deadline)
		if !ok {
			p.t.Fatalf("testkit: ReceiveN(%d): timeout after %d messages: %s", n, len(msgs), describeAll(msgs))
		}
		msgs = append(msgs, e.msg)
	}
	return msgs
}

// Fish takes messages until pred accepts one and returns it; it fails the
// test, listing the skipped messages, if none does before the timeout.
func (p *Probe) Fish(pred func(any) bool) any {
	p.t.Helper()
	deadline := p.until(time.Now())
	var skipped []any
	for {
		e, ok := p.next(deadline)
		if !ok {
			p.t.Fatalf("testkit: Fish: no message matched before the timeout; skipped %s", describeAll(skipped))
		}
		if pred(e.msg) {
			return e.msg
		}
		skipped = append(skipped, e.msg)
	}
}

// Reply sends msg, with the probe as sender, to the sender of the last
// message an expectation took; it fails the test if that had no sender.
func (p *Probe) Reply(msg any) {
	p.t.Helper()
	if p.last == nil {
		p.t.Fatalf("testkit: Reply(%s): the last message had no sender", describe(msg))
	}
	p.kit.system.Root.RequestWithCustomSender(p.last, msg, p.pid)
}

// Send sends msg to pid without a sender, like actor.Context.Send.
func (p *Probe) Send(pid *actor.PID, msg any) { p.kit.system.Root.Send(pid, msg) }

// Request sends msg to pid with the probe as sender, so that the reply
// (ctx.Respond) arrives at the probe.
func (p *Probe) Request(pid *actor.PID, msg any) {
	p.kit.system.Root.RequestWithCustomSender(pid, msg, p.pid)
}

// Watch makes the probe watch pid and returns once the watch is in place;
// the probe then receives *actor.Terminated when pid stops (at once if it is
// already gone).
func (p *Probe) Watch(pid *actor.PID) {
	p.t.Helper()
	w := watch{pid: pid, done: make(chan struct{})}
	p.kit.system.Root.Send(p.pid, w)
	timer := time.NewTimer(time.Until(p.until(time.Now())))
	defer timer.Stop()
	select {
	case <-w.done:
	case <-timer.C:
		p.t.Fatalf("testkit: Watch(%v): the probe did not start watching before the timeout", pid)
	}
}

// ExpectTerminated takes the next message and fails the test unless it is
// the *actor.Terminated of pid (see Watch). It returns the message.
func (p *Probe) ExpectTerminated(pid *actor.PID) *actor.Terminated {
	p.t.Helper()
	got := p.expect("ExpectTerminated")
	term, ok := got.(*actor.Terminated)
	if !ok || !term.Who.Equal(pid) {
		p.t.Fatalf("testkit: ExpectTerminated: got %s, want the termination of %v", describe(got), pid)
	}
	return term
}

// Within runs f with every expectation's deadline at most d from now, and
// fails the test if f takes longer than d. Within blocks nest.
func (p *Probe) Within(d time.Duration, f func()) {
	p.t.Helper()
	start := time.Now()
	saved := p.deadline
	if p.deadline.IsZero() || start.Add(d).Before(p.deadline) {
		p.deadline = start.Add(d)
	}
	defer func() { p.deadline = saved }()
	f()
	if took := time.Since(start); took > d {
		p.t.Fatalf("testkit: Within(%v): the block took %v", d, took)
	}
}

// expect takes the next message or fails the test at the deadline.
func (p *Probe) expect(what string) any {
	p.t.Helper()
	now := time.Now()
	deadline := p.until(now)
	e, ok := p.next(deadline)
	if !ok {
		p.t.Fatalf("testkit: %s: no message arrived within %v", what, deadline.Sub(now).Round(time.Millisecond))
	}
	return e.msg
}

// until is the deadline of an expectation starting at now.
func (p *Probe) until(now time.Time) time.Time {
	d := now.Add(p.kit.timeout)
	if !p.deadline.IsZero() && p.deadline.Before(d) {
		return p.deadline
	}
	return d
}

// next takes the oldest queued message, waiting until deadline.
func (p *Probe) next(deadline time.Time) (envelope, bool) {
	var timeout <-chan time.Time
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			e := p.queue[0]
			p.queue[0] = envelope{}
			p.queue = p.queue[1:]
			p.mu.Unlock()
			p.last = e.sender
			return e, true
		}
		p.mu.Unlock()
		if timeout == nil {
			timer := time.NewTimer(time.Until(deadline))
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-p.signal:
		case <-timeout:
			return envelope{}, false
		}
	}
}

func describe(m any) string {
	if m == nil {
		return "nil"
	}
	return fmt.Sprintf("%T %+v", m, m)
}

func describeAll(ms []any) string {
	if len(ms) == 0 {
		return "[]"
	}
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = describe(m)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
