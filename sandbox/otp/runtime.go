package otp

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// Runtime is the OTP side of one sandbox: its processes, their mailboxes
// and a deterministic scheduler that runs them on the goroutine of the
// sandbox's executions. It is the [engine.World] of the sandbox's session:
// every execution is a transaction over the globals and the processes
// together, settled (every message handled) before it is answered, and
// undone as a whole when it fails.
//
// A Runtime is not safe for concurrent use: the sandbox's grain drives it,
// one execution or query at a time.
type Runtime struct {
	limits engine.Limits // defaults applied
	st     *state
	saved  *state // st before the running execution touched it; nil: untouched
	logMax int

	// Set while Starlark code of the sandbox runs (see enter).
	thread  *starlark.Thread // the thread whose steps pay for the work
	parent  uint64           // the supervisor whose Start is spawning a child
	childID string           // the child id it starts it under

	observer   func(Change) // see Observe
	exitChange string       // how exitProcess reports an exit: ChangeExited, ChangeTerminated, or "" (a failed start: not at all)
}

// state is everything an execution may change, so that a copy taken
// before the execution can replace it when the execution fails.
// Processes refer to each other by number, so a copy is a copy of each
// process and of its supervisor machine.
type state struct {
	procs  map[uint64]*process
	next   uint64   // the number of the last pid given
	runq   []uint64 // processes with messages, in the order they got them
	root   uint64   // the root supervisor; 0 until the first tree starts
	trees  int      // trees started, for their default names
	actors int      // live processes, the root excluded (MaxActors)
	now    time.Time
	log    []Record // recent supervision records, oldest first (bounded)
	logSeq uint64   // records ever made
}

// Config configures a Runtime.
type Config struct {
	// Limits bound the sandbox; MaxActors and MaxMailbox are the
	// runtime's (zero fields take the engine's defaults).
	Limits engine.Limits
	// LogSize bounds the records of restarts and supervisor exits kept
	// for Restarts (default 256).
	LogSize int
}

// DefaultLogSize is the default of Config.LogSize.
const DefaultLogSize = 256

// New returns a Runtime with no processes.
func New(cfg Config) *Runtime {
	rt := &Runtime{limits: cfg.Limits.WithDefaults(), logMax: cfg.LogSize, exitChange: ChangeExited,
		st: &state{procs: make(map[uint64]*process)}}
	if rt.logMax <= 0 {
		rt.logMax = DefaultLogSize
	}
	return rt
}

// SetClock moves the sandbox's clock to t, the time at which the next
// execution was accepted; it never goes back. The clock is logical: it
// moves only here (between executions) and when a call waits for a
// reply that cannot come (its timeout elapses at once), never while code
// runs. It times restart intensity, records and traces, so replaying a
// journal with the times it recorded gives the same history.
func (rt *Runtime) SetClock(t time.Time) {
	t = t.UTC().Round(0) // as a journal stores it
	if t.After(rt.st.now) {
		rt.st.now = t
	}
}

// Pristine reports whether the runtime is as New made it, but for its
// clock: no process was ever started (and none of the executions that
// started one was kept), so nothing of it needs saving: Save writes
// nothing, and Load loads only into such a runtime.
func (rt *Runtime) Pristine() bool {
	st := rt.st
	return len(st.procs) == 0 && st.next == 0 && st.root == 0 && st.trees == 0 && st.actors == 0 &&
		len(st.runq) == 0 && len(st.log) == 0 && st.logSeq == 0
}

// Now returns the sandbox's clock.
func (rt *Runtime) Now() time.Time { return rt.st.now }

// Actors returns the number of live processes (workers and supervisors;
// the sandbox's own root supervisor is not counted).
func (rt *Runtime) Actors() int { return rt.st.actors }

// The engine.World side.

var _ engine.World = (*Runtime)(nil)

// Begin starts an execution.
func (rt *Runtime) Begin() { rt.saved = nil }

// touch saves the state before the running execution first changes it.
func (rt *Runtime) touch() {
	if rt.saved == nil {
		rt.saved = rt.st
		rt.st = rt.st.clone()
	}
}

// Touched reports whether the running execution changed the processes.
func (rt *Runtime) Touched() bool { return rt.saved != nil }

// Commit keeps the running execution's effects.
func (rt *Runtime) Commit() { rt.saved = nil }

// Rollback restores the processes as they were before the running
// execution.
func (rt *Runtime) Rollback() {
	if rt.saved != nil {
		rt.st = rt.saved
		rt.saved = nil
	}
}

// Settle runs every process with messages until none has any: an
// execution is answered only once its effects have settled. It fails
// with the execution's limit when they do not settle within it.
func (rt *Runtime) Settle(thread *starlark.Thread) error {
	if len(rt.st.runq) == 0 {
		return nil
	}
	defer rt.enter(thread)()
	return rt.runUntil(func() bool { return false })
}

// Roots yields the Starlark values the processes hold.
func (rt *Runtime) Roots(yield func(starlark.Value) bool) {
	for _, p := range rt.st.procs {
		if !p.roots(yield) {
			return
		}
	}
}

// Size is the approximate size of the processes besides their values.
func (rt *Runtime) Size() int64 {
	var n int64
	for _, p := range rt.st.procs {
		n += p.size()
	}
	for _, r := range rt.st.log {
		n += recordSize + int64(len(r.Reason))
	}
	return n
}

// enter makes thread the one that pays for the runtime's work until the
// returned func restores the previous one.
func (rt *Runtime) enter(thread *starlark.Thread) func() {
	prev := rt.thread
	rt.thread = thread
	return func() { rt.thread = prev }
}

// charge adds steps to the running execution's budget.
func (rt *Runtime) charge(steps uint64) error {
	return engine.Charge(rt.thread, steps)
}

// Steps charged for the runtime's own work: they bound the Go work one
// step of the budget pays for.
const (
	spawnSteps   = 64 // a process, with its mailbox and trace
	messageSteps = 2  // queuing and delivering one message
	handlerSteps = 8  // calling a handler on a fresh thread
	opSteps      = 16 // one supervisor operation, per child it touches
)

func (st *state) clone() *state {
	c := *st
	c.procs = make(map[uint64]*process, len(st.procs))
	for n, p := range st.procs {
		c.procs[n] = p.clone()
	}
	c.runq = slices.Clone(st.runq)
	c.log = slices.Clone(st.log)
	return &c
}

// proc returns the live process n, or nil.
func (rt *Runtime) proc(n uint64) *process { return rt.st.procs[n] }

// pidOf converts a process number to the supervision package's pid.
func pidOf(n uint64) *actor.PID { return &actor.PID{Address: pidAddress, Id: Pid{n}.String()} }

// pidAddress is the Address of every sandbox pid.
const pidAddress = "sandbox"

// numberOf converts a pid of pidOf back to its number (0 if it is not
// one).
func numberOf(pid *actor.PID) uint64 {
	if pid == nil {
		return 0
	}
	var n uint64
	id := pid.Id
	if len(id) < 6 || id[:3] != "<0." || id[len(id)-3:] != ".0>" {
		return 0
	}
	for _, c := range id[3 : len(id)-3] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// record appends r to the sandbox's log of restarts and supervisor exits.
func (rt *Runtime) record(r Record) {
	st := rt.st
	st.logSeq++
	r.Seq = st.logSeq
	if len(st.log) >= rt.logMax {
		st.log = append(st.log[:0:0], st.log[1:]...)
	}
	st.log = append(st.log, r)
	if rt.observer != nil {
		kind := r.Kind
		if kind == RecordRestart {
			kind = ChangeRestarted
		}
		rt.observer(Change{Kind: kind, PID: r.PID, ChildID: r.ChildID, Path: r.Path, Supervisor: r.Supervisor, Reason: r.Reason})
	}
}

// reasonText is how an exit reason is shown: OTP's atom or the error.
func reasonText(r supervision.Reason) string { return r.String() }
