package supervision

import (
	"fmt"
	"time"
)

// Strategy is a supervisor's restart strategy.
type Strategy uint8

const (
	// OneForOne restarts only the child that exited. It is the default.
	OneForOne Strategy = iota
	// OneForAll terminates all other children (reverse start order) and
	// restarts all of them (start order) when one exits.
	OneForAll
	// RestForOne terminates the children started after the one that exited
	// (reverse order) and restarts it and them (start order).
	RestForOne
	// SimpleOneForOne is OneForOne over many instances of one template
	// child spec, started with StartChildWith and extra arguments.
	SimpleOneForOne
)

// String returns OTP's name of the strategy.
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	case SimpleOneForOne:
		return "simple_one_for_one"
	}
	return fmt.Sprintf("Strategy(%d)", s)
}

// RestartType says when a child is restarted.
type RestartType uint8

const (
	// Permanent children are always restarted. It is the default.
	Permanent RestartType = iota
	// Transient children are restarted only after an abnormal exit (not
	// after normal, shutdown or {shutdown,T}).
	Transient
	// Temporary children are never restarted, and their spec is removed
	// when they exit.
	Temporary
)

// String returns OTP's name of the restart type.
func (r RestartType) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("RestartType(%d)", r)
}

// ChildType is worker or supervisor.
type ChildType uint8

const (
	// Worker is the default child type.
	Worker ChildType = iota
	// SupervisorChild marks a child that is itself a supervisor; its
	// default shutdown is Infinity.
	SupervisorChild
)

// String returns OTP's name of the child type.
func (t ChildType) String() string {
	switch t {
	case Worker:
		return "worker"
	case SupervisorChild:
		return "supervisor"
	}
	return fmt.Sprintf("ChildType(%d)", t)
}

// AutoShutdown says whether the exit of significant children stops the
// supervisor (OTP ≥ 24).
type AutoShutdown uint8

const (
	// Never is the default: significant children are not allowed.
	Never AutoShutdown = iota
	// AnySignificant stops the supervisor when any significant child exits
	// without being restarted.
	AnySignificant
	// AllSignificant stops the supervisor when the last running
	// significant child exits without being restarted.
	AllSignificant
)

// String returns OTP's name of the setting.
func (a AutoShutdown) String() string {
	switch a {
	case Never:
		return "never"
	case AnySignificant:
		return "any_significant"
	case AllSignificant:
		return "all_significant"
	}
	return fmt.Sprintf("AutoShutdown(%d)", a)
}

// ShutdownSpec is a child's shutdown spec: how long the supervisor waits for
// the child to stop before killing it. The zero value selects OTP's default:
// 5 s for a worker, Infinity for a supervisor.
//
// Go cannot stop a goroutine from outside: a killed child is abandoned. Its
// remaining messages and its cleanup handlers are dropped, its name is freed
// and the supervisor goes on at once; a handler that is running at that
// moment finishes on its own goroutine.
type ShutdownSpec time.Duration

const (
	// DefaultShutdown selects 5 s for workers and Infinity for supervisors.
	DefaultShutdown ShutdownSpec = 0
	// BrutalKill kills the child at once, without running its cleanup.
	BrutalKill ShutdownSpec = -1
	// Infinity waits for the child however long it takes.
	Infinity ShutdownSpec = -2
)

// Timeout returns a shutdown spec that waits up to d before killing the
// child. A zero d kills the child right after signalling it.
func Timeout(d time.Duration) ShutdownSpec {
	if d <= 0 {
		return ShutdownSpec(1) // one nanosecond: signal, then kill
	}
	return ShutdownSpec(d)
}

// String formats the spec like OTP: brutal_kill, infinity or milliseconds.
func (s ShutdownSpec) String() string {
	switch {
	case s == BrutalKill:
		return "brutal_kill"
	case s == Infinity:
		return "infinity"
	case s == DefaultShutdown:
		return "default"
	case s > 0:
		return time.Duration(s).String()
	}
	return fmt.Sprintf("ShutdownSpec(%d)", int64(s))
}

// DefaultWorkerShutdown is OTP's default shutdown for workers.
const DefaultWorkerShutdown = ShutdownSpec(5 * time.Second)

// ChildSpec describes one child, as OTP's child_spec map does.
type ChildSpec struct {
	// ID names the child within its supervisor. Required, except in the
	// template of a SimpleOneForOne supervisor.
	ID string
	// Start starts one incarnation of the child. Required.
	Start StartFunc
	// Restart is Permanent (default), Transient or Temporary.
	Restart RestartType
	// Shutdown is how long a stop may take; see ShutdownSpec.
	Shutdown ShutdownSpec
	// Type is Worker (default) or SupervisorChild.
	Type ChildType
	// Significant children stop the supervisor when they exit, according to
	// Flags.AutoShutdown. Only Transient and Temporary children may be
	// significant.
	Significant bool
	// Def is the caller's record of what Start starts (a runtime that
	// saves its machines, see Machine.State, keeps its definition here).
	// The machine keeps it with the spec and never reads it.
	Def any
}

// withDefaults returns s with OTP's defaults filled in.
func (s ChildSpec) withDefaults() ChildSpec {
	if s.Shutdown == DefaultShutdown {
		if s.Type == SupervisorChild {
			s.Shutdown = Infinity
		} else {
			s.Shutdown = DefaultWorkerShutdown
		}
	}
	return s
}

// Flags are a supervisor's flags. The zero value is one_for_one with OTP's
// defaults: intensity 1, period 5 s, auto_shutdown never.
type Flags struct {
	Strategy Strategy
	// Intensity is the maximum number of restarts within Period; one more
	// makes the supervisor terminate all children and exit with reason
	// shutdown. It must be ≥ 0. Intensity is only read when Period is set.
	Intensity int
	// Period is the window of Intensity, a positive whole number of seconds
	// (OTP counts restarts in whole seconds). Zero selects OTP's defaults
	// for both fields: intensity 1, period 5 s.
	Period time.Duration
	// AutoShutdown is Never (default), AnySignificant or AllSignificant.
	AutoShutdown AutoShutdown
}

// DefaultIntensity and DefaultPeriod are OTP's defaults.
const (
	DefaultIntensity = 1
	DefaultPeriod    = 5 * time.Second
)

func (f Flags) withDefaults() Flags {
	if f.Period == 0 {
		f.Period = DefaultPeriod
		if f.Intensity == 0 {
			f.Intensity = DefaultIntensity
		}
	}
	return f
}

// Spec is everything a supervisor needs: its flags and its initial children
// (for SimpleOneForOne, exactly one template).
type Spec struct {
	// Name registers the supervisor in the actor system under this name
	// (OTP's {local, Name}); children are registered as Name/ID. Empty
	// gives a generated name.
	Name string
	Flags
	Children []ChildSpec
	// Clock returns the current time for restart intensity. Nil uses
	// time.Now; tests inject a fake clock.
	Clock func() time.Time
	// HistorySize bounds the restart history kept for observers
	// (default 64).
	HistorySize int
}

// DefaultHistorySize is the default bound of a supervisor's restart history.
const DefaultHistorySize = 64
