package node_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/actors/memoryoptimizer"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// TestNodeMemoryEndpoints: the node's MemoryOptimizer answers /v1/memory
// against the configured limit, and a pass asked over HTTP, with the node
// far over a 1 MiB limit, clears L1 and passivates the idle sandboxes,
// whose globals survive. Periodic checks are off, so only the request acts.
func TestNodeMemoryEndpoints(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryLimit = 1 << 20
	cfg.MemoryGCThreshold = 0.9
	cfg.MemoryOptimizationEnabled = node.False
	n, _ := startReal(t, cfg)
	var m server.MemoryStats
	want(t, n, "GET", "/v1/memory", "", http.StatusOK, &m)
	if m.Limit != 1<<20 || m.LimitSource != "config" || m.Threshold != 0.9 || m.Utilization <= 1 || m.Optimizations != 0 {
		t.Errorf("memory = limit %d (%s), threshold %v, utilization %v, %d passes",
			m.Limit, m.LimitSource, m.Threshold, m.Utilization, m.Optimizations)
	}
	for _, id := range []string{"a", "b"} {
		want(t, n, "POST", "/v1/sandboxes", `{"id":"`+id+`"}`, http.StatusCreated, nil)
		execute(t, n, id, `x = "`+id+`"`)
	}

	var o server.OptimizeResult
	want(t, n, "POST", "/v1/memory/optimize", "", http.StatusOK, &o)
	var kinds []string
	for _, a := range o.Actions {
		kinds = append(kinds, a.Kind)
	}
	if got := strings.Join(kinds, ","); got != "soft_limit,gc,shrink,passivate" {
		t.Errorf("the pass did %s, want soft_limit,gc,shrink,passivate", got)
	}
	if c := counts(t, n); c.Active != 0 || c.Passivated != 2 {
		t.Errorf("after the pass: %+v, want both sandboxes passivated", c)
	}
	want(t, n, "GET", "/v1/memory", "", http.StatusOK, &m)
	if m.Optimizations != 1 || len(m.LastActions) != 4 || m.LastActions[3].Kind != memoryoptimizer.KindPassivate {
		t.Errorf("after the pass: %d passes, last actions %+v", m.Optimizations, m.LastActions)
	}
	for _, id := range []string{"a", "b"} {
		if got := execute(t, n, id, "x"); got != `"`+id+`"` {
			t.Errorf("%s: x = %s after passivation", id, got)
		}
	}
}
