package engine

import (
	"errors"
	"fmt"
	"time"
)

// Session errors.
var (
	// ErrLimitExceeded is wrapped by every [*LimitError].
	ErrLimitExceeded = errors.New("sandbox: limit exceeded")
	// ErrBroken reports a session whose state could not be rolled back
	// after a failed execution (a container it had to restore was frozen
	// meanwhile). The session refuses further executions; rebuild it from
	// its journal.
	ErrBroken = errors.New("sandbox: session state lost in rollback; rebuild it")
	// ErrInvalidBuiltin reports an extra builtin that cannot be predeclared
	// (not an identifier, a reserved name, or a nil value).
	ErrInvalidBuiltin = errors.New("sandbox: invalid builtin")
)

// Names of the limits reported in [LimitError.Limit].
const (
	LimitSteps      = "steps"       // Max, Got: steps
	LimitDuration   = "duration"    // Max, Got: nanoseconds
	LimitCodeSize   = "code_size"   // Max, Got: bytes of source
	LimitOutputSize = "output_size" // Max, Got: bytes of output and result repr
	LimitGlobals    = "globals"     // Max, Got: number of global names
	LimitHeap       = "heap"        // Max, Got: approximate bytes held by globals
	LimitActors     = "actors"      // Max, Got: live actors
	LimitMailbox    = "mailbox"     // Max, Got: queued messages
	// The journal's quotas, enforced by the sandbox that keeps it (see
	// package sandbox): its size, and the steps replaying it takes.
	LimitJournal = "journal" // Max, Got: bytes the journal would hold
	LimitReplay  = "replay"  // Max, Got: steps replaying the journal would take
)

// LimitError reports that an execution exceeded one of its [Limits]. The
// execution was rejected as a whole: the session's globals are as they
// were before it, and the session stays usable.
type LimitError struct {
	Limit string // one of the Limit* constants
	Max   uint64 // the configured limit
	Got   uint64 // the value that exceeded it (a lower bound when the work was refused up front)
}

// Error names the limit and both values.
func (e *LimitError) Error() string {
	if e.Limit == LimitDuration {
		return fmt.Sprintf("sandbox: %s limit exceeded (%v > %v)", e.Limit, time.Duration(e.Got), time.Duration(e.Max))
	}
	if e.Limit == LimitJournal || e.Limit == LimitReplay {
		return fmt.Sprintf("sandbox: %s limit exceeded (%d > %d): the sandbox's journal is full, and no snapshot of its state can make room "+
			"(its globals hold a lambda or a shared value, it started processes, or snapshots are off); restart it to empty its journal, or create it with a higher %s_limit",
			e.Limit, e.Got, e.Max, e.Limit)
	}
	return fmt.Sprintf("sandbox: %s limit exceeded (%d > %d)", e.Limit, e.Got, e.Max)
}

// Unwrap returns [ErrLimitExceeded].
func (e *LimitError) Unwrap() error { return ErrLimitExceeded }

// SyntaxError reports code that does not parse or resolve: a syntax error,
// an undefined name, or a forbidden statement such as load. Line and Col
// are 1-based positions in the submitted code.
type SyntaxError struct {
	Line int
	Col  int
	Msg  string
}

// Error gives the position and the message.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("sandbox: syntax error at %d:%d: %s", e.Line, e.Col, e.Msg)
}

// RuntimeError reports a Starlark evaluation error. Backtrace is the
// Starlark call stack in the usual "Traceback (most recent call last)"
// form, ending with the message.
type RuntimeError struct {
	Msg       string
	Backtrace string
}

// Error gives the message; Backtrace has the call stack.
func (e *RuntimeError) Error() string { return "sandbox: runtime error: " + e.Msg }
