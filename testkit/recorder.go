package testkit

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/supervision"
)

// Recorder records the *supervision.Event values published on an actor
// system's EventStream, in publication order. The subscription records
// concurrently with the test; the other methods are safe for concurrent use,
// but those that fail the test (WaitFor, ExpectSequence, WaitUntil) must be
// called from the test goroutine. Waits last at most DefaultTimeout.
type Recorder struct {
	t       testing.TB
	filters []func(*supervision.Event) bool

	mu      sync.Mutex // protects events and changed
	events  []*supervision.Event
	changed chan struct{} // closed and replaced on every recorded event
}

// NewRecorder subscribes to system's EventStream and records every
// *supervision.Event that all filters accept; it unsubscribes in t.Cleanup.
func NewRecorder(t testing.TB, system *actor.ActorSystem, filters ...func(*supervision.Event) bool) *Recorder {
	t.Helper()
	r := &Recorder{t: t, filters: filters, changed: make(chan struct{})}
	sub := system.EventStream.Subscribe(r.record)
	t.Cleanup(func() { system.EventStream.Unsubscribe(sub) })
	return r
}

func (r *Recorder) record(msg any) {
	e, ok := msg.(*supervision.Event)
	if !ok {
		return
	}
	for _, keep := range r.filters {
		if !keep(e) {
			return
		}
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far.
func (r *Recorder) Events() []*supervision.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*supervision.Event(nil), r.events...)
}

// Strings returns the String() of every event recorded so far, the OTP spec
// notation: "S(c1)", "X(c2,boom)", "Sup⇒shutdown".
func (r *Recorder) Strings() []string {
	return eventStrings(r.Events())
}

// Reset forgets the events recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

// WaitFor waits until at least n events are recorded and returns them all;
// it fails the test if that takes longer than DefaultTimeout.
func (r *Recorder) WaitFor(n int) []*supervision.Event {
	r.t.Helper()
	events, ok := r.wait(func(es []*supervision.Event) bool { return len(es) >= n })
	if !ok {
		r.t.Fatalf("testkit: Recorder.WaitFor(%d): %d events within %v: %s", n, len(events), DefaultTimeout, supervision.FormatEvents(events))
	}
	return events
}

// ExpectSequence waits until len(want) events are recorded, then fails the
// test unless the strings of all recorded events equal want exactly. Call
// Reset between phases of a test.
func (r *Recorder) ExpectSequence(want ...string) {
	r.t.Helper()
	got := eventStrings(r.WaitFor(len(want)))
	if !slices.Equal(got, want) {
		r.t.Fatalf("testkit: Recorder.ExpectSequence:\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

// WaitUntil waits until a recorded event satisfies pred and returns the
// first that does; it fails the test if none does within DefaultTimeout.
func (r *Recorder) WaitUntil(pred func(*supervision.Event) bool) *supervision.Event {
	r.t.Helper()
	var found *supervision.Event
	events, ok := r.wait(func(es []*supervision.Event) bool {
		for _, e := range es {
			if pred(e) {
				found = e
				return true
			}
		}
		return false
	})
	if !ok {
		r.t.Fatalf("testkit: Recorder.WaitUntil: no matching event within %v: %s", DefaultTimeout, supervision.FormatEvents(events))
	}
	return found
}

// wait blocks until done accepts the recorded events or DefaultTimeout
// passes, and returns the events it last looked at.
func (r *Recorder) wait(done func([]*supervision.Event) bool) ([]*supervision.Event, bool) {
	timer := time.NewTimer(DefaultTimeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		events, changed := append([]*supervision.Event(nil), r.events...), r.changed
		r.mu.Unlock()
		if done(events) {
			return events, true
		}
		select {
		case <-changed:
		case <-timer.C:
			return events, false
		}
	}
}

func eventStrings(events []*supervision.Event) []string {
	s := make([]string, len(events))
	for i, e := range events {
		s[i] = e.String()
	}
	return s
}
