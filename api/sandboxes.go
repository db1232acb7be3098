package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// The states of a sandbox in Info.State.
const (
	// StateActive sandboxes are in memory.
	StateActive = "active"
	// StatePassivated sandboxes live only in their journal and are
	// rebuilt on their next use.
	StatePassivated = "passivated"
)

// Requirements is what a sandbox asks of the node that hosts it. Zero
// fields mean the node's defaults. Sizes are bytes and CPU is
// millicores, as the API's JSON has them.
type Requirements struct {
	// MemoryHint is the expected memory use, bytes.
	MemoryHint int64 `json:"memory_hint,omitempty"`
	// MemoryLimit is the most memory the sandbox may use, bytes.
	MemoryLimit int64 `json:"memory_limit,omitempty"`
	// CPUHint is the expected CPU use, millicores.
	CPUHint int64 `json:"cpu_hint,omitempty"`
	// CPULimit is the most CPU the sandbox may use, millicores.
	CPULimit int64 `json:"cpu_limit,omitempty"`
	// Limits bound each execution and the session's state.
	Limits Limits `json:"limits"`
	// JournalLimit bounds the sandbox's journal, bytes: the code of its
	// executions and 256 bytes for each (default 8 MiB).
	JournalLimit int64 `json:"journal_limit,omitempty"`
	// ReplayLimit bounds the steps replaying the journal takes: the sum
	// of its executions' steps (default 2e7).
	ReplayLimit uint64 `json:"replay_limit,omitempty"`
}

// Limits bound what a sandbox may consume; zero fields mean the node's
// defaults (1e6 steps, 5 s, 64 KiB of code, 64 KiB of output, 1024
// globals, 1 MiB of heap, 64 actors, 1024 messages).
type Limits struct {
	// MaxSteps is the Starlark step budget of one execution.
	MaxSteps uint64 `json:"max_steps,omitempty"`
	// MaxDuration is the wall-clock limit of one execution (nanoseconds
	// in JSON).
	MaxDuration time.Duration `json:"max_duration,omitempty"`
	// MaxCodeBytes is the largest source of one execution.
	MaxCodeBytes int `json:"max_code_bytes,omitempty"`
	// MaxOutputBytes bounds the printed output plus the result of one
	// execution.
	MaxOutputBytes int `json:"max_output_bytes,omitempty"`
	// MaxGlobals is the number of global names of a session.
	MaxGlobals int `json:"max_globals,omitempty"`
	// MaxHeapBytes bounds the size of the values reachable from the
	// session's globals.
	MaxHeapBytes int64 `json:"max_heap_bytes,omitempty"`
	// MaxActors is the number of live actors of a sandbox.
	MaxActors int `json:"max_actors,omitempty"`
	// MaxMailbox is the mailbox length of each actor.
	MaxMailbox int `json:"max_mailbox,omitempty"`
}

// Info describes a sandbox. The session counters (LastActive, Executions,
// Globals, HeapBytes, Actors) are known only for an active sandbox
// described alone (Info, Create, Restart); List and a passivated sandbox
// carry zeros.
type Info struct {
	ID           string       `json:"id"`
	Node         string       `json:"node"`
	State        string       `json:"state"`
	Requirements Requirements `json:"requirements"`
	CreatedAt    time.Time    `json:"created_at"`
	LastActive   time.Time    `json:"last_active,omitzero"`
	Executions   uint64       `json:"executions"`
	Globals      int          `json:"globals"`
	HeapBytes    int64        `json:"heap_bytes"`
	Actors       int          `json:"actors"`
	// Journal is the journal's use of its quotas (active sandboxes).
	Journal *JournalInfo `json:"journal,omitempty"`
}

// JournalInfo is what a sandbox's journal holds against its quotas.
type JournalInfo struct {
	Entries     uint64 `json:"entries"`
	Bytes       int64  `json:"bytes"`
	Limit       int64  `json:"limit"`
	ReplaySteps uint64 `json:"replay_steps"`
	ReplayLimit uint64 `json:"replay_limit"`
	// SnapshotSeq is the sequence number of the snapshot the journal
	// starts with (0: none): the executions up to it are replaced by the
	// sandbox's state as of then.
	SnapshotSeq uint64 `json:"snapshot_seq,omitempty"`
	// SnapshotBlocked says why the latest try found a state that no
	// snapshot rebuilds, since the sandbox was activated: its journal
	// stays whole until the state changes. "" when it did not.
	SnapshotBlocked string `json:"snapshot_blocked,omitempty"`
}

// Result is the outcome of one execution. Value is the repr of the final
// expression's value ("" after a statement, or for None); Output is what
// the code printed.
type Result struct {
	Value    string
	Output   string
	Steps    uint64
	Duration time.Duration
}

type resultJSON struct {
	Value      string `json:"value"`
	Output     string `json:"output"`
	Steps      uint64 `json:"steps"`
	DurationUS int64  `json:"duration_us"`
}

// MarshalJSON writes the API's shape: Duration as whole microseconds,
// duration_us.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{r.Value, r.Output, r.Steps, r.Duration.Microseconds()})
}

// UnmarshalJSON reads the API's shape.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{Value: j.Value, Output: j.Output, Steps: j.Steps, Duration: time.Duration(j.DurationUS) * time.Microsecond}
	return nil
}

// Tree is a sandbox's supervision trees under its root supervisor; Root
// is nil while the sandbox started no tree.
type Tree struct {
	Root *TreeNode `json:"root,omitempty"`
}

// TreeNode is one process of a sandbox's tree.
type TreeNode struct {
	ID  string `json:"id,omitempty"`
	PID string `json:"pid,omitempty"`
	// Type is "supervisor" or "worker"; Status "running", "restarting"
	// or "undefined".
	Type     string `json:"type"`
	Status   string `json:"status"`
	Strategy string `json:"strategy,omitempty"`
	// Intensity and Period (seconds) are a supervisor's restart
	// intensity: at most Intensity restarts in Period.
	Intensity int     `json:"intensity,omitempty"`
	Period    float64 `json:"period,omitempty"`
	// State is a worker's state (repr).
	State string `json:"state,omitempty"`
	// Mailbox is the number of messages queued for the process.
	Mailbox  int         `json:"mailbox,omitempty"`
	Children []*TreeNode `json:"children,omitempty"`
}

// The kinds of a RestartRecord.
const (
	RecordRestart      = "restart"       // a supervisor restarted a child
	RecordGaveUp       = "gave_up"       // a supervisor reached its restart intensity and exited
	RecordAutoShutdown = "auto_shutdown" // a significant child's exit stopped a supervisor
)

// RestartRecord is one restart, or one supervisor giving up, in a
// sandbox's trees. Seq orders the records of a sandbox; Supervisor is the
// supervisor's pid and Path its child ids from the root ("tree1/jobs");
// PID is the incarnation of the child that exited.
type RestartRecord struct {
	Seq        uint64    `json:"seq,omitempty"`
	Kind       string    `json:"kind,omitempty"`
	Supervisor string    `json:"supervisor"`
	Path       string    `json:"path,omitempty"`
	ChildID    string    `json:"child_id,omitempty"`
	PID        string    `json:"pid,omitempty"`
	Reason     string    `json:"reason"`
	Time       time.Time `json:"time"`
}

// TraceEntry is the recent messages of one of a sandbox's actors, oldest
// first.
type TraceEntry struct {
	PID      string          `json:"pid"`
	Messages []TracedMessage `json:"messages"`
}

// TracedMessage is one message an actor handled; Kind is "call", "cast"
// or "exit".
type TracedMessage struct {
	Kind  string    `json:"kind"`
	Value string    `json:"value"`
	Time  time.Time `json:"time"`
}

// CreateRequest is the body of POST /v1/sandboxes.
type CreateRequest struct {
	ID           string       `json:"id"`
	Requirements Requirements `json:"requirements"`
}

// SandboxList is the body of GET /v1/sandboxes.
type SandboxList struct {
	Sandboxes []*Info `json:"sandboxes"`
}

// RestartList is the body of GET /v1/sandboxes/{id}/restarts.
type RestartList struct {
	Restarts []RestartRecord `json:"restarts"`
}

// TraceList is the body of GET /v1/sandboxes/{id}/trace.
type TraceList struct {
	Trace []TraceEntry `json:"trace"`
}

// ListOptions filter Sandboxes.List; the zero value lists every sandbox.
type ListOptions struct {
	// Node keeps the sandboxes of this node; it must be the node asked
	// (422 unknown_node otherwise).
	Node string
}

// Sandboxes is the /v1/sandboxes endpoints. It is safe for concurrent
// use.
type Sandboxes struct{ c *Client }

// Sandboxes returns the sandbox endpoints.
func (c *Client) Sandboxes() *Sandboxes { return &Sandboxes{c} }

// Create creates sandbox id (POST /v1/sandboxes); it fails with
// ErrAlreadyExists when id is in use.
func (s *Sandboxes) Create(ctx context.Context, id string, req Requirements) (*Info, error) {
	var info Info
	err := s.c.call(ctx, request{method: http.MethodPost, path: "/v1/sandboxes", body: CreateRequest{ID: id, Requirements: req}}, &info)
	return result(&info, err)
}

// List lists sandboxes (GET /v1/sandboxes); opts may be nil.
func (s *Sandboxes) List(ctx context.Context, opts *ListOptions) ([]*Info, error) {
	var q url.Values
	if opts != nil && opts.Node != "" {
		q = url.Values{"node": {opts.Node}}
	}
	var l SandboxList
	err := s.c.call(ctx, request{method: http.MethodGet, path: "/v1/sandboxes", query: q}, &l)
	return l.Sandboxes, err
}

// Info describes sandbox id (GET /v1/sandboxes/{id}) without activating
// it.
func (s *Sandboxes) Info(ctx context.Context, id string) (*Info, error) {
	var info Info
	err := s.c.call(ctx, request{method: http.MethodGet, path: sandboxPath(id)}, &info)
	return result(&info, err)
}

// Terminate removes sandbox id and its journal (DELETE
// /v1/sandboxes/{id}).
func (s *Sandboxes) Terminate(ctx context.Context, id string) error {
	return s.c.call(ctx, request{method: http.MethodDelete, path: sandboxPath(id)}, nil)
}

// Exec runs code in sandbox id (POST /v1/sandboxes/{id}/exec). Code that
// fails answers an *Error of kind ErrSyntax, ErrRuntime or
// ErrLimitExceeded.
func (s *Sandboxes) Exec(ctx context.Context, id, code string) (*Result, error) {
	var res Result
	body := struct {
		Code string `json:"code"`
	}{code}
	err := s.c.call(ctx, request{method: http.MethodPost, path: sandboxPath(id, "exec"), body: body}, &res)
	return result(&res, err)
}

// Restart gives sandbox id a fresh session (POST
// /v1/sandboxes/{id}/restart): its globals and trees are dropped and its
// journal is emptied.
func (s *Sandboxes) Restart(ctx context.Context, id string) (*Info, error) {
	var info Info
	err := s.c.call(ctx, request{method: http.MethodPost, path: sandboxPath(id, "restart"), body: struct{}{}}, &info)
	return result(&info, err)
}

// Migrate moves sandbox id, with its state, to node (POST
// /v1/sandboxes/{id}/migrate).
func (s *Sandboxes) Migrate(ctx context.Context, id, node string) (*Info, error) {
	var info Info
	body := struct {
		Node string `json:"node"`
	}{node}
	err := s.c.call(ctx, request{method: http.MethodPost, path: sandboxPath(id, "migrate"), body: body}, &info)
	return result(&info, err)
}

// Tree returns sandbox id's supervision trees (GET
// /v1/sandboxes/{id}/tree).
func (s *Sandboxes) Tree(ctx context.Context, id string) (*Tree, error) {
	var t Tree
	err := s.c.call(ctx, request{method: http.MethodGet, path: sandboxPath(id, "tree")}, &t)
	return result(&t, err)
}

// Restarts returns sandbox id's restart history, oldest first (GET
// /v1/sandboxes/{id}/restarts).
func (s *Sandboxes) Restarts(ctx context.Context, id string) ([]RestartRecord, error) {
	var l RestartList
	err := s.c.call(ctx, request{method: http.MethodGet, path: sandboxPath(id, "restarts")}, &l)
	return l.Restarts, err
}

// Trace returns the recent messages of each of sandbox id's actors (GET
// /v1/sandboxes/{id}/trace).
func (s *Sandboxes) Trace(ctx context.Context, id string) ([]TraceEntry, error) {
	var l TraceList
	err := s.c.call(ctx, request{method: http.MethodGet, path: sandboxPath(id, "trace")}, &l)
	return l.Trace, err
}

// result returns v, or nil with err.
func result[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
