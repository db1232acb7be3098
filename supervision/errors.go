package supervision

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// Errors returned by the supervisor API, named after OTP's error terms.
// Match them with errors.Is; several are wrapped with the child's id.
var (
	// ErrIgnore is returned by a StartFunc (or an Initializer's Init) to
	// say "ignore": the child is not started and no process exists.
	ErrIgnore = errors.New("supervision: ignore")

	// ErrNotFound is OTP's {error,not_found}: no child with that id or pid.
	ErrNotFound = errors.New("supervision: not_found")
	// ErrRunning is OTP's {error,running}: the child is alive.
	ErrRunning = errors.New("supervision: running")
	// ErrRestarting is OTP's {error,restarting}: a restart of the child
	// failed and is being retried.
	ErrRestarting = errors.New("supervision: restarting")
	// ErrAlreadyPresent is OTP's {error,already_present}: a child with that
	// id exists but is not running.
	ErrAlreadyPresent = errors.New("supervision: already_present")
	// ErrAlreadyStarted is OTP's {error,{already_started,Pid}}; the error is
	// an *AlreadyStartedError carrying the pid.
	ErrAlreadyStarted = errors.New("supervision: already_started")
	// ErrSimpleOneForOne is OTP's {error,simple_one_for_one}: an id-based
	// call on a SimpleOneForOne supervisor.
	ErrSimpleOneForOne = errors.New("supervision: simple_one_for_one")
	// ErrNotSimpleOneForOne: StartChildWith or a pid-based terminate on a
	// supervisor of another strategy.
	ErrNotSimpleOneForOne = errors.New("supervision: not a simple_one_for_one supervisor")
	// ErrNoProc: the supervisor is not alive (OTP exits the caller with
	// noproc).
	ErrNoProc = errors.New("supervision: noproc")

	// ErrInvalidStrategy and the errors below are validation errors (OTP's
	// supervisor_data, start_spec and bad_start_spec terms).
	ErrInvalidStrategy     = errors.New("supervision: invalid_strategy")
	ErrInvalidIntensity    = errors.New("supervision: invalid_intensity")
	ErrInvalidPeriod       = errors.New("supervision: invalid_period")
	ErrInvalidAutoShutdown = errors.New("supervision: invalid_auto_shutdown")
	ErrBadCombination      = errors.New("supervision: bad_combination")
	ErrDuplicateChildName  = errors.New("supervision: duplicate_child_name")
	ErrMissingID           = errors.New("supervision: missing_id")
	ErrMissingStart        = errors.New("supervision: missing_start")
	ErrInvalidRestartType  = errors.New("supervision: invalid_restart_type")
	ErrInvalidShutdown     = errors.New("supervision: invalid_shutdown")
	ErrInvalidChildType    = errors.New("supervision: invalid_child_type")
	ErrBadStartSpec        = errors.New("supervision: bad_start_spec")
	// ErrBadReturn: a StartFunc returned neither a pid spawned through its
	// StartContext nor an error.
	ErrBadReturn = errors.New("supervision: bad_return")
)

// AlreadyStartedError is OTP's {already_started, Pid}.
type AlreadyStartedError struct{ PID *actor.PID }

func (e *AlreadyStartedError) Error() string {
	return fmt.Sprintf("supervision: already_started %s", e.PID)
}

// Is makes errors.Is(err, ErrAlreadyStarted) true.
func (e *AlreadyStartedError) Is(target error) bool { return target == ErrAlreadyStarted }

// SpecError is an invalid flag or child spec: Field names what is wrong,
// Value is the bad value and Err one of the validation sentinels. At
// supervisor start a child spec error is reported with InStart set (OTP's
// {start_spec, …}); flag errors have ID empty (OTP's supervisor_data).
type SpecError struct {
	ID      string
	Field   string
	Value   any
	Err     error
	InStart bool
}

func (e *SpecError) Error() string {
	where := ""
	if e.InStart {
		where = "start_spec: "
	}
	if e.ID != "" {
		return fmt.Sprintf("%schild %q: %s: %v (%v)", where, e.ID, e.Field, e.Err, e.Value)
	}
	return fmt.Sprintf("%s%s: %v (%v)", where, e.Field, e.Err, e.Value)
}

func (e *SpecError) Unwrap() error { return e.Err }

// FailedToStartError is OTP's {shutdown,{failed_to_start_child,Id,Reason}}:
// a child failed to start while its supervisor started (or restarted a
// group), so the supervisor did not start.
type FailedToStartError struct {
	ID     string
	Reason error
}

func (e *FailedToStartError) Error() string {
	return fmt.Sprintf("supervision: failed to start child %q: %v", e.ID, e.Reason)
}

func (e *FailedToStartError) Unwrap() error { return e.Reason }
