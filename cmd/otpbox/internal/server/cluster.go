package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/otpbox/otpbox/cache"
)

// The cluster endpoints answer for this node alone until the cluster
// package lands: one member, itself, with its own sandbox counts.

// SandboxCounts counts sandboxes by state.
type SandboxCounts struct {
	Active     int `json:"active"`
	Passivated int `json:"passivated"`
}

// ClusterStatus is the body of GET /v1/cluster/status.
type ClusterStatus struct {
	TotalNodes  int           `json:"total_nodes"`
	ActiveNodes int           `json:"active_nodes"`
	Sandboxes   SandboxCounts `json:"sandboxes"`
}

// NodeStatus is one member in GET /v1/cluster/nodes.
type NodeStatus struct {
	Name      string        `json:"name"`
	Address   string        `json:"address"`
	Status    string        `json:"status"` // "alive" or "leaving"
	Self      bool          `json:"self"`
	Sandboxes SandboxCounts `json:"sandboxes"`
}

// NodeList is the body of GET /v1/cluster/nodes.
type NodeList struct {
	Nodes []NodeStatus `json:"nodes"`
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
// so only passivations by idleness can be up to countsTTL late.
const countsTTL = time.Second

func (s *Server) countsKey() string { return "otpbox:cluster:counts:" + s.cfg.Node }

func (s *Server) forgetCounts(ctx context.Context) {
	if s.cfg.Cache != nil {
		_ = s.cfg.Cache.Delete(ctx, s.countsKey())
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

func (s *Server) clusterStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, ClusterStatus{TotalNodes: 1, ActiveNodes: 1, Sandboxes: s.counts()})
}

func (s *Server) clusterNodes(w http.ResponseWriter, _ *http.Request) {
	status := "alive"
	if s.draining.Load() {
		status = "leaving"
	}
	writeJSON(w, http.StatusOK, NodeList{Nodes: []NodeStatus{{
		Name: s.cfg.Node, Address: s.cfg.Addr, Status: status, Self: true, Sandboxes: s.counts(),
	}}})
}

func (s *Server) clusterLoad(w http.ResponseWriter, r *http.Request) {
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
