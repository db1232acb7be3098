package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/cluster/consul"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/bolt"
	"github.com/otpbox/otpbox/sandbox/store/redis"
	"github.com/otpbox/otpbox/sandbox/store/wal"
	"github.com/otpbox/otpbox/supervision"
)

// errNotRunning answers calls before the host started and after it closed.
var errNotRunning = fmt.Errorf("%w: the sandbox host is not running", server.ErrUnavailable)

// StoreFile is the bolt file of the sandbox store (--journal bolt), and
// JournalDir the directory of the wal store (--journal wal, the default),
// in the data directory.
const (
	StoreFile  = "sandboxes.db"
	JournalDir = "journal"
)

// redisPingTimeout bounds the check that Redis answers when the host
// opens its store.
const redisPingTimeout = 5 * time.Second

// SandboxHost is the node's sandbox host: the sandbox package's grains on
// a single-member protoactor cluster (sandbox.Local) on the node's actor
// system, with their journals and metadata in the embedded Config.Journal
// (<data dir>/journal, the wal store, or <data dir>/sandboxes.db, bolt)
// or, with Config.Redis, in Redis.
//
// Its child in the node's tree (sandbox_host) owns the member: the
// child's init opens the store and starts the member the first time, and
// a restart of the child passivates every sandbox (their state is in the
// journal) and keeps the member. Close, called by the node after its tree
// stopped, shuts the member down (and with it, as protoactor's cluster
// does, the actor system) and closes the store.
//
// It is safe for concurrent use.
type SandboxHost struct {
	dataDir, redisURL, node string
	journal                 string       // "wal" or "bolt"
	journalSync             wal.SyncMode // of the wal journal
	journalSyncInterval     time.Duration
	drainTimeout            time.Duration
	log                     *slog.Logger

	member        memberConfig                      // cluster mode when member.consul is set
	redis         goredis.UniversalClient           // the store's client, with Redis
	prov          atomic.Pointer[consul.Provider]   // the membership, in cluster mode
	board         atomic.Pointer[cluster.LoadBoard] // prov with the loads members send directly
	agentWarnings atomic.Pointer[[]string]          // what the Consul agent's settings make stale
	stats         loadStats
	placer        cluster.Placer // places new sandboxes in a cluster (the LoadBalancer); nil: round-robin

	mu     sync.Mutex // serialises open and Close; protects closed
	closed bool
	local  atomic.Pointer[sandbox.Local] // nil until open, and after Close
	store  sandbox.Store                 // set before local is published
	dir    *cluster.Directory            // the member's activations; nil if not a Directory

	gate gate
	// lastLoad is the load last read (see load).
	lastLoad atomic.Pointer[cachedLoad]
	// abandon ends the calls in flight when Drain reaches its deadline.
	abandon struct {
		ctx    context.Context
		cancel context.CancelFunc
	}

	// compile, when set before the host starts, keeps the sandboxes'
	// compiled programs in the node's cache.
	compile sandbox.CompileCache
	// onRecord, when set before the host starts, hears of the sandboxes'
	// restarts.
	onRecord    func(id string, r sandbox.RestartRecord)
	onLifecycle func(id, change string)
	policy      sandbox.Policy
	// snapshotEvery is sandbox.Config.SnapshotEvery, 0 for never.
	snapshotEvery int
	// warm is sandbox.Config.WarmActivations.
	warm int
	// builtins, when set before the host starts, are more Starlark
	// builtins of every sandbox (sandbox.Config.Builtins).
	builtins starlark.StringDict
	// breakers, when set before the host starts, guard the shared store
	// and the remote members (see breakers.go).
	breakers *breaker.Set
}

// SetBreakers puts the shared store (Redis) behind the "store" breaker of
// set and each remote member behind its own; call it before the node
// starts the host.
func (h *SandboxHost) SetBreakers(set *breaker.Set) { h.breakers = set }

// SetBuiltins gives every sandbox of the host more Starlark builtins
// (see sandbox.Config.Builtins); call it before the node starts the host.
func (h *SandboxHost) SetBuiltins(b starlark.StringDict) { h.builtins = b }

var _ Host = (*SandboxHost)(nil)

// SetCompileCache makes the sandboxes keep compiled programs in c; call it
// before the node starts the host.
func (h *SandboxHost) SetCompileCache(c sandbox.CompileCache) { h.compile = c }

// OnRecord sets what the sandboxes tell of their restarts and supervisors
// giving up (the metrics); call it before the host starts.
func (h *SandboxHost) OnRecord(f func(id string, r sandbox.RestartRecord)) { h.onRecord = f }

// OnLifecycle sets what hears of this member's sandboxes being created,
// activated, passivated, restarted and terminated; call it before the
// host starts.
func (h *SandboxHost) OnLifecycle(f func(id, change string)) { h.onLifecycle = f }

// NewSandboxHost returns the host of a node configured by cfg. It does no
// I/O: the store opens and the member starts when the node starts the
// host's child.
func NewSandboxHost(cfg Config, log *slog.Logger) *SandboxHost {
	if log == nil {
		log = slog.Default()
	}
	mode, _ := wal.ParseSyncMode(cfg.JournalSync) // validated; "" is always
	h := &SandboxHost{
		journalSync:         mode,
		dataDir:             cfg.DataDir,
		redisURL:            cfg.Redis,
		node:                cfg.Node,
		journal:             cfg.Journal,
		journalSyncInterval: cfg.JournalSyncInterval.Duration,
		snapshotEvery:       int(cfg.JournalSnapshotEvery),
		warm:                int(cfg.WarmActivations),
		drainTimeout:        cfg.DrainTimeout.Duration,
		member:              memberConfigOf(cfg),
		log:                 log.With("component", "sandbox"),
		gate:                gate{max: int(cfg.MaxInFlight)},
		policy:              cfg.Sandbox,
	}
	h.abandon.ctx, h.abandon.cancel = context.WithCancel(context.Background())
	return h
}

// ChildSpec is the worker that owns the member; see SandboxHost.
func (h *SandboxHost) ChildSpec() supervision.ChildSpec {
	return supervision.ChildSpec{
		ID:       HostChildID,
		Shutdown: supervision.Timeout(h.drainTimeout + time.Second),
		Start:    supervision.Spawn(func() actor.Actor { return &hostWorker{h: h} }),
	}
}

// hostWorker is the host's child in the node's tree.
type hostWorker struct{ h *SandboxHost }

var _ supervision.Initializer = (*hostWorker)(nil)

// Init opens the store and starts the member, once per host.
func (w *hostWorker) Init(ctx actor.Context) error { return w.h.open(ctx.ActorSystem()) }

// Receive passivates every sandbox when the worker stops: on a restart,
// and (with nothing left to do after Drain) when the tree stops.
func (w *hostWorker) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Stopping); ok {
		w.h.passivateAll()
	}
}

// open opens the store and starts the member unless they are running.
func (h *SandboxHost) open(system *actor.ActorSystem) (err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return errors.New("node: the sandbox host is closed")
	case h.local.Load() != nil:
		return nil // a restart of the worker keeps the member
	}
	store, where, err := h.openStore()
	if err != nil {
		return err
	}
	defer func() {
		// protoactor panics when the member cannot start (remoting fails
		// to listen, …).
		if r := recover(); r != nil {
			err = fmt.Errorf("start sandbox cluster member: %v", r)
		}
		if err != nil {
			_ = store.Close()
		}
	}()
	scfg := sandbox.Config{Store: store, Node: h.node, Logger: h.log, CompileCache: h.compile, OnRecord: h.onRecord, OnLifecycle: h.onLifecycle, Policy: h.policy, Builtins: h.builtins}
	scfg.SnapshotEvery, scfg.WarmActivations = h.snapshotEvery, h.warm
	if scfg.SnapshotEvery == 0 {
		scfg.SnapshotEvery = -1 // never
	}
	var local *sandbox.Local
	if h.member.consul != "" {
		local, err = h.startMember(system, scfg)
	} else {
		local, err = sandbox.StartLocal(system, scfg)
	}
	if err != nil {
		return fmt.Errorf("start sandbox cluster member: %w", err)
	}
	h.store = store
	h.dir, _ = local.Cluster.Config.IdentityLookup.(*cluster.Directory)
	h.local.Store(local)
	h.log.Info("sandbox host started", "store", where, "member", system.Address())
	return nil
}

// openStore opens Redis when configured, else the bolt file in the data
// directory. where describes it for the log (without credentials).
func (h *SandboxHost) openStore() (s sandbox.Store, where string, err error) {
	if h.redisURL != "" {
		opts, err := goredis.ParseURL(h.redisURL)
		if err != nil {
			return nil, "", fmt.Errorf("sandbox store: redis URL: %w", err)
		}
		where = fmt.Sprintf("redis://%s/%d", opts.Addr, opts.DB)
		client := goredis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), redisPingTimeout)
		defer cancel()
		if err := client.Ping(ctx).Err(); err != nil {
			_ = client.Close()
			return nil, "", fmt.Errorf("sandbox store: %s: %w", where, err)
		}
		h.redis = client
		var sopts []redis.Option
		if h.member.consul != "" {
			// A terminated sandbox's placement goes with its journal, in
			// one transaction.
			reg := h.registry()
			sopts = append(sopts, redis.WithPlacements(func(id string) string { return reg.Key(sandbox.Kind, id) }))
		}
		if h.breakers != nil {
			return &guardedStore{Store: redis.New(client, sopts...), b: h.breakers.Get(storeBreaker)}, where, nil
		}
		return redis.New(client, sopts...), where, nil
	}
	if err := os.MkdirAll(h.dataDir, 0o750); err != nil {
		return nil, "", fmt.Errorf("sandbox store: %w", err)
	}
	boltFile := filepath.Join(h.dataDir, StoreFile)
	if h.journal == "bolt" {
		b, err := bolt.Open(boltFile)
		if errors.Is(err, bolt.ErrLocked) {
			return nil, "", fmt.Errorf("sandbox store %s is locked: another otpbox node uses data directory %s (one node per data directory; stop it or pass another --data-dir): %w", boltFile, h.dataDir, err)
		}
		if err != nil {
			return nil, "", fmt.Errorf("sandbox store: %w", err)
		}
		return b, boltFile, nil
	}
	where = filepath.Join(h.dataDir, JournalDir)
	w, err := wal.Open(where, wal.Config{Sync: h.journalSync, SyncInterval: h.journalSyncInterval, Logger: h.log})
	if errors.Is(err, wal.ErrLocked) {
		return nil, "", fmt.Errorf("sandbox store: another otpbox node uses data directory %s (stop it or pass another --data-dir): %w", h.dataDir, err)
	}
	if err != nil {
		return nil, "", fmt.Errorf("sandbox store: %w", err)
	}
	if err := migrateBolt(boltFile, w, h.log); err != nil {
		_ = w.Close()
		return nil, "", fmt.Errorf("sandbox store: %w", err)
	}
	return w, fmt.Sprintf("%s (sync %s)", where, h.journalSync), nil
}

// registry returns the cluster's placement directory, on the store's
// Redis.
func (h *SandboxHost) registry() *cluster.RedisRegistry {
	return cluster.NewRedisRegistry(h.redis, "otpbox:"+h.member.cluster+":")
}

// Calls returns the sandbox calls in progress and the count of calls
// completed (the overload controller's inputs).
func (h *SandboxHost) Calls() (inFlight int, completed uint64) { return h.gate.calls() }

// journalStats returns the wal journal's figures; ok is false with
// another store, or before the store opens.
func (h *SandboxHost) journalStats() (st wal.Stats, ok bool) {
	h.mu.Lock()
	w, ok := h.store.(*wal.Store)
	h.mu.Unlock()
	if !ok {
		return st, false
	}
	return w.Stats(), true
}

// journalMetrics export the wal journal's figures, read at scrape time
// (0 with the bolt or Redis store): otpbox_journal_records_total,
// otpbox_journal_writes_total and otpbox_journal_syncs_total (records
// per sync is how much group commit shares), otpbox_journal_segments
// and otpbox_journal_bytes / otpbox_journal_live_bytes.
func journalMetrics(stats func() (wal.Stats, bool)) []prometheus.Collector {
	read := func(f func(wal.Stats) float64) func() float64 {
		return func() float64 {
			st, ok := stats()
			if !ok {
				return 0
			}
			return f(st)
		}
	}
	counter := func(name, help string, f func(wal.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, read(f))
	}
	gauge := func(name, help string, f func(wal.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read(f))
	}
	return []prometheus.Collector{
		counter("otpbox_journal_records_total", "Records appended to the wal journal.",
			func(s wal.Stats) float64 { return float64(s.Records) }),
		counter("otpbox_journal_writes_total", "write(2) calls of the wal journal (one per group of records).",
			func(s wal.Stats) float64 { return float64(s.Writes) }),
		counter("otpbox_journal_syncs_total", "fdatasync calls of the wal journal.",
			func(s wal.Stats) float64 { return float64(s.Syncs) }),
		gauge("otpbox_journal_segments", "Segment files of the wal journal.",
			func(s wal.Stats) float64 { return float64(s.Segments) }),
		gauge("otpbox_journal_bytes", "Size of the wal journal's segments.",
			func(s wal.Stats) float64 { return float64(s.Bytes) }),
		gauge("otpbox_journal_live_bytes", "Size of the wal journal's live records (the rest is reclaimed by compaction).",
			func(s wal.Stats) float64 { return float64(s.LiveBytes) }),
	}
}

// Snapshots returns how many sandbox journals this node replaced by a
// snapshot, and how many tries found a state no snapshot rebuilds, since
// the member started (sandbox.Manager.Snapshots).
func (h *SandboxHost) Snapshots() (taken, skipped uint64) {
	if l := h.local.Load(); l != nil {
		return l.Snapshots()
	}
	return 0, 0
}

// SnapshotBytes returns the size of the snapshot entries this node wrote
// since the member started (sandbox.Manager.SnapshotBytes).
func (h *SandboxHost) SnapshotBytes() uint64 {
	if l := h.local.Load(); l != nil {
		return l.SnapshotBytes()
	}
	return 0
}

// WarmTaken returns how many activations were taken from the pool of
// warm ones (see Config.WarmActivations) since the member started.
func (h *SandboxHost) WarmTaken() uint64 {
	if l := h.local.Load(); l != nil {
		taken, _ := l.Directory().WarmStats()
		return taken
	}
	return 0
}

// warmMetrics export WarmTaken: otpbox_sandbox_warm_activations_taken_total.
func warmMetrics(taken func() uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "otpbox_sandbox_warm_activations_taken_total",
		Help: "Sandbox activations (creates, reactivations) that took an activation spawned ahead of need (--warm-activations)."},
		func() float64 { return float64(taken()) })
}

// snapshotMetrics export Snapshots: otpbox_sandbox_snapshots_total
// {result="taken"|"skipped"}, and SnapshotBytes:
// otpbox_sandbox_snapshot_bytes_total.
func snapshotMetrics(snapshots func() (taken, skipped uint64), written func() uint64) []prometheus.Collector {
	const name, help = "otpbox_sandbox_snapshots_total", "Sandbox journals replaced by a snapshot of the sandbox's state (taken), and tries that found a state no snapshot rebuilds: functions inside sets or frozen values, bound methods, shared values, functions that see older lists or functions (skipped)."
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "otpbox_sandbox_snapshot_bytes_total",
			Help: "Bytes of the snapshot entries written: each holds a sandbox's whole state and the ids and answers kept for retries."},
			func() float64 { return float64(written()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"result": "taken"}},
			func() float64 { t, _ := snapshots(); return float64(t) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"result": "skipped"}},
			func() float64 { _, s := snapshots(); return float64(s) }),
	}
}

// passivateAll passivates every sandbox within the drain timeout.
func (h *SandboxHost) passivateAll() {
	l := h.local.Load()
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.drainTimeout)
	defer cancel()
	if err := l.Drain(ctx); err != nil {
		h.log.Warn("passivate sandboxes", "error", err)
	}
}

// Drain refuses new work with server.ErrShuttingDown, waits for the calls
// in flight, then passivates every sandbox. Every accepted execution is
// already in the journal: passivation only frees the sandboxes' memory.
//
// The calls still in flight at ctx's deadline are abandoned: each is
// answered with server.ErrShuttingDown (503 shutting_down), and an
// execution still running (a stuck sandbox) is dropped when it ends,
// never journaled, so nothing acknowledged is lost and nothing
// unacknowledged is kept. Its activation is forgotten and not waited for.
// Drain then returns nil: the drain kept its deadline.
func (h *SandboxHost) Drain(ctx context.Context) error {
	idle := h.gate.shut()
	select {
	case <-idle:
	case <-ctx.Done():
		n := h.gate.inflight()
		abandoned := 0
		if l := h.local.Load(); l != nil {
			abandoned = l.AbandonAll()
		}
		h.abandon.cancel()
		h.log.Warn("drain deadline reached: calls in flight abandoned (answered 503 shutting_down)",
			"calls", n, "executions", abandoned)
		// The abandoned calls return at once; give them a moment to.
		wait, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		select {
		case <-idle:
		case <-wait.Done():
			h.log.Warn("calls still in flight after their abandonment", "calls", h.gate.inflight())
		}
		ctx = wait
	}
	l := h.local.Load()
	if l == nil {
		return nil
	}
	if h.member.consul != "" && l.Active() > 0 {
		// Hand the sandboxes to the other members before leaving; what
		// cannot move passivates below (its state is in the store).
		if n, err := l.DrainNode(ctx, h.node); err != nil {
			h.log.Warn("drain to other members", "moved", n, "error", err)
		} else {
			h.log.Info("drained to other members", "moved", n)
		}
	}
	return l.Drain(ctx)
}

// Close stops the member (passivating what is still active), which shuts
// the actor system down, then closes the store. Later calls do nothing.
func (h *SandboxHost) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	h.gate.shut()
	h.abandon.cancel()
	l := h.local.Swap(nil)
	if l == nil {
		return nil
	}
	l.Shutdown()
	if err := h.store.Close(); err != nil {
		return fmt.Errorf("close sandbox store: %w", err)
	}
	return nil
}

// SandboxCounts counts this node's sandboxes: those in the store with a
// live activation are active, the others passivated. It lists the store's
// ids (no metadata is decoded), so it costs one store read.
func (h *SandboxHost) SandboxCounts() (active, passivated int) {
	l := h.local.Load()
	if l == nil {
		return 0, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ids, err := h.store.List(ctx)
	if err != nil {
		return l.Active(), 0
	}
	if h.dir == nil {
		active = min(l.Active(), len(ids))
		return active, len(ids) - active
	}
	// Activations of unknown ids (a call for a sandbox that does not
	// exist activates a grain) are not sandboxes: count only stored ids.
	live := h.dir.Active(sandbox.Kind)
	set := make(map[string]struct{}, len(live))
	for _, id := range live {
		set[id] = struct{}{}
	}
	for _, id := range ids {
		if _, ok := set[id]; ok {
			active++
		}
	}
	return active, len(ids) - active
}

// enter admits one call: work (a call that starts or changes a sandbox)
// is refused once the host drains. The call runs under the returned
// context, which ends when the drain abandons the calls in flight (see
// Drain), and must run done when it ends.
func (h *SandboxHost) enter(ctx context.Context, work bool) (context.Context, *sandbox.Manager, func(), error) {
	if h.breakers != nil && h.redisURL != "" {
		// The store's breaker is open: fail fast, before any grain waits
		// on the store.
		if err := h.breakers.Get(storeBreaker).Check(); err != nil {
			return ctx, nil, nil, err
		}
	}
	if err := h.gate.enter(work); err != nil {
		return ctx, nil, nil, err
	}
	l := h.local.Load()
	if l == nil { // not started yet, or closed
		h.gate.leave()
		return ctx, nil, nil, errNotRunning
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(h.abandon.ctx, func() { cancel(errAbandoned) })
	start := time.Now()
	return ctx, l.Manager, func() {
		stop()
		cancel(nil)
		h.stats.observe(time.Since(start))
		h.gate.leave()
	}, nil
}

// errAbandoned is the cause of the contexts of the calls that Drain
// abandoned at its deadline.
var errAbandoned = fmt.Errorf("%w: the node stopped at its drain deadline before the call finished; it had no effect", server.ErrShuttingDown)

// result maps a sandbox that did not answer before the request's deadline
// to the deadline, so the API reports the request's timeout, and a call
// the drain abandoned to server.ErrShuttingDown.
func result(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(context.Cause(ctx), errAbandoned):
		return errAbandoned
	case errors.Is(err, sandbox.ErrUnavailable) && ctx.Err() != nil:
		return fmt.Errorf("%w: %v", ctx.Err(), err)
	}
	return err
}

// Create creates a sandbox.
func (h *SandboxHost) Create(ctx context.Context, id string, req server.Requirements) (*server.Info, error) {
	ctx, m, done, err := h.enter(ctx, true)
	if err != nil {
		return nil, err
	}
	defer done()
	info, err := m.Create(ctx, id, req)
	return info, result(ctx, err)
}

// Execute runs code in a sandbox.
func (h *SandboxHost) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	ctx, m, done, err := h.enter(ctx, true)
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := m.Execute(ctx, id, code)
	if err != nil {
		return nil, result(ctx, err)
	}
	return server.ResultOf(res), nil
}

// Terminate stops a sandbox and deletes its journal; it is allowed while
// the host drains.
func (h *SandboxHost) Terminate(ctx context.Context, id string) error {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	return result(ctx, m.Terminate(ctx, id))
}

// Restart gives a sandbox a fresh session.
func (h *SandboxHost) Restart(ctx context.Context, id string) (*server.Info, error) {
	ctx, m, done, err := h.enter(ctx, true)
	if err != nil {
		return nil, err
	}
	defer done()
	info, err := m.Restart(ctx, id)
	return info, result(ctx, err)
}

// Info describes a sandbox.
func (h *SandboxHost) Info(ctx context.Context, id string) (*server.Info, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	info, err := m.Info(ctx, id)
	return info, result(ctx, err)
}

// List lists the sandboxes matching f.
func (h *SandboxHost) List(ctx context.Context, f server.Filter) ([]*server.Info, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	infos, err := m.List(ctx, f)
	return infos, result(ctx, err)
}

// Migrate moves a sandbox to node; on a single node only to itself.
func (h *SandboxHost) Migrate(ctx context.Context, id, node string) (*server.Info, error) {
	ctx, m, done, err := h.enter(ctx, true)
	if err != nil {
		return nil, err
	}
	defer done()
	info, err := m.Migrate(ctx, id, node)
	return info, result(ctx, err)
}

// PassivateIdle passivates up to n of the least recently called sandboxes,
// for the MemoryOptimizer.
func (h *SandboxHost) PassivateIdle(ctx context.Context, n int) (int, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return 0, err
	}
	defer done()
	return m.PassivateIdle(ctx, n)
}

// Tree returns a sandbox's supervision trees.
func (h *SandboxHost) Tree(ctx context.Context, id string) (*server.Tree, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	t, err := m.Tree(ctx, id)
	return t, result(ctx, err)
}

// Restarts returns a sandbox's restart history.
func (h *SandboxHost) Restarts(ctx context.Context, id string) ([]server.RestartRecord, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	recs, err := m.Restarts(ctx, id)
	return recs, result(ctx, err)
}

// Trace returns the recent messages of a sandbox's actors.
func (h *SandboxHost) Trace(ctx context.Context, id string) ([]server.TraceEntry, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	entries, err := m.Trace(ctx, id)
	return entries, result(ctx, err)
}

// gate counts the host's calls in flight and, once shut, refuses work and
// reports when the calls in flight at that moment have ended.
type gate struct {
	max    int        // calls that start or change a sandbox beyond n == max are refused; 0: no bound
	mu     sync.Mutex // protects the fields below
	shutOn bool
	n      int
	done   uint64        // calls that left
	idle   chan struct{} // made by shut, closed when n reaches 0
}

func (g *gate) enter(work bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.shutOn && work:
		return server.ErrShuttingDown
	case work && g.max > 0 && g.n >= g.max:
		return fmt.Errorf("%w: %d sandbox calls in progress", server.ErrOverloaded, g.n)
	}
	g.n++
	return nil
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	g.done++
	g.signalLocked()
}

// calls returns the calls in progress and the count of calls that left.
func (g *gate) calls() (int, uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n, g.done
}

// shut refuses further work; the channel is closed once no call is in
// flight.
func (g *gate) shut() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.shutOn {
		g.shutOn = true
		g.idle = make(chan struct{})
		g.signalLocked()
	}
	return g.idle
}

func (g *gate) signalLocked() {
	if g.shutOn && g.n == 0 {
		select {
		case <-g.idle:
		default:
			close(g.idle)
		}
	}
}

// overloaded reports whether the calls in progress reached 90% of the
// bound, and says how many there are.
func (g *gate) overloaded() (bool, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.max <= 0 || g.n*10 < g.max*9 {
		return false, ""
	}
	return true, fmt.Sprintf("overloaded: %d of %d sandbox calls in progress", g.n, g.max)
}

// Stuck returns the sandboxes whose execution runs past its limits (see
// sandbox.Manager.Stuck): the node is degraded while there is one.
func (h *SandboxHost) Stuck() []string {
	if l := h.local.Load(); l != nil {
		return l.Stuck()
	}
	return nil
}

// Overloaded reports whether the host is near its --max-inflight bound:
// the node's readiness is then degraded (429, Consul's warning), so new
// sandboxes go to other members.
func (h *SandboxHost) Overloaded() (bool, string) { return h.gate.overloaded() }

// ClaimKey records an Idempotency-Key's request fingerprint in the
// store's Redis, in one round trip (SET NX GET, Redis 7): the server's
// Config.ClaimKey. ok is false without Redis (a node of its own keeps
// keys in its cache), and when Redis fails or refuses the command (an
// older Redis): the server then keeps the key in the cache's tiers.
func (h *SandboxHost) ClaimKey(ctx context.Context, key string, want []byte, ttl time.Duration) (got []byte, ok bool) {
	if h.local.Load() == nil || h.redis == nil { // h.redis is set before local
		return nil, false
	}
	if h.breakers != nil && h.breakers.Get(storeBreaker).Check() != nil {
		return nil, false
	}
	got, err := h.redis.SetArgs(ctx, key, want, goredis.SetArgs{Mode: "NX", TTL: ttl, Get: true}).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return want, true // claimed
	case err != nil:
		return nil, false
	}
	return got, true
}

// inflight returns the calls in progress.
func (g *gate) inflight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Watch subscribes to a sandbox's events, wherever it runs. The call is
// in flight only for the stream's hello; the subscription ends when the
// host stops (the client resumes with Last-Event-ID).
func (h *SandboxHost) Watch(ctx context.Context, id string, opts sandbox.WatchOptions) (server.EventStream, error) {
	ctx, _, done, err := h.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	l := h.local.Load()
	if l == nil {
		return nil, errNotRunning
	}
	sub, err := l.Watch(ctx, id, opts)
	if err != nil {
		return nil, result(ctx, err)
	}
	return sub, nil
}

// Process describes a process of a sandbox by pid or path.
func (h *SandboxHost) Process(ctx context.Context, id, pid, path string) (*server.ProcessInfo, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	info, err := m.Process(ctx, id, pid, path)
	return info, result(ctx, err)
}

// Act kills, exits, crashes, terminates or restarts a process of a
// sandbox, as an execution.
func (h *SandboxHost) Act(ctx context.Context, id string, a server.ProcessAction) (*server.ActionResult, error) {
	ctx, m, done, err := h.enter(ctx, true)
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := m.Act(ctx, id, a)
	return res, result(ctx, err)
}
