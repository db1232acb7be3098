package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"go.starlark.net/starlark"
	"google.golang.org/protobuf/proto"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/internal/wire"
	"github.com/otpbox/otpbox/sandbox/otp"
)

// Sandbox states reported in Info.
const (
	StateActive     = "active"
	StatePassivated = "passivated"
)

// Info describes a sandbox.
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
	// Journal is what the sandbox's journal holds against its quotas
	// (active sandboxes only).
	Journal *JournalInfo `json:"journal,omitempty"`
}

// Filter selects sandboxes in List; zero fields match all.
type Filter struct {
	Node  string
	State string
}

// Config configures the hosting of sandbox grains on a node. The zero value
// of every field but Store is usable.
type Config struct {
	// Store keeps journals and metadata. Required.
	Store Store
	// Node names this member (default "local").
	Node string
	// IdleTimeout passivates a sandbox after that long without a message
	// (default 5 minutes; negative: never).
	IdleTimeout time.Duration
	// StoreTimeout bounds each store operation (default 5 s).
	StoreTimeout time.Duration
	// RequestTimeout bounds a call whose ctx has no deadline (default 30 s).
	RequestTimeout time.Duration
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Builtins are extra Starlark builtins every sandbox of the host
	// predeclares, on top of Starlark's and the OTP builtins: an
	// embedding service's way to give its sandboxes more. They must keep
	// sandboxes deterministic (replays run them again) and charge their
	// work with engine.Charge.
	Builtins starlark.StringDict
	// Policy sets the defaults of new sandboxes' requirements and the
	// ceilings they must stay under (zero: the engine's defaults and
	// DefaultCeilings).
	Policy Policy
	// OnRecord, when set, hears of every restart and supervisor exit in
	// the sandboxes' trees that an accepted execution made (not those of
	// replays). It runs on the sandbox's goroutine: it must not block.
	OnRecord func(id string, r RestartRecord)
	// OnLifecycle, when set, hears of the sandboxes of this member as
	// they are created, activated (loaded from the store), passivated,
	// restarted and terminated (the Event types, "created" for a create).
	// It is called on the sandbox's goroutine and must not block.
	OnLifecycle func(id, change string)
	// CompileCache keeps compiled programs; default the process-wide LRU of the engine.
	// NewSharedCompileCache shares them between nodes through the cache.
	CompileCache CompileCache
	// SnapshotEvery is how many executions a sandbox's journal holds
	// before the sandbox replaces them by a snapshot of its state, so that
	// rebuilding it replays that snapshot and what came after, whatever
	// its age (default DefaultSnapshotEvery; negative: never). A journal
	// that would pass its quotas is snapshotted at once. Only a sandbox
	// whose state a snapshot rebuilds exactly is snapshotted: globals and
	// worker states of data, functions as globals, in lists and dicts and
	// as the workers' handlers, and the OTP processes (see snapshot.go),
	// on a Store that is a Snapshotter.
	SnapshotEvery int
	// WarmActivations is how many sandbox activations the node keeps
	// spawned ahead of need, each with a session ready for the default
	// limits (Policy's), so that a create or a reactivation takes one
	// instead of spawning and starting an actor on the caller's path (see
	// cluster.Directory.Warm). 0 (the default) keeps none: on protoactor,
	// spawning is cheaper than the extra mailbox run a warm activation
	// costs (BenchmarkCreate's warm and cold rows).
	WarmActivations int
}

// Host holds what the sandbox grains of one node share.
type Host struct {
	system       *actor.ActorSystem // set by NewManager
	dir          *cluster.Directory // set by NewManager
	store        Store
	node         string
	idle         time.Duration
	storeTimeout time.Duration
	reqTimeout   time.Duration
	log          *slog.Logger
	now          func() time.Time
	compile      CompileCache // nil: the sessions' default
	onRecord     func(id string, r RestartRecord)
	onLifecycle  func(id, change string)
	policy       Policy
	execs        executions // in progress, for the watchdog
	calls        waiters    // calls waiting on this member's activations
	env          *engine.Env
	replays      atomic.Uint64
	passivations atomic.Uint64

	snapshotEvery    int // <= 0: never
	snapshots        atomic.Uint64
	snapshotsSkipped atomic.Uint64
	snapshotBytes    atomic.Uint64 // of the snapshot entries written

	warm       int           // Config.WarmActivations, 0 for none
	warmLimits engine.Limits // the default limits, a warm activation's session's
}

// NewHost validates cfg and fills in defaults.
func NewHost(cfg Config) (*Host, error) {
	if cfg.Store == nil {
		return nil, errors.New("sandbox: Config.Store is required")
	}
	h := &Host{store: cfg.Store, node: cfg.Node, idle: cfg.IdleTimeout, storeTimeout: cfg.StoreTimeout,
		reqTimeout: cfg.RequestTimeout, log: cfg.Logger, now: cfg.Clock, compile: cfg.CompileCache, onRecord: cfg.OnRecord, onLifecycle: cfg.OnLifecycle, policy: cfg.Policy}
	if h.node == "" {
		h.node = "local"
	}
	h.env = otp.Env
	if len(cfg.Builtins) > 0 {
		env, err := otp.Env.With(cfg.Builtins)
		if err != nil {
			return nil, err
		}
		h.env = env
	}
	switch h.snapshotEvery = cfg.SnapshotEvery; {
	case h.snapshotEvery == 0:
		h.snapshotEvery = DefaultSnapshotEvery
	case h.snapshotEvery < 0:
		h.snapshotEvery = 0
	}
	if _, ok := cfg.Store.(Snapshotter); !ok {
		h.snapshotEvery = 0
	}
	if cfg.WarmActivations < 0 {
		return nil, errors.New("sandbox: Config.WarmActivations must not be negative")
	}
	h.warm = cfg.WarmActivations
	if req, err := h.policy.Resolve(Requirements{}); err == nil {
		h.warmLimits = req.Limits // else warm activations prepare no session
	}
	switch {
	case h.idle == 0:
		h.idle = 5 * time.Minute
	case h.idle < 0:
		h.idle = 0
	}
	if h.storeTimeout <= 0 {
		h.storeTimeout = 5 * time.Second
	}
	if h.reqTimeout <= 0 {
		h.reqTimeout = 30 * time.Second
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// Kind returns the cluster kind that hosts sandbox grains on this node.
func (h *Host) Kind() *pcluster.Kind { return pcluster.NewKind(Kind, h.props()) }

func (h *Host) props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &grain{host: h} })
}

// Replays returns how many activations rebuilt a sandbox from its journal.
func (h *Host) Replays() uint64 { return h.replays.Load() }

// Snapshots returns how many times a sandbox's journal was replaced by a
// snapshot, and how many tries found a state that a snapshot cannot
// rebuild (see Config.SnapshotEvery).
func (m *Manager) Snapshots() (taken, skipped uint64) {
	return m.host.snapshots.Load(), m.host.snapshotsSkipped.Load()
}

// SnapshotBytes returns the size of the snapshot entries this node wrote:
// each snapshot writes the whole state (and the ids and answers kept for
// retries), so this grows with the state's size times the snapshots.
func (m *Manager) SnapshotBytes() uint64 { return m.host.snapshotBytes.Load() }

// Passivations returns how many activations of this node stopped with
// their sandbox kept (idle, memory pressure, drain, migration).
func (m *Manager) Passivations() uint64 { return m.host.passivations.Load() }

// Manager is the SandboxManager of the design: the Go API to create, run
// and manage sandboxes, wherever their grain is activated. It is safe for
// concurrent use.
type Manager struct {
	host    *Host
	c       *pcluster.Cluster
	dir     *cluster.Directory
	members cluster.Membership // nil on a single node
}

// NewManager returns the manager of the sandboxes hosted through c, whose
// identity lookup is dir and which registered host.Kind().
func NewManager(host *Host, c *pcluster.Cluster, dir *cluster.Directory) *Manager {
	host.system = c.ActorSystem
	host.dir = dir
	dir.Named(Kind, host.props())
	dir.Warm(Kind, host.warm)
	return &Manager{host: host, c: c, dir: dir}
}

// Node returns the name of this node.
func (m *Manager) Node() string { return m.host.node }

// Active returns the number of live sandbox activations on this node.
func (m *Manager) Active() int { return m.dir.Count(Kind) }

const maxIDLen = 64

// ValidateID reports whether id can name a sandbox: 1–64 characters of
// [A-Za-z0-9_-].
func ValidateID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("%w: length must be 1 to %d", ErrInvalidID, maxIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("%w: character %q not in [A-Za-z0-9_-]", ErrInvalidID, r)
		}
	}
	return nil
}

// request sends msg to the sandbox's grain and waits for the answer. A
// grain that stopped between lookup and send (passivation) is looked up
// again.
func (m *Manager) request(ctx context.Context, id string, msg proto.Message) (any, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	ci := pcluster.NewClusterIdentity(id, Kind)
	caller := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.host.reqTimeout)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, m.timedOut(caller, id, err)
		}
		pid, err := m.resolve(ctx, id)
		if err != nil {
			if errors.Is(err, errGone) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, m.timedOut(caller, id, err)
			}
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err) // a member's open breaker stays visible
		}
		res, err := request(ctx, m.c.ActorSystem, &m.host.calls, pid, msg, m.host.reqTimeout, m.dir.Down(pid.Address))
		if err == nil {
			gone := false
			switch res.(type) {
			case *actor.Terminated, *actor.DeadLetterResponse:
				// The activation stopped with our message still queued,
				// or its member is gone: look it up again.
				gone = true
			}
			if gone || retrying(res) {
				m.dir.RemovePid(ci, pid)
				if caller.Value(noRetryKey{}) != nil {
					return nil, errGone
				}
				if attempt < 50 {
					if attempt >= 3 {
						// A member that went away but is still listed:
						// give the membership time to notice.
						if err := pause(ctx, attempt); err != nil {
							return nil, m.timedOut(caller, id, err)
						}
					}
					continue
				}
				return nil, fmt.Errorf("%w: %s kept moving", ErrUnavailable, id)
			}
		}
		switch {
		case err == nil:
			if r, ok := res.(*wire.Reply); ok && r.Failure != nil && r.Failure.Kind == kindNotFound {
				_ = m.dir.Forget(ctx, Kind, id) // no sandbox: no placement either
			}
			return res, nil
		case errors.Is(err, actor.ErrTimeout), ctx.Err() != nil:
			return nil, m.timedOut(caller, id, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
}

// resolve finds the sandbox's activation, placing and activating it if
// it has none, unless ctx says not to wake it (a watcher's poll): errGone
// then.
func (m *Manager) resolve(ctx context.Context, id string) (*actor.PID, error) {
	if ctx.Value(noRetryKey{}) == nil {
		return m.dir.Resolve(ctx, Kind, id)
	}
	if pid, ok := m.dir.Find(Kind, id); ok {
		return pid, nil
	}
	if m.active(ctx, id) {
		return m.dir.Resolve(ctx, Kind, id) // on another member, not yet known here
	}
	return nil, errGone
}

// timedOut says that a call ran out of time: the caller's deadline or
// cancellation as is, our own request timeout as ErrUnavailable. A
// sandbox whose execution is stuck loses its activation (see Stuck).
func (m *Manager) timedOut(caller context.Context, id string, err error) error {
	if m.abandonStuck(id) {
		if pid, ok := m.dir.Lookup(Kind, id); ok {
			m.dir.RemovePid(pcluster.NewClusterIdentity(id, Kind), pid)
		}
	}
	if caller.Err() != nil {
		return caller.Err()
	}
	return fmt.Errorf("%w: %s did not answer in %v", ErrUnavailable, id, m.host.reqTimeout)
}

// pause waits a little longer at each attempt, up to 200 ms, or until ctx
// ends.
func pause(ctx context.Context, attempt int) error {
	t := time.NewTimer(min(time.Duration(attempt)*10*time.Millisecond, 200*time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retrying reports an answer from an activation that was retiring.
func retrying(res any) bool {
	switch r := res.(type) {
	case *wire.Reply:
		return r.Failure != nil && r.Failure.Kind == kindRetry
	case *wire.ExecResult:
		return r.Failure != nil && r.Failure.Kind == kindRetry
	}
	return false
}

func (m *Manager) reply(ctx context.Context, id string, msg proto.Message, out any) error {
	res, err := m.request(ctx, id, msg)
	if err != nil {
		return err
	}
	if d, ok := res.(*described); ok {
		if info, ok := out.(*Info); ok {
			*info = d.info
			return nil
		}
		return fmt.Errorf("sandbox: an Info answered where %T was expected", out)
	}
	r, ok := res.(*wire.Reply)
	if !ok {
		return fmt.Errorf("sandbox: unexpected reply %T", res)
	}
	if err := failureErr(r.Failure); err != nil {
		return err
	}
	if out != nil && len(r.Json) > 0 {
		return json.Unmarshal(r.Json, out)
	}
	return nil
}

// Create creates the sandbox id with req and activates it. Zero fields of
// req take the host's defaults, and every limit must be within its
// ceilings (see Policy.Resolve): the sandbox keeps the requirements so
// resolved, which its Info shows. A duplicate id gives ErrAlreadyExists,
// a bad id ErrInvalidID, requirements out of bounds ErrInvalidRequirements
// (a *CeilingError above a ceiling).
func (m *Manager) Create(ctx context.Context, id string, req Requirements) (*Info, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	req, err := m.host.policy.Resolve(req)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var info Info
	// In a cluster, a new sandbox is placed with one registry round trip.
	ctx = cluster.WithNewIdentity(ctx)
	if err := m.reply(ctx, id, &wire.Create{Requirements: raw, RequestId: RequestID(ctx)}, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Execute runs code in the sandbox. Errors: ErrNotFound, *SyntaxError,
// *RuntimeError, *LimitError (the sandbox stays usable), *StoreError (the
// execution was not kept); with a request id (WithRequestID) also
// ErrRequestMismatch and ErrAnswerExpired.
func (m *Manager) Execute(ctx context.Context, id, code string) (*Result, error) {
	// One request id for the call and its retries: a retry after the
	// first attempt was journaled (its member lost before it answered) is
	// answered from the journal, not run twice. The caller's id, when it
	// gave one, makes its own retries safe too.
	r, err := m.run(ctx, id, func(rid string, deadline int64) proto.Message {
		return &wire.Exec{Code: code, RequestId: rid, DeadlineUnixNs: deadline, Viewer: ViewerOf(ctx)}
	})
	if err != nil {
		return nil, err
	}
	return &Result{Value: r.Value, Output: r.Output, Steps: r.Steps, Duration: time.Duration(r.DurationNs)}, nil
}

// run sends the execution msg makes (with the call's request id and the
// caller's deadline) until it is answered, waiting out the sandbox's CPU
// throttling within the caller's time.
func (m *Manager) run(ctx context.Context, id string, mk func(rid string, deadline int64) proto.Message) (*wire.ExecResult, error) {
	rid := RequestID(ctx)
	if rid == "" {
		rid = rand.Text()
	}
	var dl int64
	if d, ok := ctx.Deadline(); ok {
		dl = d.UnixNano()
	}
	msg := mk(rid, dl)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(m.host.reqTimeout)
	}
	for {
		res, err := m.request(ctx, id, msg)
		if err != nil {
			if ctx.Err() != nil {
				// A caller that goes away (request returns as soon as
				// it does) cancels the execution, when this member runs
				// it (another member's runs to its limits).
				m.host.execs.cancel(id, rid)
			}
			return nil, err
		}
		r, ok := res.(*wire.ExecResult)
		if !ok {
			return nil, fmt.Errorf("sandbox: unexpected reply %T", res)
		}
		err = failureErr(r.Failure)
		var th *ThrottledError
		if errors.As(err, &th) && waitFor(ctx, th.RetryAfter, deadline) {
			continue // slowed down, within the caller's time
		}
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// waitFor waits d unless ctx ends first, or the wait would end after
// deadline: it reports whether it waited.
func waitFor(ctx context.Context, d time.Duration, deadline time.Time) bool {
	if time.Until(deadline) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Terminate stops the sandbox and deletes its journal.
func (m *Manager) Terminate(ctx context.Context, id string) error {
	if err := m.reply(ctx, id, &wire.Destroy{}, nil); err != nil {
		return err
	}
	if pd, ok := m.host.store.(PlacementDeleter); ok && pd.DeletesPlacement() {
		m.dir.Forgotten(Kind, id) // removed with the journal
		return nil
	}
	return m.dir.Forget(ctx, Kind, id)
}

// Restart gives the sandbox a fresh session with the same requirements;
// its journal is emptied. With a request id (WithRequestID), a retry of a
// restart that was done answers the sandbox's info without emptying the
// journal again.
func (m *Manager) Restart(ctx context.Context, id string) (*Info, error) {
	var info Info
	if err := m.reply(ctx, id, &wire.Reset{RequestId: RequestID(ctx)}, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Info describes the sandbox. A passivated sandbox is described from its
// metadata without activating it.
func (m *Manager) Info(ctx context.Context, id string) (*Info, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if !m.active(ctx, id) {
		return m.passivated(ctx, id)
	}
	var info Info
	if err := m.reply(ctx, id, &wire.Describe{}, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// active reports whether the sandbox has a live activation, asking the
// member it is placed on when it is not known here.
func (m *Manager) active(ctx context.Context, id string) bool {
	if m.dir.Known(Kind, id) {
		return true
	}
	if m.members == nil {
		return false
	}
	owner, err := m.dir.Owner(ctx, Kind, id)
	if err != nil || owner == "" || owner == m.host.node {
		return false
	}
	active, err := m.dir.ActiveOn(ctx, Kind, id, owner)
	return err == nil && active
}

func (m *Manager) passivated(ctx context.Context, id string) (*Info, error) {
	raw, err := m.host.store.GetMeta(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, &StoreError{Op: "read meta", Err: err}
	}
	var md meta
	if err := json.Unmarshal(raw, &md); err != nil {
		return nil, &StoreError{Op: "decode meta", Err: err}
	}
	node := m.host.node
	if m.members != nil {
		node, _ = m.dir.Owner(ctx, Kind, id) // "" when placed nowhere yet
	}
	return &Info{ID: id, Node: node, State: StatePassivated, Requirements: md.Requirements, CreatedAt: md.CreatedAt}, nil
}

// List returns the sandboxes matching f, sorted by id. Entries are built
// from stored metadata without activating anything, so Executions,
// LastActive and the session figures are only in Info. In a cluster, Node
// is the member a sandbox is placed on and State whether it is active
// there.
func (m *Manager) List(ctx context.Context, f Filter) ([]*Info, error) {
	active, err := m.activeByNode(ctx)
	if err != nil {
		return nil, err
	}
	if _, known := active[f.Node]; f.Node != "" && !known {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, f.Node)
	}
	where := make(map[string]string)
	for node, ids := range active {
		for _, id := range ids {
			where[id] = node
		}
	}
	ids, err := m.host.store.List(ctx)
	if err != nil {
		return nil, &StoreError{Op: "list", Err: err}
	}
	out := make([]*Info, 0, len(ids))
	for _, id := range ids {
		info, err := m.passivated(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // terminated meanwhile
		}
		if err != nil {
			return nil, err
		}
		if node, ok := where[id]; ok {
			info.State, info.Node = StateActive, node
		}
		if (f.State == "" || f.State == info.State) && (f.Node == "" || f.Node == info.Node) {
			out = append(out, info)
		}
	}
	return out, nil
}

// activeByNode returns the active sandboxes of every alive member.
func (m *Manager) activeByNode(ctx context.Context) (map[string][]string, error) {
	if m.members == nil {
		return map[string][]string{m.host.node: m.dir.Active(Kind)}, nil
	}
	out := make(map[string][]string)
	for _, mem := range cluster.Alive(m.members.Members()) {
		ids, err := m.dir.Placed(ctx, Kind, mem.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		out[mem.Name] = ids
	}
	return out, nil
}

// Migrate moves the sandbox to node with its state: it passivates where it
// is and activates on node, which replays its journal. On a single node
// the only target is this node.
func (m *Manager) Migrate(ctx context.Context, id, node string) (*Info, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if m.members == nil {
		if node != m.host.node {
			return nil, fmt.Errorf("%w: %q", ErrUnknownNode, node)
		}
		return m.Info(ctx, id)
	}
	if _, err := m.passivated(ctx, id); err != nil {
		return nil, err // no such sandbox: nothing to move
	}
	if _, err := m.dir.Move(ctx, Kind, id, node); err != nil {
		if errors.Is(err, cluster.ErrUnknownMember) {
			return nil, fmt.Errorf("%w: %v", ErrUnknownNode, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return m.Info(ctx, id)
}

// DrainNode moves every active sandbox of node to the other members (where
// the placer says) and marks node draining, so it takes no new ones. It
// returns how many moved. Sandboxes it could not move stay where they are.
func (m *Manager) DrainNode(ctx context.Context, node string) (int, error) {
	if m.members == nil {
		return 0, fmt.Errorf("%w: %q: a single node has nowhere to drain to", ErrUnknownNode, node)
	}
	n, err := m.dir.Drain(ctx, Kind, node)
	switch {
	case errors.Is(err, cluster.ErrUnknownMember):
		return n, fmt.Errorf("%w: %v", ErrUnknownNode, err)
	case err != nil:
		return n, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return n, nil
}

// Migrator returns m as the cluster's migration, for the LoadBalancer and
// the ScalabilityManager.
func (m *Manager) Migrator() cluster.Migrator { return migrator{m} }

type migrator struct{ m *Manager }

func (g migrator) Placed(ctx context.Context, node string) ([]string, error) {
	return g.m.dir.Placed(ctx, Kind, node)
}

func (g migrator) Migrate(ctx context.Context, id, node string) error {
	_, err := g.m.Migrate(ctx, id, node)
	return err
}

func (g migrator) Drain(ctx context.Context, node string) error {
	_, err := g.m.DrainNode(ctx, node)
	return err
}

// Passivate stops the sandbox's activation; the next call reactivates it
// from its journal.
func (m *Manager) Passivate(ctx context.Context, id string) error {
	if _, active := m.dir.Lookup(Kind, id); !active {
		return nil
	}
	if err := m.reply(ctx, id, &wire.Passivate{}, nil); err != nil && !errors.Is(err, ErrNotFound) {
		return err // a sandbox terminated meanwhile has nothing to passivate
	}
	return nil
}

// PassivateIdle passivates up to n of this node's active sandboxes, the
// least recently called first, and returns how many it passivated. The
// MemoryOptimizer uses it under memory pressure; their state stays in the
// journal.
func (m *Manager) PassivateIdle(ctx context.Context, n int) (int, error) {
	done := 0
	for _, id := range m.dir.LeastRecent(Kind, n) {
		if err := m.Passivate(ctx, id); err != nil {
			return done, fmt.Errorf("passivate %s: %w", id, err)
		}
		done++
	}
	return done, nil
}

// Drain passivates every active sandbox of this node.
func (m *Manager) Drain(ctx context.Context) error {
	var errs []error
	for _, id := range m.dir.Active(Kind) {
		if err := m.Passivate(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("passivate %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Tree returns the sandbox's supervision trees.
func (m *Manager) Tree(ctx context.Context, id string) (*Tree, error) {
	var t Tree
	if err := m.reply(ctx, id, &wire.Query{What: "tree"}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Restarts returns the sandbox's restart history, oldest first.
func (m *Manager) Restarts(ctx context.Context, id string) ([]RestartRecord, error) {
	var out []RestartRecord
	if err := m.reply(ctx, id, &wire.Query{What: "restarts"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Trace returns the recent messages of each of the sandbox's actors.
func (m *Manager) Trace(ctx context.Context, id string) ([]TraceEntry, error) {
	var out []TraceEntry
	if err := m.reply(ctx, id, &wire.Query{What: "trace"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
