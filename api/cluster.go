package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// SandboxCounts counts sandboxes by state.
type SandboxCounts struct {
	Active     int `json:"active"`
	Passivated int `json:"passivated"`
}

// Utilization is the cluster's use of each resource over its serving
// members, each in 0..1.
type Utilization struct {
	Sandboxes float64 `json:"sandboxes"`
	Memory    float64 `json:"memory"`
	CPU       float64 `json:"cpu"`
}

// ClusterStatus is the ScalabilityManager's view of the cluster (GET
// /v1/cluster/status). Serving members are the alive members that are
// not draining; TotalCapacity (sandbox slots) and the utilization are
// over them. CurrentUtilization is the largest of Utilization's figures.
type ClusterStatus struct {
	TotalNodes         int                `json:"total_nodes"`
	ActiveNodes        int                `json:"active_nodes"`
	DrainingNodes      int                `json:"draining_nodes"`
	TotalCapacity      int                `json:"total_capacity"`
	CurrentUtilization float64            `json:"current_utilization"`
	Utilization        Utilization        `json:"utilization"`
	PendingOperations  []ScalingOperation `json:"pending_operations"`
	// LastScaleAction is when the last scaling operation finished (zero:
	// none yet).
	LastScaleAction    time.Time     `json:"last_scale_action,omitzero"`
	Leader             string        `json:"leader"`
	Self               string        `json:"self"`
	AutoScalingEnabled bool          `json:"auto_scaling_enabled"`
	Sandboxes          SandboxCounts `json:"sandboxes"`
}

// ScalingOperation is one scale-out or scale-in. Kind is "scale_out" or
// "scale_in"; State "running", "succeeded" or "failed".
type ScalingOperation struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// Count is the number of nodes to add or remove.
	Count int `json:"count"`
	// Nodes are the nodes chosen for removal (scale-in) or added
	// (scale-out); Removed the nodes a scale-in removed so far.
	Nodes      []string  `json:"nodes,omitempty"`
	Removed    []string  `json:"removed,omitempty"`
	State      string    `json:"state"`
	Phase      string    `json:"phase,omitempty"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Capacity is what a member offers: sandbox slots (0: unbounded), its
// memory limit and its CPUs.
type Capacity struct {
	Slots       int    `json:"slots"`
	MemoryBytes uint64 `json:"memory_bytes"`
	CPUs        int    `json:"cpus"`
}

// MemberLoad is a member's state as its last heartbeat reported it.
type MemberLoad struct {
	Sandboxes   int     `json:"sandboxes"`
	Passivated  int     `json:"passivated"`
	Mailbox     int     `json:"mailbox"`
	MemoryBytes uint64  `json:"memory_bytes"`
	Memory      float64 `json:"memory"`
	CPU         float64 `json:"cpu"`
	LatencyMS   float64 `json:"latency_ms"`
	Draining    bool    `json:"draining"`
}

// NodeStatus is one member in GET /v1/cluster/nodes. Status is "alive",
// "leaving" (draining) or "down"; Health is Consul's ("passing",
// "warning", "critical").
type NodeStatus struct {
	Name      string        `json:"name"`
	Address   string        `json:"address"`
	API       string        `json:"api,omitempty"`
	Status    string        `json:"status"`
	Health    string        `json:"health"`
	Self      bool          `json:"self"`
	Sandboxes SandboxCounts `json:"sandboxes"`
	// Capacity and Load are known for cluster members.
	Capacity *Capacity   `json:"capacity,omitempty"`
	Load     *MemberLoad `json:"load,omitempty"`
	// LoadSource says where Load comes from: "direct" (sent by the member
	// itself, at most a few heartbeats old, LoadAgeMS ago), "self", or
	// "consul" (Consul's catalog, which an agent may update only every
	// check_update_interval).
	LoadSource string `json:"load_source,omitempty"`
	LoadAgeMS  int64  `json:"load_age_ms,omitempty"`
	// Breakers are the node's circuit breakers in front of this member
	// ("member/<name>"), or, on the entry of the node asked, in front of
	// its own dependencies ("store", "cache_l3").
	Breakers []BreakerStatus `json:"breakers,omitempty"`
}

// BreakerStatus is a circuit breaker's state: "closed" (calls go
// through), "open" (calls fail fast with 503 circuit_open) or
// "half_open" (a probe goes through).
type BreakerStatus struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Failures uint32    `json:"consecutive_failures"`
	OpenedAt time.Time `json:"opened_at,omitzero"`
	Rejected uint64    `json:"rejected"`
}

// NodeList is the body of GET /v1/cluster/nodes. Warnings say what makes
// the view less fresh than it should be (a Consul agent's settings).
type NodeList struct {
	Nodes    []NodeStatus `json:"nodes"`
	Warnings []string     `json:"warnings,omitempty"`
}

// NodeLoad is one member in the LoadBalancer's distribution.
type NodeLoad struct {
	Node string `json:"node"`
	// Health is the member's, as the membership last said.
	Health string `json:"health"`
	// Accepts: passing and not draining; only such members take new
	// sandboxes.
	Accepts bool `json:"accepts"`
	// Sandboxes is the LoadBalancer's estimate; Weight the member's
	// capacity weight; Load is Sandboxes / Weight.
	Sandboxes int     `json:"sandboxes"`
	Weight    int     `json:"weight"`
	Load      float64 `json:"load"`
	// Share is the member's fraction of the sandboxes of the accepting
	// members; Percentage is Share × 100.
	Share      float64    `json:"share"`
	Percentage float64    `json:"percentage"`
	Placed     uint64     `json:"placed"`
	Capacity   Capacity   `json:"capacity"`
	Metrics    MemberLoad `json:"metrics"`
	ReportedAt time.Time  `json:"reported_at,omitzero"`
}

// LoadDistribution is the LoadBalancer's view (GET /v1/cluster/load).
// Spread is (max − min) / max of the sandboxes per weight of the
// accepting members; rebalancing runs above Threshold.
type LoadDistribution struct {
	Strategy  string     `json:"strategy"`
	Nodes     []NodeLoad `json:"nodes"`
	Spread    float64    `json:"spread"`
	Threshold float64    `json:"threshold"`
	At        time.Time  `json:"at,omitzero"`
}

// DrainResult is the answer of POST /v1/cluster/nodes/{node}/drain.
type DrainResult struct {
	Node  string `json:"node"`
	Moved int    `json:"moved"`
}

// Move is one sandbox migrated by rebalancing.
type Move struct {
	Identity string `json:"identity"`
	From     string `json:"from"`
	To       string `json:"to"`
}

// RebalanceResult is a rebalancing round (POST /v1/cluster/rebalance).
// Skipped says why nothing moved ("disabled", "cooldown", "balanced",
// "not_leader", …; "" when moves were attempted).
type RebalanceResult struct {
	Moves        []Move    `json:"moves"`
	Failures     []Move    `json:"failures"`
	SpreadBefore float64   `json:"spread_before"`
	SpreadAfter  float64   `json:"spread_after"`
	Skipped      string    `json:"skipped,omitempty"`
	At           time.Time `json:"at,omitzero"`
}

// NodeRequirements is what a sandbox needs of the member that hosts it,
// for Cluster.OptimalNode; zero fields ask nothing.
type NodeRequirements struct {
	MemoryBytes uint64  `json:"memory_bytes"`
	CPU         float64 `json:"cpu"`
	// Locality prefers the member with this name or zone.
	Locality string `json:"locality"`
}

// Cluster is the /v1/cluster endpoints. A single node is a cluster of
// one: they describe it alone. It is safe for concurrent use.
type Cluster struct{ c *Client }

// Cluster returns the cluster endpoints.
func (c *Client) Cluster() *Cluster { return &Cluster{c} }

// Status returns the ScalabilityManager's cluster status.
func (cl *Cluster) Status(ctx context.Context) (*ClusterStatus, error) {
	var st ClusterStatus
	err := cl.c.call(ctx, request{method: http.MethodGet, path: "/v1/cluster/status"}, &st)
	return result(&st, err)
}

// Nodes lists the members with their health, capacity and load.
func (cl *Cluster) Nodes(ctx context.Context) ([]NodeStatus, error) {
	var l NodeList
	err := cl.c.call(ctx, request{method: http.MethodGet, path: "/v1/cluster/nodes"}, &l)
	return l.Nodes, err
}

// Load returns the LoadBalancer's load distribution.
func (cl *Cluster) Load(ctx context.Context) (*LoadDistribution, error) {
	var d LoadDistribution
	err := cl.c.call(ctx, request{method: http.MethodGet, path: "/v1/cluster/load"}, &d)
	return result(&d, err)
}

// Scaling returns the ScalabilityManager's recent operations, oldest
// first (501 ErrNotImplemented on a node without one).
func (cl *Cluster) Scaling(ctx context.Context) ([]ScalingOperation, error) {
	var out struct {
		Operations []ScalingOperation `json:"operations"`
	}
	err := cl.c.call(ctx, request{method: http.MethodGet, path: "/v1/cluster/scaling"}, &out)
	return out.Operations, err
}

// Drain moves every sandbox of node to the other members and marks node
// draining. It fails with ErrUnknownNode for a node that is not a member
// and ErrNotImplemented on a node that runs alone.
func (cl *Cluster) Drain(ctx context.Context, node string) (*DrainResult, error) {
	var r DrainResult
	err := cl.c.call(ctx, request{method: http.MethodPost, path: "/v1/cluster/nodes/" + url.PathEscape(node) + "/drain"}, &r)
	return result(&r, err)
}

// Rebalance runs a rebalancing round of the LoadBalancer now.
func (cl *Cluster) Rebalance(ctx context.Context) (*RebalanceResult, error) {
	var r RebalanceResult
	err := cl.c.call(ctx, request{method: http.MethodPost, path: "/v1/cluster/rebalance"}, &r)
	return result(&r, err)
}

// OptimalNode returns the member the ScalabilityManager would place a
// sandbox with req on; it fails with ErrUnavailable when none fits.
func (cl *Cluster) OptimalNode(ctx context.Context, req NodeRequirements) (string, error) {
	var out struct {
		Node string `json:"node"`
	}
	err := cl.c.call(ctx, request{method: http.MethodPost, path: "/v1/cluster/optimal-node", body: req}, &out)
	return out.Node, err
}
