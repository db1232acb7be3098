package node_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/cache"
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
