package node_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
)

// TestNodeCacheEndpoints: the node's cache answers /v1/cache with real
// figures and is cleared by tier; its metrics are on /metrics.
func TestNodeCacheEndpoints(t *testing.T) {
	n, _ := startReal(t, testConfig(t))
	var st cache.Stats
	want(t, n, "GET", "/v1/cache/stats", "", http.StatusOK, &st)
	if _, ok := st.Tiers["l1"]; !ok {
		t.Errorf("stats have no l1 tier: %+v", st)
	}
	want(t, n, "DELETE", "/v1/cache?tier=l1", "", http.StatusNoContent, nil)
	want(t, n, "DELETE", "/v1/cache", "", http.StatusNoContent, nil)
	want(t, n, "DELETE", "/v1/cache?tier=l3", "", http.StatusNotFound, nil) // no --redis: no L3
	want(t, n, "DELETE", "/v1/cache?tier=l9", "", http.StatusBadRequest, nil)
	if body := want(t, n, "GET", "/metrics", "", http.StatusOK, nil); !strings.Contains(body, "otpbox_cache_") {
		t.Error("no otpbox_cache_ metrics")
	}
}

// TestNodeReadinessFollowsCacheHealth: with --redis the cache has an L3;
// when Redis dies and the cache notices, the node reports degraded (429,
// Consul's warning).
func TestNodeReadinessFollowsCacheHealth(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(t)
	cfg.Redis = "redis://" + srv.Addr
	n, _ := startReal(t, cfg)
	want(t, n, "POST", "/v1/sandboxes", `{"id":"c"}`, http.StatusCreated, nil)
	want(t, n, "GET", "/v1/health/ready", "", http.StatusOK, nil)
	srv.Kill()
	// A new snippet is compiled and its program stored in the cache: L3 fails.
	call(t, n, "POST", "/v1/sandboxes/c/exec", `{"code":"1 + 2"}`)
	want(t, n, "GET", "/v1/health/ready", "", http.StatusTooManyRequests, nil)
}

// TestNodeL3Disabled: with l3_cache_enabled off, Redis keeps the sandboxes
// but the cache has no L3.
func TestNodeL3Disabled(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(t)
	cfg.Redis = "redis://" + srv.Addr
	cfg.L3CacheEnabled = node.False
	n, _ := startReal(t, cfg)
	var st cache.Stats
	want(t, n, "GET", "/v1/cache/stats", "", http.StatusOK, &st)
	if _, ok := st.Tiers["l3"]; ok {
		t.Errorf("l3 tier present: %+v", st.Tiers)
	}
	want(t, n, "DELETE", "/v1/cache?tier=l3", "", http.StatusNotFound, nil)
	want(t, n, "POST", "/v1/sandboxes", `{"id":"r"}`, http.StatusCreated, nil)
}
