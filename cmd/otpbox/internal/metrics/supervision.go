package metrics

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/otpbox/otpbox/sandbox/otp"
	"github.com/otpbox/otpbox/supervision"
)

// TreeOf classifies a supervisor by its registered name as "node" (the
// node's own tree) or "sandbox" (a tree inside a sandbox). It must be
// cheap: it runs on the supervisor's goroutine.
type TreeOf func(supervisorName string) string

// WatchSupervision counts supervision events from es into
// otpbox_supervisor_restarts_total (a ChildStarted that was a restart)
// and otpbox_supervisor_intensity_shutdowns_total (IntensityExceeded),
// labelled by treeOf. It returns a function that stops watching.
func (m *Metrics) WatchSupervision(es *eventstream.EventStream, treeOf TreeOf) (stop func()) {
	sub := es.Subscribe(func(evt any) {
		ev, ok := evt.(*supervision.Event)
		if !ok {
			return
		}
		switch {
		case ev.Kind == supervision.ChildStarted && ev.Restart:
			m.restarts.WithLabelValues(bounded(trees, treeOf(ev.Name))).Inc()
		case ev.Kind == supervision.IntensityExceeded:
			m.shutdowns.WithLabelValues(bounded(trees, treeOf(ev.Name))).Inc()
		}
	})
	return func() { es.Unsubscribe(sub) }
}

// WatchDeadLetters counts the messages protoactor could not deliver (to
// a stopped or unknown actor) into otpbox_deadletters_total, in place of
// protoactor's log line per dead letter. It returns a function that stops
// watching.
func (m *Metrics) WatchDeadLetters(es *eventstream.EventStream) (stop func()) {
	sub := es.Subscribe(func(evt any) {
		if _, ok := evt.(*actor.DeadLetterEvent); ok {
			m.deadLetters.Inc()
		}
	})
	return func() { es.Unsubscribe(sub) }
}

// SandboxRecord counts a record of a sandbox's supervision (see
// sandbox/otp): a restart, or a supervisor that reached its restart
// intensity. Sandbox supervisors run in their sandboxes, not as actors of
// the node, so they report through their host rather than the
// EventStream.
func (m *Metrics) SandboxRecord(kind string) {
	switch kind {
	case otp.RecordRestart:
		m.restarts.WithLabelValues("sandbox").Inc()
	case otp.RecordGaveUp:
		m.shutdowns.WithLabelValues("sandbox").Inc()
	}
}
