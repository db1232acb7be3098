package supervision

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// ReasonKind classifies an exit reason the way OTP does.
type ReasonKind uint8

const (
	// KindNormal is OTP's normal: the process finished its work.
	KindNormal ReasonKind = iota
	// KindShutdown is OTP's shutdown: the process was told to stop.
	KindShutdown
	// KindShutdownWith is OTP's {shutdown, Term}: a shutdown carrying a term.
	KindShutdownWith
	// KindKilled is OTP's killed: the process was killed (brutal_kill or a
	// shutdown timeout) and ran none of its cleanup.
	KindKilled
	// KindAbnormal is any other reason: an error or a panic.
	KindAbnormal
)

// String returns OTP's name of the kind.
func (k ReasonKind) String() string {
	switch k {
	case KindNormal:
		return "normal"
	case KindShutdown:
		return "shutdown"
	case KindShutdownWith:
		return "shutdown_with"
	case KindKilled:
		return "killed"
	case KindAbnormal:
		return "abnormal"
	}
	return fmt.Sprintf("ReasonKind(%d)", k)
}

// Reason is why a process exited. The zero value is Normal. Reason implements
// error so that a supervisor's own exit reason can be returned as one; use
// errors.As to get it back and Err to reach an abnormal reason's cause.
type Reason struct {
	Kind ReasonKind
	// Term is the term of ShutdownWith.
	Term any
	// Err is the cause of an Abnormal reason (a returned error or a recovered
	// panic wrapped in *PanicError).
	Err error
}

var (
	// Normal is OTP's normal exit reason.
	Normal = Reason{Kind: KindNormal}
	// Shutdown is OTP's shutdown exit reason.
	Shutdown = Reason{Kind: KindShutdown}
	// Killed is OTP's killed exit reason.
	Killed = Reason{Kind: KindKilled}
)

// ShutdownWith returns OTP's {shutdown, term}.
func ShutdownWith(term any) Reason { return Reason{Kind: KindShutdownWith, Term: term} }

// Abnormal returns an abnormal exit reason caused by err. A nil err gives an
// abnormal reason with the error "abnormal".
func Abnormal(err error) Reason {
	if err == nil {
		err = errAbnormal
	}
	return Reason{Kind: KindAbnormal, Err: err}
}

var errAbnormal = errors.New("abnormal")

// IsNormal reports whether r is normal, shutdown or {shutdown, T}: the
// reasons after which a transient child is not restarted.
func (r Reason) IsNormal() bool {
	return r.Kind == KindNormal || r.Kind == KindShutdown || r.Kind == KindShutdownWith
}

// Error implements error.
func (r Reason) Error() string { return r.String() }

// Unwrap returns the cause of an abnormal reason.
func (r Reason) Unwrap() error { return r.Err }

// String formats the reason like OTP prints it: normal, shutdown,
// {shutdown,T}, killed, or the error text.
func (r Reason) String() string {
	switch r.Kind {
	case KindShutdownWith:
		return fmt.Sprintf("{shutdown,%v}", r.Term)
	case KindAbnormal:
		if r.Err == nil {
			return "abnormal"
		}
		return r.Err.Error()
	}
	return r.Kind.String()
}

// PanicError is the cause of the abnormal reason of a process that panicked.
type PanicError struct {
	Value any
	pcs   []uintptr
}

// newPanicError captures the panicking goroutine's stack cheaply (program
// counters); Stack formats it on demand.
func newPanicError(v any) *PanicError {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	return &PanicError{Value: v, pcs: pcs[:n]}
}

// Stack returns the stack of the panic, one "function file:line" per line.
func (e *PanicError) Stack() string {
	var b strings.Builder
	frames := runtime.CallersFrames(e.pcs)
	for {
		f, more := frames.Next()
		fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
		if !more {
			break
		}
	}
	return b.String()
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
