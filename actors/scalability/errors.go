package scalability

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnexpectedReply means the manager answered with a message of the wrong
// type.
var ErrUnexpectedReply = errors.New("scalability: unexpected reply")

// ErrInvalidConfig is wrapped by every *ConfigError.
var ErrInvalidConfig = errors.New("scalability: invalid config")

// ErrNoMembership means Deps.Membership is nil; the manager cannot start.
var ErrNoMembership = errors.New("scalability: no membership")

// ErrNoSuitableNode means no alive member that accepts sandboxes can fit the
// requirements. It is wrapped by *NoNodeError.
var ErrNoSuitableNode = errors.New("scalability: no suitable node")

// Reasons a wanted scaling operation did not start. They are a Decision's
// Skipped error and the errors of Client.TriggerScaleOut and TriggerScaleIn.
var (
	// ErrDisabled: automatic scaling is off (Config.AutoScalingEnabled);
	// only periodic, event and placement checks honour it.
	ErrDisabled = errors.New("scalability: auto-scaling disabled")
	// ErrNotLeader: Config.LeaderOnly is set and this manager is not the
	// cluster's leader (the alive member with the smallest name).
	ErrNotLeader = errors.New("scalability: not the leader")
	// ErrNoProvider: Deps.Provider is nil.
	ErrNoProvider = errors.New("scalability: no provider")
	// ErrNoMigrator: Deps.Migrator is nil, so nodes cannot be drained.
	ErrNoMigrator = errors.New("scalability: no migrator")
	// ErrPending: an operation of the same kind is pending (and a scale-in
	// never starts while any operation is pending).
	ErrPending = errors.New("scalability: operation pending")
	// ErrCooldown: the last operation finished less than Config.Cooldown
	// ago.
	ErrCooldown = errors.New("scalability: cooling down")
	// ErrMaxNodes: the cluster has Config.MaxNodes nodes (counting nodes
	// being added).
	ErrMaxNodes = errors.New("scalability: at max nodes")
	// ErrMinNodes: the cluster has Config.MinNodes nodes (counting nodes
	// being removed).
	ErrMinNodes = errors.New("scalability: at min nodes")
	// ErrWouldOverload: removing nodes would bring utilization to
	// Config.ScaleOutThreshold or above.
	ErrWouldOverload = errors.New("scalability: scale-in would overload the cluster")
)

// Failures of a running operation, recorded in its Error.
var (
	// ErrDrainTimeout: a node drained for removal still had sandboxes after
	// Config.DrainTimeout; it is not removed (and stays draining).
	ErrDrainTimeout = errors.New("scalability: drain timed out")
	// ErrJoinTimeout: nodes added by the provider were not alive in the
	// membership after Config.JoinTimeout.
	ErrJoinTimeout = errors.New("scalability: added nodes did not join")
)

// Provider errors.
var (
	// ErrUnknownNode: a provider was asked to remove a node it did not
	// start.
	ErrUnknownNode = errors.New("scalability: node not started by this provider")
	// ErrClosed: the provider was closed.
	ErrClosed = errors.New("scalability: provider closed")
	// ErrNotReady: a started node did not answer /v1/health/ready with 200
	// before ProcessConfig.ReadyTimeout.
	ErrNotReady = errors.New("scalability: node not ready")
	// ErrExited: a started node exited before it was ready.
	ErrExited = errors.New("scalability: node exited")
	// ErrCommandTimeout: a CommandProvider command ran longer than
	// CommandConfig.Timeout and was killed.
	ErrCommandTimeout = errors.New("scalability: command timed out")
)

// ConfigError is a Config field with a value that makes no sense.
type ConfigError struct {
	Field string
	Value any
	// Reason says what is wrong.
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("scalability: config %s = %v: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// NoNodeError answers a placement that no member can take. ScalingOut
// reports whether the request started a scale-out (the design's
// :scaling_in_progress).
type NoNodeError struct {
	Requirements Requirements
	ScalingOut   bool
}

func (e *NoNodeError) Error() string {
	s := fmt.Sprintf("scalability: no suitable node for %s", e.Requirements)
	if e.ScalingOut {
		s += " (scaling out)"
	}
	return s
}

// Unwrap returns ErrNoSuitableNode.
func (e *NoNodeError) Unwrap() error { return ErrNoSuitableNode }

// CommandError is a CommandProvider command that failed: it exited with a
// non-zero code, could not start, or timed out (Err is then
// ErrCommandTimeout).
type CommandError struct {
	Args []string
	// ExitCode is the command's exit code, -1 when it did not exit by
	// itself.
	ExitCode int
	// Stderr is the tail of the command's standard error.
	Stderr string
	Err    error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scalability: command %q", strings.Join(e.Args, " "))
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, " exited with %d", e.ExitCode)
	} else {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, ": %s", s)
	}
	return b.String()
}

// Unwrap returns the underlying error (*exec.ExitError, ErrCommandTimeout,
// a context error or a start error).
func (e *CommandError) Unwrap() error { return e.Err }
