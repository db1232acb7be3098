package loadbalancer

import (
	"time"

	"github.com/otpbox/otpbox/cluster"
)

// message seals the load balancer's vocabulary. Messages are local Go
// values: they do not cross nodes.
type message interface{ isLoadBalancerMessage() }

// ReportNodeMetrics records a node's load (design: report_node_metrics, a
// cast: no reply). If the spread then exceeds the threshold, a rebalancing
// round follows (cooldown permitting).
type ReportNodeMetrics struct {
	Node    string
	Metrics cluster.Load
}

// GetBestNode asks for the node to place Key on (design: get_best_node);
// the reply is *BestNode. The placement is counted on the node.
type GetBestNode struct{ Key string }

// BestNode answers GetBestNode: Node, or Err wrapping ErrNoNodes.
type BestNode struct {
	Node string
	Err  error
}

// GetLoadDistribution asks for the load distribution (design:
// get_load_distribution); the reply is *Distribution.
type GetLoadDistribution struct{}

// Distribution answers GetLoadDistribution.
type Distribution struct {
	Strategy Strategy `json:"strategy"`
	// Nodes are every known node, by name.
	Nodes []NodeLoad `json:"nodes"`
	// Spread is the load spread among the alive, non-draining nodes:
	// (max − min) / max of their sandboxes per weight (NodeLoad.Load), in
	// [0, 1]; 0 with fewer than two such nodes or no sandboxes. 0.3 means
	// the least loaded node carries 70% of the most loaded one's load per
	// unit of capacity.
	Spread float64 `json:"spread"`
	// Threshold is the spread above which rebalancing runs.
	Threshold float64   `json:"threshold"`
	At        time.Time `json:"at"`
}

// NodeLoad is one node of a Distribution.
type NodeLoad struct {
	Node string `json:"node"`
	// Health is what membership, NodeUp or NodeDown last said; "" if
	// nothing did yet.
	Health cluster.Health `json:"health"`
	// Accepts: passing and not draining; only such nodes take placements
	// and rebalanced sandboxes.
	Accepts bool `json:"accepts"`
	// Sandboxes is the estimate: the last report's plus placements and
	// rebalancing moves since.
	Sandboxes int `json:"sandboxes"`
	// Weight is the capacity weight: Capacity.Slots, else CPUs, else 1.
	Weight int `json:"weight"`
	// Load is Sandboxes / Weight.
	Load float64 `json:"load"`
	// Share is this node's fraction of the sandboxes of the alive,
	// non-draining nodes (0 for others); Percentage is Share × 100, the
	// design's field.
	Share      float64 `json:"share"`
	Percentage float64 `json:"percentage"`
	// Placed counts the placements on the node since the balancer started.
	Placed     uint64           `json:"placed"`
	Capacity   cluster.Capacity `json:"capacity"`
	Metrics    cluster.Load     `json:"metrics"`
	ReportedAt time.Time        `json:"reported_at"`
}

// TriggerRebalancing asks for a rebalancing round now (design:
// trigger_rebalancing). Sent with Request the reply is *Rebalanced; sent
// with Send it is a cast.
type TriggerRebalancing struct{}

// SkipReason says why a rebalancing round moved nothing.
type SkipReason string

// Skip reasons.
const (
	SkipDisabled   SkipReason = "disabled"    // rebalancing is switched off
	SkipCooldown   SkipReason = "cooldown"    // the last round was too recent
	SkipBalanced   SkipReason = "balanced"    // the spread is within the threshold
	SkipNoMigrator SkipReason = "no_migrator" // no Migrator to move sandboxes with
	SkipNoMove     SkipReason = "no_move"     // no sandbox could usefully move
	SkipNotLeader  SkipReason = "not_leader"  // another member leads rebalancing
)

// String returns the reason.
func (r SkipReason) String() string { return string(r) }

// Rebalanced answers TriggerRebalancing, and is published on the actor
// system's EventStream after every round that attempted a move.
type Rebalanced struct {
	// Moves are the sandboxes migrated, in order.
	Moves []Move `json:"moves"`
	// Failures are the migrations (or listings) that failed.
	Failures []MoveFailure `json:"failures"`
	// SpreadBefore and SpreadAfter are the spread at the start and end of
	// the round.
	SpreadBefore float64 `json:"spread_before"`
	SpreadAfter  float64 `json:"spread_after"`
	// Skipped is why no round ran (or why it moved nothing); "" if it
	// attempted moves.
	Skipped SkipReason `json:"skipped,omitempty"`
	At      time.Time  `json:"at"`
}

// Move is one sandbox migrated by rebalancing.
type Move struct {
	Identity string `json:"identity"`
	From     string `json:"from"`
	To       string `json:"to"`
}

// MoveFailure is a migration that failed; a failed listing of a node's
// sandboxes has only From.
type MoveFailure struct {
	Move
	Err error `json:"-"`
}

// SetStrategy switches the placement strategy; the reply is *Done (Err
// wraps ErrUnknownStrategy for an unknown one).
type SetStrategy struct{ Strategy Strategy }

// SetRebalancing switches rebalancing on or off; the reply is *Done.
type SetRebalancing struct{ Enabled bool }

// NodeUp says Member is up (design: node_up): it takes placements again,
// with its capacity and load. Health defaults to passing. The reply is
// *Done; sent with Send it is a cast. With a Membership, the membership's
// next change of the node's health supersedes it.
type NodeUp struct{ Member cluster.Member }

// NodeDown says a node is down (design: node_down): it takes no more
// placements and its load leaves the spread; its metrics are kept. A
// rebalancing check follows. The reply is *Done; sent with Send it is a
// cast. With a Membership, the membership's next change of the node's
// health supersedes it.
type NodeDown struct{ Node string }

// MembershipEvent carries an event of Deps.Membership to the actor, which
// subscribes on start: node_up and node_updated update the node,
// node_down marks it down.
type MembershipEvent struct{ Event cluster.Event }

// Tick is the periodic health check the actor sends itself every
// HealthCheckInterval: it reconciles the nodes with the membership's
// member list, refreshes the gauges and rebalances if needed.
type Tick struct{}

// Done answers commands that have no result; Err is nil on success.
type Done struct{ Err error }

// HealthChanged is published on the actor system's EventStream when the
// actor learns that a node's health changed. To is "" when the node was
// forgotten (it left the membership).
type HealthChanged struct {
	Node string         `json:"node"`
	From cluster.Health `json:"from"`
	To   cluster.Health `json:"to"`
	At   time.Time      `json:"at"`
}

func (*ReportNodeMetrics) isLoadBalancerMessage()   {}
func (*GetBestNode) isLoadBalancerMessage()         {}
func (*BestNode) isLoadBalancerMessage()            {}
func (*GetLoadDistribution) isLoadBalancerMessage() {}
func (*Distribution) isLoadBalancerMessage()        {}
func (*TriggerRebalancing) isLoadBalancerMessage()  {}
func (*Rebalanced) isLoadBalancerMessage()          {}
func (*SetStrategy) isLoadBalancerMessage()         {}
func (*SetRebalancing) isLoadBalancerMessage()      {}
func (*NodeUp) isLoadBalancerMessage()              {}
func (*NodeDown) isLoadBalancerMessage()            {}
func (*MembershipEvent) isLoadBalancerMessage()     {}
func (*Tick) isLoadBalancerMessage()                {}
func (*Done) isLoadBalancerMessage()                {}
func (*HealthChanged) isLoadBalancerMessage()       {}

var _ = []message{(*ReportNodeMetrics)(nil), (*GetBestNode)(nil), (*BestNode)(nil),
	(*GetLoadDistribution)(nil), (*Distribution)(nil), (*TriggerRebalancing)(nil), (*Rebalanced)(nil),
	(*SetStrategy)(nil), (*SetRebalancing)(nil), (*NodeUp)(nil), (*NodeDown)(nil), (*MembershipEvent)(nil),
	(*Tick)(nil), (*Done)(nil), (*HealthChanged)(nil)}
