package sandbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/otpbox/otpbox/sandbox/internal/wire"
)

// Manager errors.
var (
	// ErrInvalidID reports a sandbox id that is empty, too long, or has a
	// character outside [A-Za-z0-9_-].
	ErrInvalidID = errors.New("sandbox: invalid id")
	// ErrAlreadyExists reports a Create for an id that exists.
	ErrAlreadyExists = errors.New("sandbox: already exists")
	// ErrUnknownNode reports a Migrate or List filter naming no member.
	ErrUnknownNode = errors.New("sandbox: unknown node")
	// ErrUnavailable reports a sandbox that could not be reached in time.
	ErrUnavailable = errors.New("sandbox: unavailable")
)

// StoreError reports a failed journal or metadata operation: the request
// was not made durable and had no effect.
type StoreError struct {
	Op  string
	Err error
}

func (e *StoreError) Error() string { return fmt.Sprintf("sandbox: store %s: %v", e.Op, e.Err) }

func (e *StoreError) Unwrap() error { return e.Err }

// Failure kinds on the wire.
const (
	kindNotFound      = "not_found"
	kindAlreadyExists = "already_exists"
	kindLimit         = "limit"
	kindSyntax        = "syntax"
	kindRuntime       = "runtime"
	kindStore         = "store"
	kindInvalid       = "invalid_requirements"
	kindOther         = "error"
	kindThrottled     = "throttled"
	kindNoProcess     = "process_not_found"
	kindBadAction     = "invalid_process"
	// kindRetry: the activation was retiring; look the sandbox up again.
	kindRetry = "retry"
)

// toFailure encodes err for the wire.
func toFailure(err error) *wire.Failure {
	var (
		le *LimitError
		se *SyntaxError
		re *RuntimeError
		st *StoreError
		th *ThrottledError
	)
	switch {
	case errors.As(err, &le):
		return &wire.Failure{Kind: kindLimit, Message: le.Error(), Limit: le.Limit, Max: int64(le.Max), Got: int64(le.Got)}
	case errors.As(err, &se):
		return &wire.Failure{Kind: kindSyntax, Message: se.Msg, Line: int32(se.Line), Col: int32(se.Col)}
	case errors.As(err, &re):
		return &wire.Failure{Kind: kindRuntime, Message: re.Msg, Backtrace: re.Backtrace}
	case errors.Is(err, ErrNotFound):
		return &wire.Failure{Kind: kindNotFound, Message: err.Error()}
	case errors.Is(err, ErrAlreadyExists):
		return &wire.Failure{Kind: kindAlreadyExists, Message: err.Error()}
	case errors.Is(err, ErrInvalidRequirements):
		return &wire.Failure{Kind: kindInvalid, Message: err.Error()}
	case errors.As(err, &st):
		return &wire.Failure{Kind: kindStore, Message: err.Error()}
	case errors.As(err, &th):
		return &wire.Failure{Kind: kindThrottled, Message: err.Error(), RetryAfterNs: int64(th.RetryAfter)}
	case errors.Is(err, ErrRequestMismatch):
		return &wire.Failure{Kind: kindMismatch, Message: err.Error()}
	case errors.Is(err, ErrNoProcess):
		return &wire.Failure{Kind: kindNoProcess, Message: err.Error()}
	case errors.Is(err, ErrInvalidProcess):
		return &wire.Failure{Kind: kindBadAction, Message: err.Error()}
	case errors.Is(err, ErrAnswerExpired):
		return &wire.Failure{Kind: kindExpired, Message: err.Error()}
	}
	return &wire.Failure{Kind: kindOther, Message: err.Error()}
}

func failure(err error) *wire.Reply { return &wire.Reply{Failure: toFailure(err)} }

// remoteError is an error decoded from a Failure without a local type.
type remoteError struct {
	msg  string
	base error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.base }

// err decodes a Failure into the error it encodes (nil for none).
func failureErr(f *wire.Failure) error {
	if f == nil {
		return nil
	}
	switch f.Kind {
	case kindLimit:
		return &LimitError{Limit: f.Limit, Max: uint64(f.Max), Got: uint64(f.Got)}
	case kindSyntax:
		return &SyntaxError{Line: int(f.Line), Col: int(f.Col), Msg: f.Message}
	case kindRuntime:
		return &RuntimeError{Msg: f.Message, Backtrace: f.Backtrace}
	case kindNotFound:
		return ErrNotFound
	case kindAlreadyExists:
		return ErrAlreadyExists
	case kindInvalid:
		return &remoteError{msg: f.Message, base: ErrInvalidRequirements}
	case kindStore:
		return &StoreError{Op: "remote", Err: errors.New(f.Message)}
	case kindThrottled:
		return &ThrottledError{RetryAfter: time.Duration(f.RetryAfterNs)}
	case kindMismatch:
		return ErrRequestMismatch
	case kindNoProcess:
		return &remoteError{msg: f.Message, base: ErrNoProcess}
	case kindBadAction:
		return &remoteError{msg: f.Message, base: ErrInvalidProcess}
	case kindExpired:
		return ErrAnswerExpired
	}
	return errors.New(f.Message)
}
