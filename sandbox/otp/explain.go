package otp

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// Errors that teach: every error of a builtin names the call, says what
// was expected and what came, and for the supervisor API which child of
// which supervisor and what to do next. The supervision package's
// sentinels (not_found, running, …) keep OTP's names in the text and stay
// reachable with errors.Is.

// reprBytes bounds a value quoted in an error.
const reprBytes = 64

// signatureOf is the signature of builtin name, as help shows it.
func signatureOf(name string) string {
	if d, ok := DocOf(name); ok {
		return d.Signature
	}
	return name
}

// argError rewords an argument error of Starlark's ("call: missing
// argument for msg") to start with the builtin's signature, so that it
// shows what the builtin takes.
func argError(name string, err error) error {
	return fmt.Errorf("%s: %s", signatureOf(name), strings.TrimPrefix(err.Error(), name+": "))
}

// describe is a value as an error quotes it: its type and, for short
// values, its repr ("int 42", "list [2]").
func describe(v starlark.Value) string {
	if v == nil {
		return "nothing"
	}
	if v == starlark.None {
		return "None"
	}
	return v.Type() + " " + engine.Repr(v, reprBytes)
}

// reworded is an error of the runtime reworded to start with the call
// it answers: "call(<0.4.0>, \"x\"): timeout: …". It unwraps to the
// original.
type reworded struct {
	head string
	err  error
	trim string // a prefix of err's text that head replaces
}

func (e *reworded) Error() string {
	return e.head + ": " + strings.TrimPrefix(e.err.Error(), e.trim)
}

func (e *reworded) Unwrap() error { return e.err }

// otpTerm is a sentinel of the supervision package shown as OTP's term
// ("not_found"), unwrapping to the sentinel.
type otpTerm struct{ err error }

func (e otpTerm) Error() string { return strings.TrimPrefix(e.err.Error(), "supervision: ") }
func (e otpTerm) Unwrap() error { return e.err }

// quote is a bad value as an invalid_* error quotes it: its repr.
func quote(v starlark.Value) string { return engine.Repr(v, reprBytes) }

// passThrough reports an error that ends the execution or unwinds a
// handler: it must reach the engine unchanged.
func (rt *Runtime) passThrough(err error) bool {
	var le *engine.LimitError
	return errors.As(err, &le) || errors.Is(err, errCallerGone) || errors.Is(err, errExited) ||
		errors.Is(err, engine.ErrLimitExceeded) || engine.Exhausted(rt.thread) != nil
}

// explainAPI explains an error of a supervisor API call on machine m
// (the supervisor sup) about child id.
func (rt *Runtime) explainAPI(m *supervision.Machine, call string, sup Pid, id string, err error) error {
	if rt.passThrough(err) {
		return err
	}
	var (
		already *supervision.AlreadyStartedError
		spec    *supervision.SpecError
	)
	running := func() string {
		for _, c := range m.WhichChildren() {
			if c.ID == id && c.PID != nil {
				return " as " + pidValue(c.PID).String()
			}
		}
		return ""
	}
	switch {
	case errors.As(err, &already):
		return fmt.Errorf("%s: %w: child %q of %s is running%s; give the new child another id", call, otpTerm{supervision.ErrAlreadyStarted}, id, sup, running())
	case errors.Is(err, supervision.ErrAlreadyPresent):
		return fmt.Errorf("%s: %w: %s keeps a spec for child %q, which is not running; restart_child(%s, %q) starts it, delete_child(%s, %q) removes it",
			call, otpTerm{err}, sup, id, sup, id, sup, id)
	case errors.Is(err, supervision.ErrNotFound):
		return fmt.Errorf("%s: %w: %s has no child %q; which_children(%s) lists its children", call, otpTerm{err}, sup, id, sup)
	case errors.Is(err, supervision.ErrRunning):
		return fmt.Errorf("%s: %w: child %q of %s is running%s; terminate_child(%s, %q) first", call, otpTerm{err}, id, sup, running(), sup, id)
	case errors.Is(err, supervision.ErrRestarting):
		return fmt.Errorf("%s: %w: %s is retrying a failed restart of child %q; terminate_child(%s, %q) stops the retries", call, otpTerm{err}, sup, id, sup, id)
	case errors.Is(err, supervision.ErrSimpleOneForOne):
		if strings.HasPrefix(call, "terminate_child") {
			return fmt.Errorf("%s: %w: the children of %s have no ids; terminate one by its pid: terminate_child(%s, pid)", call, otpTerm{err}, sup, sup)
		}
		return fmt.Errorf("%s: %w: the children of %s have no ids and are not restarted or deleted by hand; start_child(%s, args) starts another", call, otpTerm{err}, sup, sup)
	case errors.As(err, &spec):
		return fmt.Errorf("%s: %s", call, specProblem(spec))
	}
	return rt.explainStart(call, id, false, err)
}

// specProblem says what is wrong with a child spec.
func specProblem(e *supervision.SpecError) string {
	child := "the child"
	if e.ID != "" {
		child = fmt.Sprintf("child %q", e.ID)
	}
	name := strings.TrimPrefix(e.Err.Error(), "supervision: ")
	return fmt.Sprintf("%s: %s: %s is %v", child, name, e.Field, e.Value)
}

// explainStart explains a failed start of a child: the child's init
// failed (its error, and where), or one of its own children did.
// tree says that the child is a tree start_supervisor started.
func (rt *Runtime) explainStart(call, id string, tree bool, err error) error {
	if rt.passThrough(err) {
		return err
	}
	what := "the child failed to start"
	if id != "" {
		what = fmt.Sprintf("child %q failed to start", id)
	}
	var failed *supervision.FailedToStartError
	if tree && errors.As(err, &failed) {
		return fmt.Errorf("%s: %s; the supervisor did not start", call, startFailure(failed))
	}
	return fmt.Errorf("%s: %s: %s", call, what, startCause(err))
}

// startFailure explains the failure of a child of a starting supervisor,
// following a nested supervisor down to the child whose init failed.
func startFailure(f *supervision.FailedToStartError) string {
	var inner *supervision.FailedToStartError
	if errors.As(f.Reason, &inner) {
		return fmt.Sprintf("child %q failed to start: its %s", f.ID, startFailure(inner))
	}
	return fmt.Sprintf("child %q failed to start: %s", f.ID, startCause(f.Reason))
}

// startCause is the text of why an init failed.
func startCause(err error) string {
	var re *engine.RuntimeError
	if errors.As(err, &re) {
		return crashText(re.Msg, re.Backtrace)
	}
	var inner *supervision.FailedToStartError
	if errors.As(err, &inner) {
		return "its " + startFailure(inner)
	}
	return err.Error()
}

// crashText is a crash's message with where it happened: the innermost
// frame of its backtrace, "boom (in handle_cast at <sandbox>:3:9)".
func crashText(msg, backtrace string) string {
	if where := innermost(backtrace); where != "" {
		return msg + " (" + where + ")"
	}
	return msg
}

// innermost is the innermost Starlark frame of a backtrace, "in f at
// <sandbox>:3:9", or "".
func innermost(backtrace string) string {
	last := ""
	for _, l := range strings.Split(backtrace, "\n") {
		l = strings.TrimSpace(l)
		pos, fn, ok := strings.Cut(l, ": in ")
		if ok && strings.HasPrefix(pos, "<") {
			last = "in " + fn + " at " + pos
		}
	}
	return last
}
