package otp

import (
	"slices"
	"time"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/supervision"
)

// kind is what a process runs.
type kind uint8

const (
	workerKind kind = iota + 1
	supervisorKind
)

// process is one process of a sandbox: a Starlark worker or a supervisor.
// Only the runtime touches it, on the sandbox's goroutine.
type process struct {
	n      uint64
	kind   kind
	parent uint64 // the supervisor that started it; 0 for the root
	id     string // its child id under parent ("" under simple_one_for_one)

	mailbox []message
	reason  supervision.Reason // why it exited, once it has
	queued  bool               // in the run queue
	busy    bool               // handling a message: its handler is on the stack

	// A worker's.
	def   *workerDef
	state starlark.Value
	trace trace

	// A supervisor's.
	m        *supervision.Machine
	exit     *supervision.Reason // set by Runtime.Exit: the supervisor stops after its message
	restarts uint64              // the machine's restarts copied to the log
}

// message is one entry of a mailbox.
type message struct {
	kind  msgKind
	value starlark.Value // call and cast: the message, frozen
	from  uint64         // call: the caller (0: the sandbox's code)
	wait  *waiter        // call and op: where the reply goes

	child  uint64             // exit: the child that exited
	reason supervision.Reason // exit: why

	op func(m *supervision.Machine) (starlark.Value, error) // op: a supervisor call
	f  func()                                               // later: a deferred restart
}

type msgKind uint8

const (
	msgCall msgKind = iota + 1
	msgCast
	msgExit  // a child's exit signal, to its supervisor
	msgOp    // a supervisor API call
	msgLater // a restart retry (supervision.Runtime.Later)
)

// waiter is a pending call: the reply, once it came.
type waiter struct {
	done bool
	v    starlark.Value
	err  error
}

func (w *waiter) reply(v starlark.Value, err error) {
	if !w.done {
		w.done, w.v, w.err = true, v, err
	}
}

func (p *process) clone() *process {
	c := *p
	c.trace.owned = false // shared until the clone adds to it
	c.mailbox = slices.Clone(p.mailbox)
	if p.m != nil {
		c.m = p.m.Clone()
	}
	return &c
}

// roots yields the values the process holds.
func (p *process) roots(yield func(starlark.Value) bool) bool {
	if p.state != nil && !yield(p.state) {
		return false
	}
	if p.def != nil {
		for _, fn := range []starlark.Callable{p.def.init, p.def.handleCall, p.def.handleCast} {
			if fn != nil && !yield(fn) {
				return false
			}
		}
	}
	for _, m := range p.mailbox {
		if m.value != nil && !yield(m.value) {
			return false
		}
	}
	return true
}

// Approximate sizes of what a process holds besides its values.
const (
	processSize = 320 // the process, its mailbox header and its trace ring
	childSize   = 160 // a supervisor's record of one child
	messageSize = 64
	recordSize  = 96
)

func (p *process) size() int64 {
	n := int64(processSize + messageSize*len(p.mailbox))
	if p.m != nil {
		n += int64(childSize * p.m.CountChildren().Specs)
	}
	for _, t := range p.trace.entries() {
		n += messageSize + int64(len(t.Value))
	}
	return n
}

// traceSize bounds the messages kept per worker for Trace.
const traceSize = 32

// traceValueBytes bounds the text of one traced message.
const traceValueBytes = 128

// trace is a worker's recent messages, a ring.
//
// The ring is allocated at the first message, and shared with the
// process a clone was made from (an execution clones every process, to
// roll back) until the clone adds a message: cloning a process copies a
// pointer, not 32 messages (a call in a sandbox of 1,000 workers copied
// 1.8 MB).
type trace struct {
	ring  *[traceSize]TracedMessage
	n     int
	owned bool // ring is this process's alone: add may write it
}

func (t *trace) add(m TracedMessage) {
	t.own()
	t.ring[t.n%traceSize] = m
	t.n++
}

// own gives t a ring of its own (a copy of the shared one).
func (t *trace) own() {
	if t.owned {
		return
	}
	r := new([traceSize]TracedMessage)
	if t.ring != nil {
		*r = *t.ring
	}
	t.ring, t.owned = r, true
}

func (t *trace) entries() []TracedMessage {
	if t.ring == nil {
		return []TracedMessage{}
	}
	if t.n <= traceSize {
		return slices.Clone(t.ring[:t.n])
	}
	i := t.n % traceSize
	return append(slices.Clone(t.ring[i:]), t.ring[:i]...)
}

// TracedMessage is one message a worker handled.
type TracedMessage struct {
	Kind  string    `json:"kind"` // call, cast
	Value string    `json:"value"`
	Time  time.Time `json:"time"`
}
