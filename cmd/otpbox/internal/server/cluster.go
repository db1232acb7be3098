package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/cluster"
)

// The cluster endpoints answer from the node's membership (Config.Cluster)
// when it is a cluster member, and for this node alone otherwise.

// ClusterView is what a cluster member's API reports and does. Members is
// required; a nil func answers from Members alone (Status, Load) or 501
// (Drain).
type ClusterView struct {
	// Members returns the members with their health, capacity and load.
	Members func() []cluster.Member
	// Drain moves every sandbox of node to the others and marks it
	// draining; it returns how many moved.
	Drain func(ctx context.Context, node string) (int, error)
	// Status is the ScalabilityManager's get_cluster_status (answered
	// as JSON, in the design's names).
	Status func(ctx context.Context) (any, error)
	// Load is the LoadBalancer's get_load_distribution.
	Load func(ctx context.Context) (any, error)
	// Scaling is the ScalabilityManager's recent operations, oldest
	// first, with their timings.
	Scaling func(ctx context.Context) (any, error)
	// Rebalance is the LoadBalancer's trigger_rebalancing.
	Rebalance func(ctx context.Context) (any, error)
	// OptimalNode is the ScalabilityManager's
	// get_optimal_node_for_sandbox.
	OptimalNode func(ctx context.Context, req NodeRequirements) (string, error)
	// LoadSource, when set, says where a member's load comes from and
	// how old it is (see NodeStatus.LoadSource).
	LoadSource func(node string) (source string, age time.Duration)
	// Warnings, when set, are shown with the nodes (a Consul agent whose
	// settings make the catalog's load stale).
	Warnings func() []string
}

// NodeRequirements is the body of POST /v1/cluster/optimal-node: what a
// sandbox needs from the member that hosts it.
type NodeRequirements struct {
	MemoryBytes uint64  `json:"memory_bytes"`
	CPU         float64 `json:"cpu"`
	Locality    string  `json:"locality"`
}

// DrainResult is the body of POST /v1/cluster/nodes/{node}/drain.
type DrainResult struct {
	Node  string `json:"node"`
	Moved int    `json:"moved"`
}

// SandboxCounts counts sandboxes by state.
type SandboxCounts struct {
	Active     int `json:"active"`
	Passivated int `json:"passivated"`
}

// ClusterStatus is the body of GET /v1/cluster/status, in the design's
// names. TotalCapacity is the sandbox slots of the alive members;
// CurrentUtilization their use, 0..1.
type ClusterStatus struct {
	TotalNodes         int                `json:"total_nodes"`
	ActiveNodes        int                `json:"active_nodes"`
	TotalCapacity      int                `json:"total_capacity"`
	CurrentUtilization float64            `json:"current_utilization"`
	PendingOperations  []PendingOperation `json:"pending_operations"`
	Sandboxes          SandboxCounts      `json:"sandboxes"`
}

// PendingOperation is a scaling operation in progress.
type PendingOperation struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Reason    string    `json:"reason,omitempty"`
	Count     int       `json:"count,omitempty"`
	Nodes     []string  `json:"nodes,omitempty"`
	State     string    `json:"state"`
	Phase     string    `json:"phase,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// NodeStatus is one member in GET /v1/cluster/nodes. Health is Consul's
// (passing, warning, critical); Status says alive, leaving (draining) or
// down.
type NodeStatus struct {
	Name      string            `json:"name"`
	Address   string            `json:"address"`
	API       string            `json:"api,omitempty"`
	Status    string            `json:"status"`
	Health    string            `json:"health"`
	Self      bool              `json:"self"`
	Sandboxes SandboxCounts     `json:"sandboxes"`
	Capacity  *cluster.Capacity `json:"capacity,omitempty"`
	Load      *cluster.Load     `json:"load,omitempty"`
	// LoadSource says where Load comes from: "direct" (sent by the member
	// itself, at most a few heartbeats old), "self" or "consul" (its
	// heartbeat's output in Consul's catalog, which an agent may update
	// only every check_update_interval); LoadAgeMS its age when known.
	LoadSource string `json:"load_source,omitempty"`
	LoadAgeMS  int64  `json:"load_age_ms,omitempty"`
	// Breakers are the circuit breakers of this node in front of the
	// member (a remote member's "member/<name>"), or of its own
	// dependencies on the self entry ("store", "cache_l3").
	Breakers []breaker.Status `json:"breakers,omitempty"`
}

// NodeList is the body of GET /v1/cluster/nodes. Warnings say what makes
// the view less fresh than it should be (a Consul agent's settings).
type NodeList struct {
	Nodes    []NodeStatus `json:"nodes"`
	Warnings []string     `json:"warnings,omitempty"`
}

// NodeLoad is one member in GET /v1/cluster/load. Load is the member's
// active sandboxes; Percentage its share of the cluster's load (0 when
// the cluster has none); Health its readiness.
type NodeLoad struct {
	Node       string  `json:"node"`
	Load       float64 `json:"load"`
	Percentage float64 `json:"percentage"`
	Health     string  `json:"health"`
}

// LoadDistribution is the body of GET /v1/cluster/load.
type LoadDistribution struct {
	Nodes []NodeLoad `json:"nodes"`
}

// countsTTL is how long the cluster endpoints reuse sandbox counts from
// the cache: counting lists the store. A mutating request forgets them,
// so only passivations by idleness can be up to countsTTL late. They are
// this node's, kept in its L1 only: forgetting them costs no round trip
// (it did cost a Redis DEL and a message to every member on each
// request, a tenth of a cluster member's CPU).
const countsTTL = time.Second

func (s *Server) countsKey() string { return "otpbox:cluster:counts:" + s.cfg.Node }

func (s *Server) forgetCounts() {
	if s.cfg.Cache != nil {
		s.cfg.Cache.InvalidateLocal(s.countsKey())
	}
}

func (s *Server) counts() SandboxCounts {
	load := func(context.Context) ([]byte, error) {
		a, p := s.cfg.Counts()
		return json.Marshal(SandboxCounts{Active: a, Passivated: p})
	}
	if s.cfg.Cache == nil {
		var c SandboxCounts
		b, _ := load(context.Background())
		_ = json.Unmarshal(b, &c)
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var c SandboxCounts
	b, err := s.cfg.Cache.GetOrLoad(ctx, s.countsKey(), load,
		cache.WithTTL(countsTTL), cache.InTier(cache.L1Tier))
	if err != nil || json.Unmarshal(b, &c) != nil {
		a, p := s.cfg.Counts()
		return SandboxCounts{Active: a, Passivated: p}
	}
	return c
}

// countFromList is the default Counts: it lists every sandbox. A failed
// list counts nothing.
func (s *Server) countFromList() (active, passivated int) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	infos, err := s.cfg.Sandboxes.List(ctx, Filter{})
	if err != nil {
		return 0, 0
	}
	for _, in := range infos {
		if in.State == Passivated {
			passivated++
		} else {
			active++
		}
	}
	return active, passivated
}

func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.Cluster
	if c == nil {
		writeJSON(w, http.StatusOK, ClusterStatus{TotalNodes: 1, ActiveNodes: 1, Sandboxes: s.counts(),
			PendingOperations: []PendingOperation{}})
		return
	}
	if c.Status != nil {
		st, err := c.Status(r.Context())
		s.answer(w, r, st, err)
		return
	}
	st := ClusterStatus{PendingOperations: []PendingOperation{}}
	used := 0
	for _, m := range c.Members() {
		st.TotalNodes++
		if m.Alive() {
			st.ActiveNodes++
			st.TotalCapacity += m.Capacity.Slots
			used += m.Load.Sandboxes
			st.Sandboxes.Active += m.Load.Sandboxes
		}
	}
	if st.TotalCapacity > 0 {
		st.CurrentUtilization = float64(used) / float64(st.TotalCapacity)
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) clusterNodes(w http.ResponseWriter, _ *http.Request) {
	if c := s.cfg.Cluster; c != nil {
		var out []NodeStatus
		for _, m := range c.Members() {
			status := "alive"
			switch {
			case !m.Alive():
				status = "down"
			case m.Load.Draining:
				status = "leaving"
			}
			capa, load := m.Capacity, m.Load
			ns := NodeStatus{Name: m.Name, Address: m.Address, API: m.API, Status: status,
				Health: string(m.Health), Self: m.Name == s.cfg.Node,
				Sandboxes: SandboxCounts{Active: m.Load.Sandboxes}, Capacity: &capa, Load: &load}
			if c.LoadSource != nil {
				src, age := c.LoadSource(m.Name)
				ns.LoadSource, ns.LoadAgeMS = src, age.Milliseconds()
			}
			if s.cfg.Breakers != nil {
				ns.Breakers = s.cfg.Breakers(m.Name)
			}
			out = append(out, ns)
		}
		list := NodeList{Nodes: out}
		if c.Warnings != nil {
			list.Warnings = c.Warnings()
		}
		writeJSON(w, http.StatusOK, list)
		return
	}
	status, health := "alive", "passing"
	if s.draining.Load() {
		status, health = "leaving", "warning"
	}
	self := NodeStatus{Name: s.cfg.Node, Address: s.cfg.Addr, Status: status, Health: health, Self: true, Sandboxes: s.counts()}
	if s.cfg.Breakers != nil {
		self.Breakers = s.cfg.Breakers(s.cfg.Node)
	}
	writeJSON(w, http.StatusOK, NodeList{Nodes: []NodeStatus{self}})
}

func (s *Server) clusterRebalance(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cluster == nil || s.cfg.Cluster.Rebalance == nil {
		notRunning(w, "LoadBalancer")
		return
	}
	res, err := s.cfg.Cluster.Rebalance(r.Context())
	s.answer(w, r, res, err)
}

func (s *Server) clusterOptimalNode(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cluster == nil || s.cfg.Cluster.OptimalNode == nil {
		notRunning(w, "ScalabilityManager")
		return
	}
	var req NodeRequirements
	if p := decode(w, r, s.cfg.MaxBody, &req, true); p != nil {
		writeProblem(w, p)
		return
	}
	if req.CPU < 0 {
		writeProblem(w, problem(http.StatusBadRequest, "invalid_requirements", "Invalid requirements", "cpu must not be negative"))
		return
	}
	node, err := s.cfg.Cluster.OptimalNode(r.Context(), req)
	s.answer(w, r, map[string]string{"node": node}, err)
}

func (s *Server) clusterScaling(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cluster == nil || s.cfg.Cluster.Scaling == nil {
		notRunning(w, "ScalabilityManager")
		return
	}
	ops, err := s.cfg.Cluster.Scaling(r.Context())
	s.answer(w, r, map[string]any{"operations": ops}, err)
}

// notRunning answers 501 for an endpoint whose actor this node lacks.
func notRunning(w http.ResponseWriter, actor string) {
	writeProblem(w, problem(http.StatusNotImplemented, "not_implemented", "No "+actor,
		"this node does not run a "+actor))
}

// answer writes v as JSON, or err as a problem.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) clusterDrain(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("node")
	if s.cfg.Cluster == nil || s.cfg.Cluster.Drain == nil {
		writeProblem(w, problem(http.StatusNotImplemented, "not_implemented", "Not a cluster member",
			"this node runs alone: there is no other node to drain to"))
		return
	}
	n, err := s.cfg.Cluster.Drain(r.Context(), node)
	if errors.Is(err, ErrUnknownNode) {
		writeProblem(w, problem(http.StatusNotFound, "unknown_node", "Unknown node",
			fmt.Sprintf("no member %q in the cluster", node)))
		return
	}
	s.answer(w, r, DrainResult{Node: node, Moved: n}, err)
}

func (s *Server) clusterLoad(w http.ResponseWriter, r *http.Request) {
	if c := s.cfg.Cluster; c != nil {
		if c.Load != nil {
			d, err := c.Load(r.Context())
			s.answer(w, r, d, err)
			return
		}
		var out LoadDistribution
		total := 0
		for _, m := range c.Members() {
			total += m.Load.Sandboxes
		}
		for _, m := range c.Members() {
			pct := 0.0
			if total > 0 {
				pct = 100 * float64(m.Load.Sandboxes) / float64(total)
			}
			out.Nodes = append(out.Nodes, NodeLoad{Node: m.Name, Load: float64(m.Load.Sandboxes), Percentage: pct, Health: string(m.Health)})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	load := float64(s.counts().Active)
	pct := 0.0
	if load > 0 {
		pct = 100
	}
	health := NotReady
	if !s.draining.Load() {
		health = s.cfg.Ready(r.Context()).Status
	}
	writeJSON(w, http.StatusOK, LoadDistribution{Nodes: []NodeLoad{{
		Node: s.cfg.Node, Load: load, Percentage: pct, Health: health.String(),
	}}})
}
