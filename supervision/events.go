package supervision

import (
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// EventKind says what happened to a child or a supervisor.
type EventKind uint8

const (
	// ChildStarted: the child's start function returned a pid (OTP's
	// progress report). Restart is set when it was part of a restart.
	ChildStarted EventKind = iota
	// ChildStartFailed: the start function returned an error or panicked.
	ChildStartFailed
	// ChildIgnored: the start function returned ErrIgnore.
	ChildIgnored
	// ChildExited: the child exited by itself (crash, normal exit, …).
	ChildExited
	// ChildTerminated: the supervisor stopped the child within its
	// shutdown spec.
	ChildTerminated
	// ChildKilled: the supervisor killed the child (brutal_kill, or the
	// shutdown timeout expired).
	ChildKilled
	// IntensityExceeded: more restarts than Intensity within Period; the
	// supervisor is shutting down (OTP's reached_max_restart_intensity).
	IntensityExceeded
	// AutoShutdownTriggered: a significant child's exit stops the
	// supervisor.
	AutoShutdownTriggered
	// SupervisorExited: the supervisor itself stopped with Reason.
	SupervisorExited
)

var eventKindNames = [...]string{
	ChildStarted:          "child_started",
	ChildStartFailed:      "child_start_failed",
	ChildIgnored:          "child_ignored",
	ChildExited:           "child_exited",
	ChildTerminated:       "child_terminated",
	ChildKilled:           "child_killed",
	IntensityExceeded:     "intensity_exceeded",
	AutoShutdownTriggered: "auto_shutdown",
	SupervisorExited:      "supervisor_exited",
}

// String returns the kind's snake_case name.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// Event is published on the actor system's EventStream for every start,
// exit, termination, kill, intensity shutdown and supervisor exit, in the
// order the supervisor performed them. Events are immutable once published.
type Event struct {
	Kind EventKind
	// Supervisor is the supervisor's pid and Name its registered name.
	Supervisor *actor.PID
	Name       string
	// ChildID is the child's id; empty for SimpleOneForOne children and
	// for supervisor events.
	ChildID string
	// PID is the child's pid (nil when none) or, for SupervisorExited,
	// the supervisor's.
	PID *actor.PID
	// Reason is the exit reason of ChildExited, ChildTerminated,
	// ChildKilled and SupervisorExited, or the error of ChildStartFailed.
	Reason Reason
	// Restart is set on ChildStarted/ChildStartFailed/ChildIgnored when the
	// start was a restart by the supervisor (not start_child or init).
	Restart bool
	Time    time.Time
}

// String formats the event in the notation of the OTP spec page:
// S(c1), F(c2), X(c2,boom), T(c3), K(c2), Sup⇒shutdown.
func (e *Event) String() string {
	id := e.ChildID
	if id == "" && e.PID != nil {
		id = e.PID.Id
	}
	switch e.Kind {
	case ChildStarted:
		return "S(" + id + ")"
	case ChildStartFailed:
		return "F(" + id + ")"
	case ChildIgnored:
		return "I(" + id + ")"
	case ChildExited:
		return "X(" + id + "," + e.Reason.String() + ")"
	case ChildTerminated:
		return "T(" + id + ")"
	case ChildKilled:
		return "K(" + id + ")"
	case IntensityExceeded:
		return "Intensity"
	case AutoShutdownTriggered:
		return "AutoShutdown"
	case SupervisorExited:
		return "Sup⇒" + e.Reason.String()
	}
	return e.Kind.String()
}

// FormatEvents joins events with " | ", the spec page's notation.
func FormatEvents(events []*Event) string {
	parts := make([]string, len(events))
	for i, e := range events {
		parts[i] = e.String()
	}
	return strings.Join(parts, " | ")
}
