package sandbox

import (
	"errors"
	"fmt"
	"strings"

	"github.com/otpbox/otpbox/sandbox/otp"
)

// ErrInvalidRequirements reports requirements that no node can meet:
// negative values, a hint above its limit, or a limit above the node's
// ceiling.
var ErrInvalidRequirements = errors.New("sandbox: invalid requirements")

// Store errors.
var (
	// ErrNotFound reports a sandbox id without metadata.
	ErrNotFound = errors.New("sandbox: not found")
	// ErrConflict reports an append whose Entry.Seq is not the next
	// sequence number of the journal: another writer got there first.
	ErrConflict = errors.New("sandbox: journal sequence conflict")
	// ErrClosed reports a call on a closed store.
	ErrClosed = errors.New("sandbox: store closed")
)

// Errors of the process endpoints (Manager.Process, Manager.Act).
var (
	// ErrNoProcess: no live process has that pid or path (or, to
	// restart, no child has that path).
	ErrNoProcess = errors.New("sandbox: no such process")
	// ErrInvalidProcess: neither or both of a pid and a path, an unknown
	// action, or a reason missing (exit) or given where none is taken.
	ErrInvalidProcess = errors.New("sandbox: invalid process request")
)

// processError wraps the otp package's lookup and action errors in the
// sandbox's.
func processError(err error) error {
	switch {
	case errors.Is(err, otp.ErrNoProcess):
		return fmt.Errorf("%w: %v", ErrNoProcess, strings.TrimPrefix(err.Error(), otp.ErrNoProcess.Error()+": "))
	case errors.Is(err, otp.ErrInvalidAction):
		return fmt.Errorf("%w: %v", ErrInvalidProcess, strings.TrimPrefix(err.Error(), otp.ErrInvalidAction.Error()+": "))
	}
	return fmt.Errorf("%w: %v", ErrInvalidProcess, err)
}
