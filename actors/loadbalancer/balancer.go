package loadbalancer

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otpbox/otpbox/cluster"
)

// Balancer is the load balancer's core: the per-node metrics and health,
// the current strategy, and the placement and rebalancing that use them.
// It implements cluster.Placer, so the cluster can place activations with
// it directly, without a round-trip to the actor.
//
// A Balancer is safe for concurrent use. One mutex protects its state; a
// placement holds it for one pass over the candidates (O(n), no
// allocation). Rebalance also takes a second mutex, roundMu, which
// serialises rounds: it is taken before mu, never by a placement, and it is
// the only lock held while the Migrator is called.
type Balancer struct {
	roundMu sync.Mutex // serialises Rebalance rounds; taken before mu

	mu        sync.Mutex // protects every field below
	cfg       Config     // with defaults; Strategy and RebalancingEnabled are the current ones
	nodes     map[string]*node
	order     []*node  // nodes, sorted by name
	scratch   []*node  // eligible nodes of the pick in progress
	lastNames []string // names of the last candidates Place resolved …
	lastNodes []*node  // … and their nodes
	rr        uint64   // round-robin position
	tie       uint64   // rotating start of the tie-breaks
	gen       uint64   // pick generation, for node.skipped
	lastRound time.Time

	metrics *Metrics
}

var _ cluster.Placer = (*Balancer)(nil)

// NewBalancer returns a balancer configured by cfg, which knows no node
// yet. An invalid cfg gives a *ConfigError.
func NewBalancer(cfg Config) (*Balancer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.RebalancingEnabled = new(*cfg.RebalancingEnabled) // ours, not the caller's
	return &Balancer{cfg: cfg, nodes: make(map[string]*node), metrics: newMetrics()}, nil
}

// Config returns the balancer's configuration with its defaults filled in
// and the current strategy and rebalancing switch.
func (b *Balancer) Config() Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cfg
	c.RebalancingEnabled = new(*b.cfg.RebalancingEnabled)
	return c
}

// Metrics returns the balancer's prometheus metrics.
func (b *Balancer) Metrics() *Metrics { return b.metrics }

// Strategy returns the current strategy.
func (b *Balancer) Strategy() Strategy {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg.Strategy
}

// SetStrategy switches the strategy for the next placements; an unknown
// one gives an error wrapping ErrUnknownStrategy. Switching restarts the
// weighted round-robin sequence.
func (b *Balancer) SetStrategy(s Strategy) error {
	if !s.Valid() {
		_, err := ParseStrategy(string(s))
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Strategy != s {
		b.cfg.Strategy = s
		for _, n := range b.order {
			n.current = 0
		}
	}
	return nil
}

// SetRebalancing switches rebalancing on or off (Config.RebalancingEnabled).
func (b *Balancer) SetRebalancing(enabled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.cfg.RebalancingEnabled = enabled
}

// Report records node's current load (the design's report_node_metrics):
// it replaces the last report and the placements and moves counted since.
// An unknown node is added with unknown health: it takes part in Place
// when a caller offers it, but not in Best until NodeUp or a membership
// event says it is up.
func (b *Balancer) Report(node string, l cluster.Load) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.get(node).setLoad(l, b.cfg.Clock())
}

// Update records a member as membership reports it (node_up, node_updated
// and node_down events): its health, capacity (unless zero) and load. It
// returns the health change, or nil.
func (b *Balancer) Update(m cluster.Member) *HealthChanged {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.update(m, false)
}

// NodeUp is the design's node_up: the node is up, with m.Health (default
// passing), and takes placements again. Its capacity and load are replaced
// unless zero in m (so NodeUp(cluster.Member{Name: n}) keeps the last
// report). It returns the health change, or nil.
func (b *Balancer) NodeUp(m cluster.Member) *HealthChanged {
	if m.Health == "" {
		m.Health = cluster.Passing
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.get(m.Name)
	if m.Capacity != (cluster.Capacity{}) {
		n.capacity = m.Capacity
	}
	if m.Load != (cluster.Load{}) {
		n.setLoad(m.Load, b.cfg.Clock())
	}
	return b.setHealth(n, m.Health)
}

// NodeDown is the design's node_down: the node takes no more placements
// and its load leaves the spread; its metrics are kept. It returns the
// health change, or nil.
func (b *Balancer) NodeDown(node string) *HealthChanged {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.setHealth(b.get(node), cluster.Critical)
}

// Forget drops everything known about node and returns the health change
// (to ""), or nil if the node was unknown or its health was.
func (b *Balancer) Forget(node string) *HealthChanged {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.forget(node)
}

// Sync reconciles the balancer with a membership's full list (Members), to
// repair missed events: of every listed member, what changed since the
// membership last reported it is applied (so a newer report, NodeUp or
// NodeDown stands, and the placements counted since the last report are
// kept), and nodes learned from membership that it no longer lists are
// forgotten. It returns the health changes.
func (b *Balancer) Sync(members []cluster.Member) []*HealthChanged {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sync(members)
}

// The lower-case variants below need mu held.

// update applies a member from membership. In a sync, only what the
// membership changed since it was last seen is applied, so that a sync
// repairs missed events without undoing a newer ReportNodeMetrics, NodeUp
// or NodeDown, nor the placements counted since the last report.
func (b *Balancer) update(m cluster.Member, sync bool) *HealthChanged {
	n := b.get(m.Name)
	first := !n.fromMembership
	n.fromMembership = true
	if m.Capacity != (cluster.Capacity{}) {
		n.capacity = m.Capacity
	}
	if !sync || first || n.memberLoad != m.Load {
		n.setLoad(m.Load, b.cfg.Clock())
	}
	n.memberLoad = m.Load
	if !sync || first || n.memberHealth != m.Health {
		n.memberHealth = m.Health
		return b.setHealth(n, m.Health)
	}
	return nil
}

func (b *Balancer) setHealth(n *node, h cluster.Health) *HealthChanged {
	if n.health == h {
		return nil
	}
	c := &HealthChanged{Node: n.name, From: n.health, To: h, At: b.cfg.Clock()}
	n.health, n.passing = h, h == cluster.Passing
	return c
}

func (b *Balancer) sync(members []cluster.Member) []*HealthChanged {
	var changes []*HealthChanged
	listed := make(map[string]bool, len(members))
	for _, m := range members {
		listed[m.Name] = true
		if c := b.update(m, true); c != nil {
			changes = append(changes, c)
		}
	}
	for _, n := range slices.Clone(b.order) {
		if n.fromMembership && !listed[n.name] {
			if c := b.forget(n.name); c != nil {
				changes = append(changes, c)
			}
		}
	}
	return changes
}

func (b *Balancer) forget(name string) *HealthChanged {
	n, ok := b.nodes[name]
	if !ok {
		return nil
	}
	c := b.setHealth(n, "")
	delete(b.nodes, name)
	b.lastNames, b.lastNodes = b.lastNames[:0], b.lastNodes[:0]
	i, _ := slices.BinarySearchFunc(b.order, name, byName)
	b.order = slices.Delete(b.order, i, i+1)
	b.metrics.forget(name)
	return c
}

// get returns the node called name, adding it if it is unknown.
func (b *Balancer) get(name string) *node {
	if n, ok := b.nodes[name]; ok {
		return n
	}
	n := &node{name: name, hash: fnv1a64(name), placements: b.metrics.placements.WithLabelValues(name)}
	b.nodes[name] = n
	i, _ := slices.BinarySearchFunc(b.order, name, byName)
	b.order = slices.Insert(b.order, i, n)
	return n
}

func byName(n *node, name string) int { return strings.Compare(n.name, name) }
