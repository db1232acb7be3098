package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// The cache tiers, fastest first, as Cache.Clear and CacheStats.Tiers
// name them.
const (
	TierL1 = "l1" // the node's in-memory cache
	TierL2 = "l2" // the cluster tier, owned across members
	TierL3 = "l3" // Redis
)

// CacheStats is the node's cache statistics (GET /v1/cache/stats). Rates
// are fractions of TotalRequests; a tier's HitRate is of the lookups
// that reached it.
type CacheStats struct {
	TotalRequests uint64               `json:"total_requests"`
	Hits          uint64               `json:"hits"`
	Misses        uint64               `json:"misses"`
	HitRate       float64              `json:"hit_rate"`
	L1HitRate     float64              `json:"l1_hit_rate"`
	L2HitRate     float64              `json:"l2_hit_rate"`
	L3HitRate     float64              `json:"l3_hit_rate"`
	MissRate      float64              `json:"miss_rate"`
	Tiers         map[string]TierStats `json:"tiers"`
}

// TierStats is one tier's part of CacheStats. Entries is -1 when the
// tier cannot count them.
type TierStats struct {
	Entries     int64         `json:"entries"`
	Evictions   uint64        `json:"evictions"`
	Expirations uint64        `json:"expirations"`
	Oversized   uint64        `json:"oversized"`
	Hits        uint64        `json:"hits"`
	Misses      uint64        `json:"misses"`
	Errors      uint64        `json:"errors"`
	HitRate     float64       `json:"hit_rate"`
	MeanLatency time.Duration `json:"mean_latency_ns"`
	// Degraded is set while the tier is skipped after a failure, since
	// Since, until RetryAt.
	Degraded  bool      `json:"degraded"`
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	RetryAt   time.Time `json:"retry_at,omitzero"`
}

// Cache is the /v1/cache endpoints. It is safe for concurrent use.
type Cache struct{ c *Client }

// Cache returns the cache endpoints.
func (c *Client) Cache() *Cache { return &Cache{c} }

// Stats returns the cache's statistics.
func (ca *Cache) Stats(ctx context.Context) (*CacheStats, error) {
	var st CacheStats
	err := ca.c.call(ctx, request{method: http.MethodGet, path: "/v1/cache/stats"}, &st)
	return result(&st, err)
}

// Clear empties tier (TierL1, TierL2 or TierL3), or every tier when tier
// is "". A tier the node lacks fails with ErrTierNotConfigured.
func (ca *Cache) Clear(ctx context.Context, tier string) error {
	var q url.Values
	if tier != "" {
		q = url.Values{"tier": {tier}}
	}
	return ca.c.call(ctx, request{method: http.MethodDelete, path: "/v1/cache", query: q}, nil)
}
