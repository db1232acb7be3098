package sandbox

import (
	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/otp"
)

// The engine's types that the sandbox API uses, under the sandbox's name:
// a sandbox's limits are the engine's, and its executions fail with the
// engine's errors.
type (
	// Limits bound what a sandbox may consume; see [engine.Limits].
	Limits = engine.Limits
	// Result is the outcome of a successful execution; see [engine.Result].
	Result = engine.Result
	// LimitError reports an exceeded limit; see [engine.LimitError].
	LimitError = engine.LimitError
	// SyntaxError reports code that does not parse; see [engine.SyntaxError].
	SyntaxError = engine.SyntaxError
	// RuntimeError reports a Starlark error; see [engine.RuntimeError].
	RuntimeError = engine.RuntimeError
	// CompileCache holds compiled programs; see [engine.CompileCache].
	CompileCache = engine.CompileCache
)

// The views of a sandbox's processes, from its OTP runtime.
type (
	// Tree is a sandbox's supervision trees; see [otp.Tree].
	Tree = otp.Tree
	// Node is one process of a Tree; see [otp.Node].
	Node = otp.Node
	// RestartRecord is one restart or supervisor exit; see [otp.Record].
	RestartRecord = otp.Record
	// TraceEntry is a worker's recent messages; see [otp.TraceEntry].
	TraceEntry = otp.TraceEntry
	// TracedMessage is one traced message; see [otp.TracedMessage].
	TracedMessage = otp.TracedMessage
)

// ErrLimitExceeded is wrapped by every [*LimitError].
var ErrLimitExceeded = engine.ErrLimitExceeded

// Names of the limits reported in [LimitError.Limit].
const (
	LimitSteps      = engine.LimitSteps
	LimitDuration   = engine.LimitDuration
	LimitCodeSize   = engine.LimitCodeSize
	LimitOutputSize = engine.LimitOutputSize
	LimitGlobals    = engine.LimitGlobals
	LimitHeap       = engine.LimitHeap
	LimitActors     = engine.LimitActors
	LimitMailbox    = engine.LimitMailbox
)

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits { return engine.DefaultLimits() }
