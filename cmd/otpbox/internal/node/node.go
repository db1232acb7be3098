package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/actors/cachemanager"
	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/actors/memoryoptimizer"
	"github.com/otpbox/otpbox/actors/scalability"
	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/buildinfo"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/console"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/metrics"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/overload"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/wal"
	"github.com/otpbox/otpbox/supervision"
)

// AppName is the application supervisor's registered name; supervisors
// named AppName or AppName/… form the "node" tree in the metrics.
const AppName = "otpbox"

// DegradedWindow is how long after a restart in the node's tree the node
// reports itself degraded.
const DegradedWindow = time.Minute

// Option configures a node.
type Option func(*options)

type options struct {
	host     Host
	log      *slog.Logger
	builtins starlark.StringDict
}

// WithBuiltins gives every sandbox of the node more Starlark builtins
// (sandbox.Config.Builtins): an embedder's way to extend sandboxes. They
// must keep sandboxes deterministic. Only the node's own SandboxHost
// takes them.
func WithBuiltins(b starlark.StringDict) Option { return func(o *options) { o.builtins = b } }

// WithHost sets the sandbox host (default: a SandboxHost on the node's
// configuration).
func WithHost(h Host) Option { return func(o *options) { o.host = h } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Node is a running node. Its methods are safe for concurrent use.
type Node struct {
	cfg     Config
	log     *slog.Logger
	host    Host
	system  *actor.ActorSystem
	meters  *sdkmetric.MeterProvider
	unwatch func()
	api     *server.Server
	// events is the node's event bus (GET /v1/events); stopObserving
	// stops the goroutine that feeds it the changes of state.
	events        *server.NodeEvents
	stopObserving func()
	// shedder refuses part of the new work while the CPU is saturated.
	shedder *overload.Shedder
	app     atomic.Pointer[supervision.Supervisor]
	// cache is the node's cache: L1 in memory, L3 in Redis with --redis;
	// closeL3 closes its Redis client (nil without one).
	cache      *cache.Cache
	closeL3    func() error
	memMetrics *memoryoptimizer.Metrics
	// members is the node's membership: Consul's in a cluster, this node
	// alone otherwise. balancer places new sandboxes (the LoadBalancer's
	// strategy); scaling is the ScalabilityManager's provider (nil: none).
	members      *nodeMembership
	balancer     *loadbalancer.Balancer
	scaling      scalability.Provider
	closeScaling func() error
	registry     prometheus.Registerer

	httpAddr, adminAddr atomic.Pointer[string]

	shutdown    sync.Once
	shutdownErr error // the result of the first Shutdown
}

// Run starts a node and runs it until ctx is done, then shuts it down
// within cfg.DrainTimeout. It returns nil after a clean shutdown, and an
// error if the node could not start, its tree exited on its own, or the
// drain did not finish in time.
func Run(ctx context.Context, cfg Config, opts ...Option) error {
	// The Go runtime reads GOMAXPROCS from the process environment.
	budget, raised := raiseProcs(os.Getenv)
	n, err := Start(cfg, opts...)
	if err != nil {
		return err
	}
	if raised {
		n.log.Info("GOMAXPROCS raised so that journal syncs do not stall the node (set GOMAXPROCS to choose)",
			"cpus", budget, "gomaxprocs", minProcs)
	}
	var died error
	select {
	case <-ctx.Done():
		n.log.Info("shutting down", "drain_timeout", cfg.DrainTimeout.String())
	case <-n.Done():
		died = fmt.Errorf("node tree exited: %w", n.App().Reason())
		n.log.Error("node tree exited", "reason", n.App().Reason().String())
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.DrainTimeout.Duration)
	defer cancel()
	return errors.Join(died, n.Shutdown(sctx))
}

// Start validates cfg, starts the node's tree and returns once the HTTP
// API is listening.
func Start(cfg Config, opts ...Option) (*Node, error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Redis = cfg.redisURL() // with the pool settings, for every Redis client
	breakers := newBreakers(cfg, o.log)
	if o.host == nil {
		sh := NewSandboxHost(cfg, o.log)
		sh.SetBuiltins(o.builtins)
		sh.SetBreakers(breakers)
		o.host = sh
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	n := &Node{cfg: cfg, log: o.log, host: o.host}
	empty := ""
	n.httpAddr.Store(&empty)
	n.adminAddr.Store(&empty)

	m := metrics.New(metricsBuild())
	n.registry = m.Registry()
	meters, err := m.MeterProvider()
	if err != nil {
		return nil, err
	}
	n.meters = meters
	// protoactor creates its instruments from the global meter provider
	// (otel.Meter) and only reads Config.MetricsProvider to decide whether
	// metrics are on, so the global must be ours too. Without it, every
	// spawn would also queue a callback on the global no-op provider,
	// forever. One node per process.
	otel.SetMeterProvider(meters)
	n.system = actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return libraryLogger(o.log, cfg.LogLevel) }),
		actor.WithMetricProviders(meters),
	)
	metrics.PrimeProtoactor(meters, n.system.Address())
	n.members = newNodeMembership(cfg, o.host)
	if cfg.Redis != "" {
		breakers.Get(storeBreaker) // in the metrics from the first scrape
	}
	if n.cache, n.closeL3, err = newCache(cfg, n.system, n.members, breakers); err != nil {
		return nil, err
	}
	m.Registry().MustRegister(breakers)
	m.Registry().MustRegister(n.cache)
	n.memMetrics = memoryoptimizer.NewMetrics()
	m.Registry().MustRegister(n.memMetrics.Collector())
	m.Registry().MustRegister(memoryGauges(n.members.memCap)...)
	n.events = server.NewNodeEvents()
	journal := func() (wal.Stats, bool) { return wal.Stats{}, false } // the metrics at 0 without a wal journal
	snapshots := func() (taken, skipped uint64) { return 0, 0 }
	snapshotBytes := func() uint64 { return 0 }
	warmTaken := func() uint64 { return 0 }
	if sh, ok := o.host.(*SandboxHost); ok {
		journal, snapshots, snapshotBytes, warmTaken = sh.journalStats, sh.Snapshots, sh.SnapshotBytes, sh.WarmTaken
		sh.SetCompileCache(sandbox.NewSharedCompileCache(n.cache))
		sh.OnRecord(func(_ string, r sandbox.RestartRecord) { m.SandboxRecord(r.Kind) })
		sh.OnLifecycle(func(id, change string) {
			n.publish(server.NodeEvent{Type: "sandbox", Sandbox: id, Change: change})
		})
	}
	m.Registry().MustRegister(journalMetrics(journal)...)
	m.Registry().MustRegister(snapshotMetrics(snapshots, snapshotBytes)...)
	m.Registry().MustRegister(warmMetrics(warmTaken))
	if err := n.startPerformance(cfg, o.host, m.Registry()); err != nil {
		if n.closeL3 != nil {
			_ = n.closeL3()
		}
		return nil, err
	}
	unwatch := m.WatchSupervision(n.system.EventStream, treeOf)
	undead := m.WatchDeadLetters(n.system.EventStream)
	n.unwatch = func() { unwatch(); undead() }
	m.ObserveSandboxes(o.host)
	boxes := metrics.NewMailboxes("node")
	samplers := []metrics.MailboxSampler{boxes}
	if s, ok := o.host.(metrics.MailboxSampler); ok {
		samplers = append(samplers, s)
	}
	m.ObserveMailboxes(samplers...)

	target := cfg.OverloadLatency.Duration
	if target == 0 {
		target = -1 // off
	}
	ocfg := overload.Config{Target: target}
	if c, ok := o.host.(interface{ Calls() (int, uint64) }); ok {
		ocfg.Calls = c.Calls
	}
	n.shedder = overload.New(ocfg)
	n.shedder.Start()
	m.Registry().MustRegister(overloadMetrics(n.shedder.Stats)...)
	n.api = server.New(server.Config{
		Shed:           n.shedder.Shed,
		ClaimKey:       claimKey(o.host),
		Cluster:        n.clusterView(o.host),
		Cache:          n.cache,
		Memory:         memoryAPI{n},
		Sandboxes:      o.host,
		Counts:         o.host.SandboxCounts,
		Node:           cfg.Node,
		Addr:           cfg.HTTPAddr,
		Token:          cfg.Token,
		ReadToken:      cfg.ReadToken,
		MetricsPublic:  cfg.MetricsPublic.Value(),
		AllowedHosts:   cfg.AllowedHosts,
		AllowedOrigins: cfg.AllowedOrigins,
		BodyTimeout:    cfg.BodyTimeout.Duration,
		MaxBody:        int64(cfg.MaxBody),
		RequestTimeout: cfg.RequestTimeout.Duration,
		Ready:          n.readiness,
		Breakers:       breakerStatus(breakers, cfg.Node),
		Metrics:        m.Handler(),
		Events:         n.events,
		Console:        console.Handler(),
		Recorder:       m,
		Logger:         o.log,
	})
	m.InitRoutes(n.api.Routes())
	app, err := supervision.Start(n.system, supervision.Spec{
		Name:     AppName,
		Flags:    supervision.Flags{Strategy: supervision.OneForOne, Intensity: 3, Period: 5 * time.Second},
		Children: n.children(boxes),
	})
	if err != nil {
		err = fmt.Errorf("start node tree: %w", err)
		if cerr := n.close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	n.app.Store(app)
	n.startObserving()
	n.log.Info("node started", "node", cfg.Node, "http", n.HTTPAddr(), "admin", n.AdminAddr(), "data_dir", cfg.DataDir)
	return n, nil
}

func metricsBuild() metrics.BuildInfo {
	b := buildinfo.Get()
	return metrics.BuildInfo{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion}
}

// treeOf classifies supervisors for the metrics.
func treeOf(name string) string {
	if name == AppName || strings.HasPrefix(name, AppName+"/") {
		return "node"
	}
	return "sandbox"
}

// children is the application supervisor's child list.
func (n *Node) children(boxes *metrics.Mailboxes) []supervision.ChildSpec {
	cfg := n.cfg
	grace := cfg.DrainTimeout.Duration
	var cs []supervision.ChildSpec
	if cfg.AdminAddr != "off" {
		cs = append(cs, n.listenerSpec("admin", cfg.AdminAddr, grace, boxes, &n.adminAddr, nil, func() *http.Server {
			return &http.Server{
				Handler:           adminHandler(),
				ReadHeaderTimeout: 5 * time.Second,
				WriteTimeout:      2 * time.Minute, // pprof profiles run up to ?seconds=
				IdleTimeout:       2 * time.Minute,
			}
		}))
	}
	cs = append(cs, cachemanager.ChildSpec(n.cache, cachemanager.Config{}))
	cs = append(cs, memoryoptimizer.ChildSpec(n.memoryDeps(), cfg.memoryConfig()))
	cs = append(cs, n.host.ChildSpec())
	cs = append(cs, n.performanceChildren()...)
	cs = append(cs, n.listenerSpec("http", cfg.HTTPAddr, grace, boxes, &n.httpAddr, server.Listener, func() *http.Server {
		return &http.Server{
			Handler:           n.api,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       cfg.RequestTimeout.Duration,
			WriteTimeout:      cfg.RequestTimeout.Duration + 5*time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
		}
	}))
	return cs
}

func (n *Node) listenerSpec(id, addr string, grace time.Duration, boxes *metrics.Mailboxes, bound *atomic.Pointer[string], wrap func(net.Listener) net.Listener, srv func() *http.Server) supervision.ChildSpec {
	return supervision.ChildSpec{
		ID:       id,
		Shutdown: supervision.Timeout(grace + time.Second),
		Start: supervision.Spawn(func() actor.Actor {
			return &listener{addr: addr, srv: srv, grace: grace, wrap: wrap, bound: func(a net.Addr) {
				s := a.String()
				bound.Store(&s)
			}}
		}, actor.WithMailbox(boxes.Producer(id))),
	}
}

// HTTPAddr returns the address the API listens on.
func (n *Node) HTTPAddr() string { return *n.httpAddr.Load() }

// AdminAddr returns the address of the pprof listener ("" when off).
func (n *Node) AdminAddr() string { return *n.adminAddr.Load() }

// App returns the application supervisor.
func (n *Node) App() *supervision.Supervisor { return n.app.Load() }

// System returns the node's actor system.
func (n *Node) System() *actor.ActorSystem { return n.system }

// Handler returns the API handler.
func (n *Node) Handler() http.Handler { return n.api }

// Done is closed when the application supervisor has exited, on its own
// (restart intensity) or after Shutdown.
func (n *Node) Done() <-chan struct{} { return n.App().Done() }

// Shutdown drains the node: readiness fails and new work is refused, the
// host drains, the tree stops (HTTP first), the host closes (its cluster
// member and store), then the actor system. It returns once all stopped,
// or with ctx's error if the drain overran. Later calls return the first
// call's result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdown.Do(func() { n.shutdownErr = n.drain(ctx) })
	return n.shutdownErr
}

func (n *Node) drain(ctx context.Context) error {
	n.api.BeginDrain()
	var errs []error
	// The host gets the drain's time less a reserve for what follows (the
	// tree, the member, the store): at its deadline it abandons the calls
	// still in flight (a stuck sandbox), so the whole keeps ctx's.
	hctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(time.Until(dl)/5, 2*time.Second)
		var cancel context.CancelFunc
		hctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	if err := n.host.Drain(hctx); err != nil {
		errs = append(errs, fmt.Errorf("drain sandbox host: %w", err))
	}
	if err := n.App().Stop(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop node tree: %w", err))
	}
	if err := n.close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		n.log.Info("node stopped")
	}
	return errors.Join(errs...)
}

// close releases what Start built around the tree: the host (whose
// cluster member may shut the actor system down), the actor system, the
// meters.
func (n *Node) close() error {
	n.unwatch()
	if n.shedder != nil {
		n.shedder.Stop()
	}
	if n.stopObserving != nil {
		n.stopObserving()
	}
	var err error
	if n.closeScaling != nil {
		// The nodes this one started leave with it (draining first).
		if cerr := n.closeScaling(); cerr != nil {
			err = fmt.Errorf("stop scaled nodes: %w", cerr)
		}
	}
	if cerr := n.host.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close sandbox host: %w", cerr))
	}
	if !n.system.IsStopped() {
		n.system.Shutdown()
	}
	if n.closeL3 != nil {
		_ = n.closeL3()
	}
	_ = n.meters.Shutdown(context.Background())
	return err
}

// claimKey is the host's ClaimKey, when it has one.
func claimKey(h Host) func(context.Context, string, []byte, time.Duration) ([]byte, bool) {
	if c, ok := h.(interface {
		ClaimKey(context.Context, string, []byte, time.Duration) ([]byte, bool)
	}); ok {
		return c.ClaimKey
	}
	return nil
}

// memoryDeps are what the MemoryOptimizer acts through: the cache's L1 to
// shrink and the sandbox host to passivate idle sandboxes.
func (n *Node) memoryDeps() memoryoptimizer.Deps {
	deps := memoryoptimizer.Deps{
		// freecache does not say how many bytes a clear frees: 0, unknown.
		Shrinker: memoryoptimizer.ShrinkFunc(func(ctx context.Context) (int64, error) {
			return 0, n.cache.Clear(ctx, cache.L1Tier)
		}),
		Metrics: n.memMetrics,
	}
	if p, ok := n.host.(memoryoptimizer.Passivator); ok {
		deps.Passivator = p
	}
	return deps
}

// newCache builds the node's cache: a freecache L1, the cluster's memory
// as L2 on a cluster member, and Redis as L3 when the node has a Redis URL
// and l3_cache_enabled.
func newCache(cfg Config, system *actor.ActorSystem, members *nodeMembership, breakers *breaker.Set) (*cache.Cache, func() error, error) {
	c := cfg.cacheConfig()
	if cfg.Consul != "" {
		// L2: each key owned by one member (rendezvous hashing over the
		// alive members), its owner actor answering the others over
		// protoactor remote.
		l2, err := cache.NewNode(system, cache.NodeConfig{Size: int(cfg.L2CacheSize), Live: members.cacheLive})
		if err != nil {
			return nil, nil, fmt.Errorf("cache L2: %w", err)
		}
		c.Members = l2
	}
	var closeL3 func() error
	if cfg.Redis != "" && cfg.L3CacheEnabled.Value() {
		l3, closer, err := cache.NewL3URL(cfg.Redis)
		if err != nil {
			return nil, nil, fmt.Errorf("cache L3: %w", err)
		}
		c.L3, closeL3 = &guardedTier{Tier: l3, b: breakers.Get(l3Breaker)}, closer
	}
	cc, err := cache.New(c)
	if err != nil {
		if closeL3 != nil {
			_ = closeL3()
		}
		return nil, nil, err
	}
	return cc, closeL3, nil
}

// readiness answers /v1/health/ready: not ready while starting or while a
// child of the node's tree is down, degraded for DegradedWindow after a
// restart in it.
func (n *Node) readiness(ctx context.Context) server.Readiness {
	app := n.App()
	if app == nil {
		return server.Readiness{Status: server.NotReady, Reason: "starting"}
	}
	children, err := app.WhichChildren(ctx)
	if err != nil {
		return server.Readiness{Status: server.NotReady, Reason: "node tree: " + err.Error()}
	}
	for _, c := range children {
		if c.PID == nil {
			return server.Readiness{Status: server.NotReady, Reason: c.ID + " is not running"}
		}
	}
	if recs := app.History().Records(); len(recs) > 0 {
		last := recs[len(recs)-1]
		if ago := time.Since(last.Time); ago < DegradedWindow {
			return server.Readiness{Status: server.Degraded, Reason: fmt.Sprintf(
				"%s restarted %s ago: %s", last.ChildID, ago.Round(time.Second), last.Reason)}
		}
	}
	if st, ok := n.host.(interface{ Stuck() []string }); ok {
		if ids := st.Stuck(); len(ids) > 0 {
			return server.Readiness{Status: server.Degraded, Reason: fmt.Sprintf(
				"%d sandbox execution(s) stuck past their limits (%s)", len(ids), strings.Join(ids[:min(len(ids), 3)], ", "))}
		}
	}
	if o, ok := n.host.(interface{ Overloaded() (bool, string) }); ok {
		if over, why := o.Overloaded(); over {
			return server.Readiness{Status: server.Degraded, Reason: why}
		}
	}
	if n.shedder != nil {
		if st := n.shedder.Stats(); st.Overloaded {
			return server.Readiness{Status: server.Degraded, Reason: fmt.Sprintf(
				"overloaded: refusing new work beyond %d calls in progress (Go scheduling latency p99 %v)", st.Limit, st.SchedP99)}
		}
	}
	if h := n.cache.Health(); !h.OK {
		for tier, th := range h.Tiers {
			// L2 degrades when a member is unreachable: a cluster condition
			// (the membership handles it), not this node's. Were it to
			// make every survivor of a lost member "degraded" (Consul:
			// warning), none would take the lost member's sandboxes.
			if th.Degraded && tier != "l2" {
				return server.Readiness{Status: server.Degraded, Reason: "cache tier " + tier + " degraded"}
			}
		}
	}
	return server.Readiness{Status: server.Ready}
}

// overloadMetrics export the overload controller's state:
// otpbox_overload_active, otpbox_overload_limit,
// otpbox_overload_refused_total and
// otpbox_overload_sched_latency_p99_seconds.
func overloadMetrics(stats func() overload.Stats) []prometheus.Collector {
	gauge := func(name, help string, f func(overload.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(stats()) })
	}
	return []prometheus.Collector{
		gauge("otpbox_overload_active", "1 while the node refuses part of its new work because its CPU is saturated (--overload-latency), else 0.",
			func(s overload.Stats) float64 {
				if s.Overloaded {
					return 1
				}
				return 0
			}),
		gauge("otpbox_overload_limit", "Sandbox calls in progress beyond which new work is refused while overloaded (0: not overloaded).",
			func(s overload.Stats) float64 { return float64(s.Limit) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "otpbox_overload_refused_total",
			Help: "Requests of new work refused with 429 overloaded because the node's CPU was saturated."},
			func() float64 { return float64(stats().Shed) }),
		gauge("otpbox_overload_sched_latency_p99_seconds", "p99 of the Go scheduling latency in the overload controller's last window (50 ms).",
			func(s overload.Stats) float64 { return s.SchedP99.Seconds() }),
	}
}
