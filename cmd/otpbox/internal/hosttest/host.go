package hosttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/supervision"
)

// DefaultMaxSteps is the step limit of an execution whose requirements
// set none.
const DefaultMaxSteps = 1_000_000

// Host is an in-memory sandbox host. It is safe for concurrent use; each
// sandbox runs one execution at a time.
type Host struct {
	// Node is the name of the node the host runs on; Nodes are the other
	// members a sandbox may migrate to. Set them before use.
	Node  string
	Nodes []string
	// OnDrain, when set, runs at the start of Drain; a test blocks it to
	// observe the node while it drains.
	OnDrain func(ctx context.Context) error
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu         sync.Mutex // protects the fields below
	boxes      map[string]*box
	overloaded bool
	draining   bool
	stuck      []string
}

// SetStuck makes Stuck report ids, as the real host reports sandboxes
// whose execution runs past its limits.
func (h *Host) SetStuck(ids ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stuck = ids
}

// Stuck returns what SetStuck set.
func (h *Host) Stuck() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.stuck)
}

// box is one sandbox: its info and its Starlark globals.
type box struct {
	mu       sync.Mutex // serialises executions; protects the fields below
	info     server.Info
	globals  starlark.StringDict
	restarts []server.RestartRecord
	trace    []server.TracedMessage
}

// New returns an empty host on node "node1".
func New() *Host {
	return &Host{Node: "node1", Now: time.Now, boxes: make(map[string]*box)}
}

var _ server.Sandboxes = (*Host)(nil)

// Crash makes the host's actor in the node's tree panic, so that its
// supervisor restarts it.
type Crash struct{}

// ChildSpec is the host's child in the node's tree: an actor that does
// nothing but panic on *Crash.
func (h *Host) ChildSpec() supervision.ChildSpec {
	return supervision.ChildSpec{ID: "sandbox_host", Start: supervision.Spawn(func() actor.Actor {
		return actor.ReceiveFunc(func(c actor.Context) {
			if _, ok := c.Message().(*Crash); ok {
				panic("hosttest: crash requested")
			}
		})
	})}
}

// SetOverloaded makes every call fail with server.ErrOverloaded (or work
// again).
func (h *Host) SetOverloaded(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.overloaded = on
}

// Close does nothing: the host holds no resources.
func (h *Host) Close() error { return nil }

// Drain runs OnDrain, then passivates every sandbox and refuses new work
// with server.ErrShuttingDown.
func (h *Host) Drain(ctx context.Context) error {
	if h.OnDrain != nil {
		if err := h.OnDrain(ctx); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.draining = true
	for _, b := range h.boxes {
		b.mu.Lock()
		b.info.State = server.Passivated
		b.globals = starlark.StringDict{}
		b.mu.Unlock()
	}
	return nil
}

// SandboxCounts counts the sandboxes by state.
func (h *Host) SandboxCounts() (active, passivated int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.boxes {
		b.mu.Lock()
		if b.info.State == server.Passivated {
			passivated++
		} else {
			active++
		}
		b.mu.Unlock()
	}
	return active, passivated
}

// admitLocked checks the host-wide refusals; work is a call that would
// start work.
func (h *Host) admitLocked(work bool) error {
	switch {
	case h.overloaded:
		return server.ErrOverloaded
	case h.draining && work:
		return server.ErrShuttingDown
	}
	return nil
}

func (h *Host) get(ctx context.Context, id string, work bool) (*box, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := sandbox.ValidateID(id); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.admitLocked(work); err != nil {
		return nil, err
	}
	b, ok := h.boxes[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", server.ErrNotFound, id)
	}
	return b, nil
}

// Create adds a sandbox.
func (h *Host) Create(ctx context.Context, id string, req server.Requirements) (*server.Info, error) {
	if err := sandbox.ValidateID(id); err != nil {
		return nil, err
	}
	req, err := sandbox.Policy{}.Resolve(req) // as a real host with the default policy
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.admitLocked(true); err != nil {
		return nil, err
	}
	if _, ok := h.boxes[id]; ok {
		return nil, fmt.Errorf("%w: %q", server.ErrAlreadyExists, id)
	}
	now := h.Now()
	b := &box{
		info:    server.Info{ID: id, Node: h.Node, State: server.Active, CreatedAt: now, LastActive: now, Requirements: req},
		globals: starlark.StringDict{},
	}
	h.boxes[id] = b
	info := b.info
	return &info, nil
}

// Execute runs code in the sandbox's session: an expression's value is
// returned; statements define globals for later executions.
func (h *Host) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	b, err := h.get(ctx, id, true)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	limits := b.info.Requirements.Limits
	if limits.MaxSteps == 0 {
		limits.MaxSteps = DefaultMaxSteps
	}
	if limits.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limits.MaxDuration)
		defer cancel()
	}
	res, err := run(ctx, b.globals, code, limits)
	now := h.Now()
	b.info.LastActive = now
	b.info.State = server.Active
	b.trace = append(b.trace, server.TracedMessage{Kind: "call", Value: summary(code, err), Time: now})
	if err != nil {
		return nil, err
	}
	b.info.Executions++
	// A new JournalInfo each time: infos handed out share the old one.
	j := sandbox.JournalInfo{Limit: sandbox.DefaultJournalLimit, ReplayLimit: sandbox.DefaultReplayLimit}
	if b.info.Journal != nil {
		j = *b.info.Journal
	}
	j.Entries++
	j.Bytes += int64(len(code)) + sandbox.JournalEntryOverhead
	j.ReplaySteps += res.Steps
	b.info.Journal = &j
	return res, nil
}

func summary(code string, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if len(code) > 40 {
		code = code[:40] + "…"
	}
	return strings.ReplaceAll(code, "\n", "; ")
}

// run executes code with globals, adding what it defines to globals. The
// result's value is the repr of an expression's value, "" for None or
// statements, as the sandbox package reports it.
func run(ctx context.Context, globals starlark.StringDict, code string, limits server.Limits) (*server.Result, error) {
	var out strings.Builder
	stepsHit := false
	thread := &starlark.Thread{
		Name:  "exec",
		Print: func(_ *starlark.Thread, msg string) { out.WriteString(msg + "\n") },
		OnMaxSteps: func(t *starlark.Thread) {
			stepsHit = true
			t.Cancel("too many steps")
		},
	}
	thread.SetMaxExecutionSteps(limits.MaxSteps)
	stop := context.AfterFunc(ctx, func() { thread.Cancel("deadline") })
	defer stop()
	start := time.Now()
	opts := &syntax.FileOptions{TopLevelControl: true, GlobalReassign: true, While: true}
	var value starlark.Value = starlark.None
	var err error
	if expr, perr := opts.ParseExpr("exec", code, 0); perr == nil {
		value, err = starlark.EvalExprOptions(opts, thread, expr, globals)
	} else {
		var defined starlark.StringDict
		defined, err = starlark.ExecFileOptions(opts, thread, "exec", code, globals)
		for k, v := range defined {
			globals[k] = v
		}
	}
	d := time.Since(start)
	if err != nil {
		return nil, classify(err, stepsHit, ctx, limits, thread.ExecutionSteps(), d)
	}
	repr := value.String()
	if value == starlark.None {
		repr = ""
	}
	return &server.Result{Value: repr, Output: out.String(), Steps: thread.ExecutionSteps(), Duration: d}, nil
}

func classify(err error, stepsHit bool, ctx context.Context, limits server.Limits, steps uint64, d time.Duration) error {
	var (
		syn      syntax.Error
		resolved resolve.ErrorList
		ev       *starlark.EvalError
	)
	switch {
	case stepsHit:
		return &server.LimitError{Limit: "steps", Max: limits.MaxSteps, Got: steps}
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && limits.MaxDuration > 0 && d >= limits.MaxDuration:
		return &server.LimitError{Limit: "duration", Max: uint64(limits.MaxDuration), Got: uint64(d)}
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &syn):
		return &server.SyntaxError{Line: int(syn.Pos.Line), Col: int(syn.Pos.Col), Msg: syn.Msg}
	case errors.As(err, &resolved) && len(resolved) > 0:
		e := resolved[0]
		return &server.SyntaxError{Line: int(e.Pos.Line), Col: int(e.Pos.Col), Msg: e.Msg}
	case errors.As(err, &ev):
		return &server.RuntimeError{Msg: ev.Msg, Backtrace: ev.Backtrace()}
	}
	return &server.RuntimeError{Msg: err.Error()}
}

// Terminate removes a sandbox.
func (h *Host) Terminate(ctx context.Context, id string) error {
	if _, err := h.get(ctx, id, false); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.boxes, id)
	return nil
}

// Restart clears a sandbox's session and records the restart.
func (h *Host) Restart(ctx context.Context, id string) (*server.Info, error) {
	b, err := h.get(ctx, id, true)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := h.Now()
	b.globals = starlark.StringDict{}
	b.info.State = server.Active
	b.info.LastActive = now
	b.restarts = append(b.restarts, server.RestartRecord{Kind: "restart", Supervisor: rootPID, ChildID: "session", Reason: "restart requested", Time: now})
	info := b.info
	return &info, nil
}

// Info returns a sandbox's info.
func (h *Host) Info(ctx context.Context, id string) (*server.Info, error) {
	b, err := h.get(ctx, id, false)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	info := b.info
	return &info, nil
}

// List returns the sandboxes matching f, by id. A filter on a node that
// is neither Node nor one of Nodes fails with server.ErrUnknownNode.
func (h *Host) List(ctx context.Context, f server.Filter) ([]*server.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.Node != "" && f.Node != h.Node && !slices.Contains(h.Nodes, f.Node) {
		return nil, fmt.Errorf("%w: %q", server.ErrUnknownNode, f.Node)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*server.Info
	for _, b := range h.boxes {
		b.mu.Lock()
		info := b.info
		b.mu.Unlock()
		if (f.Node == "" || f.Node == info.Node) && (f.State == "" || f.State == info.State) {
			out = append(out, &info)
		}
	}
	slices.SortFunc(out, func(a, b *server.Info) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Migrate moves a sandbox to node, which must be Node or one of Nodes.
func (h *Host) Migrate(ctx context.Context, id, node string) (*server.Info, error) {
	b, err := h.get(ctx, id, true)
	if err != nil {
		return nil, err
	}
	if node != h.Node && !slices.Contains(h.Nodes, node) {
		return nil, fmt.Errorf("%w: %q", server.ErrUnknownNode, node)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.info.Node = node
	info := b.info
	return &info, nil
}

// The pids of a sandbox's root supervisor and its session worker, as the
// sandbox numbers its processes.
const (
	rootPID    = "<0.1.0>"
	sessionPID = "<0.2.0>"
)

// Tree returns the sandbox's tree: a session worker, whose state is the
// number of globals, under the sandbox's root supervisor.
func (h *Host) Tree(ctx context.Context, id string) (*server.Tree, error) {
	b, err := h.get(ctx, id, false)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return &server.Tree{Root: &server.Node{ID: "root", PID: rootPID, Type: "supervisor", Status: "running", Strategy: "one_for_one",
		Children: []*server.Node{{ID: "session", PID: sessionPID, Type: "worker", Status: "running",
			State: fmt.Sprint(len(b.globals))}},
	}}, nil
}

// Restarts returns the sandbox's restarts.
func (h *Host) Restarts(ctx context.Context, id string) ([]server.RestartRecord, error) {
	b, err := h.get(ctx, id, false)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.restarts), nil
}

// Trace returns the sandbox's executions as the messages of its session
// worker (none before the first execution).
func (h *Host) Trace(ctx context.Context, id string) ([]server.TraceEntry, error) {
	b, err := h.get(ctx, id, false)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.trace) == 0 {
		return nil, nil
	}
	return []server.TraceEntry{{PID: sessionPID, Messages: slices.Clone(b.trace)}}, nil
}
