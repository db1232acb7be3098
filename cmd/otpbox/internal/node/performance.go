package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/actors/scalability"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/supervision"
)

// nodeMembership is the node's membership as the performance actors see
// it: Consul's once the sandbox host joined a cluster, else this node
// alone with its current load.
type nodeMembership struct {
	self   string
	host   *SandboxHost // nil with a test host
	slots  int
	memCap uint64 // memoryCapacity of the configured memory_limit, read once
	zone   string
}

var _ cluster.Membership = (*nodeMembership)(nil)

func newNodeMembership(cfg Config, host Host) *nodeMembership {
	m := &nodeMembership{self: cfg.Node, slots: int(cfg.MaxConnectionsPerNode), zone: cfg.Zone}
	if sh, ok := host.(*SandboxHost); ok {
		m.host, m.memCap = sh, sh.member.memCap // read once, by the host
	} else {
		m.memCap = memoryCapacity(uint64(cfg.MemoryLimit))
	}
	return m
}

func (m *nodeMembership) consul() cluster.Membership {
	if m.host == nil {
		return nil
	}
	return m.host.Membership()
}

// Self implements cluster.Membership.
func (m *nodeMembership) Self() string { return m.self }

// Members implements cluster.Membership.
func (m *nodeMembership) Members() []cluster.Member {
	if c := m.consul(); c != nil {
		return c.Members()
	}
	me := cluster.Member{Name: m.self, Health: cluster.Passing, Zone: m.zone,
		Capacity: cluster.Capacity{Slots: m.slots, MemoryBytes: m.memCap, CPUs: cpus()}}
	if m.host != nil {
		me.Load = m.host.load()
	}
	return []cluster.Member{me}
}

// Subscribe implements cluster.Membership; a single node has no events.
func (m *nodeMembership) Subscribe(fn func(cluster.Event)) func() {
	if c := m.consul(); c != nil {
		return c.Subscribe(fn)
	}
	return func() {}
}

// leads reports whether this node leads the cluster's rebalancing: it is
// the alive member with the smallest name.
func (m *nodeMembership) leads() bool {
	for _, mem := range m.Members() { // sorted by name
		if mem.Alive() {
			return mem.Name == m.self
		}
	}
	return true
}

// cacheLive is the cache's L2 membership: the alive members' owner
// actors; nil (this node alone) until the member joined.
func (m *nodeMembership) cacheLive() []string {
	c := m.consul()
	if c == nil {
		return nil
	}
	members := c.Members
	if p, ok := c.(interface{ Peers() []cluster.Member }); ok {
		members = p.Peers // the loads are not needed here
	}
	var ids []string
	for _, mem := range members() {
		if mem.Alive() && mem.Address != "" {
			ids = append(ids, cache.MemberID(mem.Address, ""))
		}
	}
	return ids
}

// lazyMigrator is the sandbox manager's migration, once the host runs.
type lazyMigrator struct{ host *SandboxHost }

func (l lazyMigrator) get() (cluster.Migrator, error) {
	if m := l.host.Manager(); m != nil {
		return m.Migrator(), nil
	}
	return nil, errNotRunning
}

func (l lazyMigrator) Placed(ctx context.Context, node string) ([]string, error) {
	m, err := l.get()
	if err != nil {
		return nil, err
	}
	return m.Placed(ctx, node)
}

func (l lazyMigrator) Migrate(ctx context.Context, id, node string) error {
	m, err := l.get()
	if err != nil {
		return err
	}
	return m.Migrate(ctx, id, node)
}

func (l lazyMigrator) Drain(ctx context.Context, node string) error {
	m, err := l.get()
	if err != nil {
		return err
	}
	return m.Drain(ctx, node)
}

// startPerformance builds the LoadBalancer's balancer (the placer of new
// sandboxes) and the ScalabilityManager's provider from cfg.
func (n *Node) startPerformance(cfg Config, host Host, reg prometheus.Registerer) error {
	strategy, err := loadbalancer.ParseStrategy(cfg.LoadBalancingStrategy)
	if err != nil {
		return err
	}
	rebalance := cfg.RebalancingEnabled.Value()
	b, err := loadbalancer.NewBalancer(loadbalancer.Config{Strategy: strategy,
		HealthCheckInterval: cfg.HealthCheckInterval.Duration, RebalancingEnabled: &rebalance})
	if err != nil {
		return err
	}
	if err := reg.Register(b.Metrics().Collector()); err != nil {
		return fmt.Errorf("load balancer metrics: %w", err)
	}
	n.balancer = b
	if err := reg.Register(membersCollector{n.members}); err != nil {
		return fmt.Errorf("membership metrics: %w", err)
	}
	if sh, ok := host.(*SandboxHost); ok {
		sh.placer = placing{Placer: b, n: n}
	}
	switch cfg.ScalingProvider {
	case "process":
		bin, err := os.Executable()
		if err != nil {
			return fmt.Errorf("scaling provider: %w", err)
		}
		p, err := scalability.NewProcessProvider(scalability.ProcessConfig{
			Binary: bin, Consul: cfg.Consul, Cluster: cfg.Cluster, Redis: cfg.Redis,
			BaseDir:    filepath.Join(cfg.DataDir, "scaled"),
			NamePrefix: cfg.Node,
			// The nodes it starts serve; they do not scale the cluster
			// themselves (flags beat this node's OTPBOX_* variables).
			ExtraArgs: []string{"--scaling-provider", "none", "--consul-ttl", cfg.ConsulTTL.String(),
				"--drain-timeout", cfg.DrainTimeout.String(),
				"--max-connections-per-node", cfg.MaxConnectionsPerNode.String(),
				"--load-balancing-strategy", cfg.LoadBalancingStrategy},
			Logger:      n.log.With("component", "scaling"),
			StopTimeout: cfg.DrainTimeout.Duration + 10*time.Second,
		})
		if err != nil {
			return fmt.Errorf("scaling provider: %w", err)
		}
		n.scaling, n.closeScaling = p, p.Close
	case "command":
		p, err := scalability.NewCommandProvider(scalability.CommandConfig{Command: strings.Fields(cfg.ScalingCommand)})
		if err != nil {
			return fmt.Errorf("scaling provider: %w", err)
		}
		n.scaling = p
	}
	return nil
}

// scalingConfig is the ScalabilityManager's policy from the node's
// configuration.
func (c Config) scalingConfig() scalability.Config {
	sc := scalability.DefaultConfig()
	sc.AutoScalingEnabled = c.AutoScalingEnabled.Value()
	sc.MinNodes, sc.MaxNodes = int(c.MinNodes), int(c.MaxNodes)
	sc.ScaleOutThreshold, sc.ScaleInThreshold = float64(c.ScaleOutThreshold), float64(c.ScaleInThreshold)
	sc.ImmediateThreshold = max(sc.ImmediateThreshold, sc.ScaleOutThreshold)
	sc.CheckInterval = c.ScalingInterval.Duration
	sc.Cooldown = c.ScalingCooldown.Duration
	sc.DrainTimeout = max(sc.DrainTimeout, c.DrainTimeout.Duration)
	sc.Self = c.Node
	// Every node may run the same command provider; only the leader acts.
	// A process provider acts only on the node configured with it.
	sc.LeaderOnly = c.ScalingProvider == "command"
	return sc
}

// performanceChildren are the LoadBalancer and the ScalabilityManager,
// after the sandbox host in the node's tree.
func (n *Node) performanceChildren() []supervision.ChildSpec {
	var migrator cluster.Migrator
	if n.members.host != nil {
		migrator = lazyMigrator{n.members.host}
	}
	deps := scalability.Deps{Membership: n.members, Migrator: migrator, Registerer: n.registry,
		Zone: func(m cluster.Member) string { return m.Zone }}
	if n.scaling != nil {
		deps.Provider = n.scaling
	}
	return []supervision.ChildSpec{
		loadbalancer.ChildSpec(n.balancer, loadbalancer.Deps{Membership: n.members, Migrator: migrator, Leader: n.members.leads}),
		scalability.ChildSpec(deps, n.cfg.scalingConfig()),
	}
}

// nodeStatus is GET /v1/cluster/status: the ScalabilityManager's status
// with the sandboxes counted by state.
type nodeStatus struct {
	*scalability.ClusterStatus
	Sandboxes server.SandboxCounts `json:"sandboxes"`
}

// child returns the pid of the running child id of the node's tree.
func (n *Node) child(id string) (*actor.PID, error) {
	app := n.App()
	if app == nil {
		return nil, fmt.Errorf("%w: the node is starting", server.ErrUnavailable)
	}
	return app.Whereis(id), nil
}

// clusterView answers the API's cluster endpoints from the membership, the
// ScalabilityManager and the LoadBalancer; nil with a test host.
func (n *Node) clusterView(host Host) *server.ClusterView {
	sh, ok := host.(*SandboxHost)
	if !ok {
		return nil
	}
	var drain func(context.Context, string) (int, error)
	if n.cfg.Consul != "" { // a node that runs alone has nowhere to drain to: 501
		drain = func(ctx context.Context, node string) (int, error) {
			moved, err := sh.DrainNode(ctx, node)
			if err == nil {
				n.publish(server.NodeEvent{Type: "drain", Node: node, Moved: moved})
			}
			return moved, err
		}
	}
	return &server.ClusterView{
		Members:    n.members.Members,
		Drain:      drain,
		LoadSource: sh.LoadSource,
		Warnings:   sh.AgentWarnings,
		Status: func(ctx context.Context) (any, error) {
			pid, err := n.child(scalability.ChildID)
			if err != nil {
				return nil, err
			}
			st, err := scalability.NewClient(n.system.Root, pid).GetClusterStatus(ctx)
			if err != nil {
				return nil, err
			}
			// The store knows every sandbox; the members their active ones.
			active, rest := sh.SandboxCounts()
			total := active + rest
			if n.cfg.Consul != "" {
				active = min(st.Sandboxes, total)
			}
			return nodeStatus{ClusterStatus: st, Sandboxes: server.SandboxCounts{Active: active, Passivated: total - active}}, nil
		},
		Scaling: func(ctx context.Context) (any, error) {
			pid, err := n.child(scalability.ChildID)
			if err != nil {
				return nil, err
			}
			return scalability.NewClient(n.system.Root, pid).History(ctx)
		},
		Rebalance: func(ctx context.Context) (any, error) {
			pid, err := n.child(loadbalancer.ChildID)
			if err != nil {
				return nil, err
			}
			round, err := loadbalancer.NewClient(n.system.Root, pid).TriggerRebalancing(ctx)
			if err == nil {
				n.publish(server.NodeEvent{Type: "rebalance", Moves: round})
			}
			return round, err
		},
		OptimalNode: func(ctx context.Context, req server.NodeRequirements) (string, error) {
			pid, err := n.child(scalability.ChildID)
			if err != nil {
				return "", err
			}
			node, err := scalability.NewClient(n.system.Root, pid).GetOptimalNodeForSandbox(ctx,
				scalability.Requirements{MemoryBytes: req.MemoryBytes, CPU: req.CPU, Locality: req.Locality})
			if errors.Is(err, scalability.ErrNoSuitableNode) {
				return "", fmt.Errorf("%w: %v", server.ErrUnavailable, err)
			}
			return node, err
		},
		Load: func(ctx context.Context) (any, error) {
			pid, err := n.child(loadbalancer.ChildID)
			if err != nil {
				return nil, err
			}
			return loadbalancer.NewClient(n.system.Root, pid).GetLoadDistribution(ctx)
		},
	}
}

// membersDesc is otpbox_cluster_members.
var membersDesc = prometheus.NewDesc("otpbox_cluster_members",
	"Cluster members by Consul health (a single node counts itself passing).", []string{"health"}, nil)

// membersCollector counts the members by health at scrape time.
type membersCollector struct{ m *nodeMembership }

func (c membersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- membersDesc }

func (c membersCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[cluster.Health]int{cluster.Passing: 0, cluster.Warning: 0, cluster.Critical: 0}
	for _, m := range c.m.Members() {
		counts[m.Health]++
	}
	for h, n := range counts {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(n), string(h))
	}
}
