package server

// This file is the only place where the HTTP API meets the sandbox host. It
// declares Sandboxes (what the API needs, declared by its consumer) and
// names the sandbox package's types and errors the API uses: aliases, so
// that their JSON shapes are the sandbox package's own. Only what the
// sandbox package lacks is declared here: Result with its duration_us,
// and the host-wide refusals ErrOverloaded and ErrShuttingDown.

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/otpbox/otpbox/sandbox"
)

// Sandboxes is what the HTTP API needs from the sandbox host. Every method
// honours ctx's deadline (the API gives each request one) and is called
// concurrently from many requests.
type Sandboxes interface {
	Create(ctx context.Context, id string, req Requirements) (*Info, error)
	Execute(ctx context.Context, id, code string) (*Result, error)
	Terminate(ctx context.Context, id string) error
	Restart(ctx context.Context, id string) (*Info, error)
	Info(ctx context.Context, id string) (*Info, error)
	List(ctx context.Context, f Filter) ([]*Info, error)
	Migrate(ctx context.Context, id, node string) (*Info, error)
	Tree(ctx context.Context, id string) (*Tree, error)
	Restarts(ctx context.Context, id string) ([]RestartRecord, error)
	Trace(ctx context.Context, id string) ([]TraceEntry, error)
}

// The sandbox package's types, as the API sends and receives them.
type (
	// Requirements is what a sandbox asks of its node: resource hints and
	// limits (bytes, millicores) and the execution Limits.
	Requirements = sandbox.Requirements
	// Limits bound what a sandbox may consume; zero fields mean the
	// sandbox package's defaults.
	Limits = sandbox.Limits
	// Filter selects sandboxes in List; zero fields match everything.
	Filter = sandbox.Filter
	// Info describes one sandbox; its State is Active or Passivated.
	Info = sandbox.Info
	// Tree is a sandbox's supervision trees under its root supervisor
	// ({"root": node}, no root while the sandbox started no tree).
	Tree = sandbox.Tree
	// Node is one process of a sandbox's supervision tree.
	Node = sandbox.Node
	// RestartRecord is one restart inside a sandbox's trees.
	RestartRecord = sandbox.RestartRecord
	// TraceEntry is the recent messages of one of a sandbox's actors.
	TraceEntry = sandbox.TraceEntry
	// TracedMessage is one message of a TraceEntry.
	TracedMessage = sandbox.TracedMessage
	// LimitError reports that an execution exceeded one of its Limits;
	// Limit names it ("steps", "duration", "code_size", "output_size",
	// "globals", "heap", "actors", "mailbox").
	LimitError = sandbox.LimitError
	// SyntaxError reports code that does not parse or resolve; Line and
	// Col are 1-based.
	SyntaxError = sandbox.SyntaxError
	// RuntimeError reports an error raised while the code ran.
	RuntimeError = sandbox.RuntimeError
	// StoreError reports a journal or metadata operation that failed: the
	// request had no effect.
	StoreError = sandbox.StoreError
	// CeilingError reports a requirement above the node's ceiling.
	CeilingError = sandbox.CeilingError
	// ThrottledError reports a sandbox over its CPU share (cpu_limit).
	ThrottledError = sandbox.ThrottledError
)

// The states of a sandbox in Info.State.
const (
	// Active sandboxes are in memory.
	Active = sandbox.StateActive
	// Passivated sandboxes live only in their journal and are rebuilt on
	// their next use.
	Passivated = sandbox.StatePassivated
)

// Result is the outcome of one execution. Value is the repr of the last
// expression's value ("" when the code ends with a statement or the value
// is None), Output what the code printed. Duration travels as whole
// microseconds, duration_us.
type Result struct {
	Value    string        `json:"value"`
	Output   string        `json:"output"`
	Steps    uint64        `json:"steps"`
	Duration time.Duration `json:"-"`
}

// ResultOf converts the sandbox package's result.
func ResultOf(r *sandbox.Result) *Result {
	return &Result{Value: r.Value, Output: r.Output, Steps: r.Steps, Duration: r.Duration}
}

type resultJSON struct {
	Value      string `json:"value"`
	Output     string `json:"output"`
	Steps      uint64 `json:"steps"`
	DurationUS int64  `json:"duration_us"`
}

// MarshalJSON writes Duration as duration_us.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{r.Value, r.Output, r.Steps, r.Duration.Microseconds()})
}

// UnmarshalJSON reads duration_us into Duration.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{Value: j.Value, Output: j.Output, Steps: j.Steps, Duration: time.Duration(j.DurationUS) * time.Microsecond}
	return nil
}

// Errors of the sandbox host, matched with errors.Is.
var (
	// ErrInvalidID reports a sandbox id that is empty or malformed.
	ErrInvalidID = sandbox.ErrInvalidID
	// ErrNotFound reports an unknown sandbox id.
	ErrNotFound = sandbox.ErrNotFound
	// ErrAlreadyExists reports a create with an id in use.
	ErrAlreadyExists = sandbox.ErrAlreadyExists
	// ErrInvalidRequirements reports requirements no node can meet.
	ErrInvalidRequirements = sandbox.ErrInvalidRequirements
	// ErrUnknownNode reports a migrate to (or a list on) a node that is
	// not a member.
	ErrUnknownNode = sandbox.ErrUnknownNode
	// ErrLimitExceeded is wrapped by every *LimitError.
	ErrLimitExceeded = sandbox.ErrLimitExceeded
	// ErrUnavailable reports a sandbox that could not be reached in time;
	// retry.
	ErrUnavailable = sandbox.ErrUnavailable
	// ErrStoreClosed reports a call after the sandbox store was closed.
	ErrStoreClosed = sandbox.ErrClosed
	// ErrOverloaded reports that the host refuses work for now; retry.
	ErrOverloaded = errors.New("sandbox: overloaded")
	// ErrShuttingDown reports that the host is draining; retry elsewhere.
	ErrShuttingDown = errors.New("sandbox: shutting down")
)
