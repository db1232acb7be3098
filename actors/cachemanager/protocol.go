package cachemanager

import (
	"time"

	"github.com/otpbox/otpbox/cache"
)

// message seals the manager's vocabulary. Messages are local Go values:
// they do not cross nodes (the cache's own owner actors do that).
type message interface{ isCacheManagerMessage() }

// Get asks for a key's value; the reply is *GetResult. Prefer Client.Get,
// which reads the cache directly.
type Get struct{ Key string }

// GetResult answers Get.
type GetResult struct {
	Value []byte
	Found bool
}

// Put stores a value; the reply is *Done. TTL 0 means the cache's default;
// Tier AllTiers means every tier.
type Put struct {
	Key   string
	Value []byte
	TTL   time.Duration
	Tier  cache.TierID
}

// Delete removes a key from every tier; the reply is *Done.
type Delete struct{ Key string }

// ClearCache empties one tier or all (cache.AllTiers); the reply is *Done.
type ClearCache struct{ Tier cache.TierID }

// GetCacheStats asks for statistics; the reply is *CacheStats.
type GetCacheStats struct{}

// CacheStats answers GetCacheStats: the live counters, health, and the
// last roll-up.
type CacheStats struct {
	cache.Stats
	Health cache.Health `json:"health"`
	RollUp RollUp       `json:"roll_up"`
	// Optimizations counts completed OptimizeAllCaches.
	Optimizations uint64 `json:"optimizations"`
}

// RollUp is the manager's periodic summary of the window between its last
// two roll-ups.
type RollUp struct {
	At                time.Time     `json:"at"`
	Window            time.Duration `json:"window_ns"`
	Requests          uint64        `json:"requests"`
	HitRate           float64       `json:"hit_rate"`
	RequestsPerSecond float64       `json:"requests_per_second"`
	DegradedTiers     int           `json:"degraded_tiers"`
}

// OptimizeAllCaches asks for maintenance now (a cast: no reply): probe
// degraded tiers so they recover without traffic, then roll stats up.
type OptimizeAllCaches struct{}

// Tick is the periodic maintenance message the manager sends itself every
// Config.Interval; it does what OptimizeAllCaches does.
type Tick struct{}

// Configure changes the maintenance interval (0 stops periodic
// maintenance); the reply is *Done.
type Configure struct{ Interval time.Duration }

// Done answers commands that have no result; Err is nil on success.
type Done struct{ Err error }

func (*Get) isCacheManagerMessage()               {}
func (*GetResult) isCacheManagerMessage()         {}
func (*Put) isCacheManagerMessage()               {}
func (*Delete) isCacheManagerMessage()            {}
func (*ClearCache) isCacheManagerMessage()        {}
func (*GetCacheStats) isCacheManagerMessage()     {}
func (*CacheStats) isCacheManagerMessage()        {}
func (*OptimizeAllCaches) isCacheManagerMessage() {}
func (*Tick) isCacheManagerMessage()              {}
func (*Configure) isCacheManagerMessage()         {}
func (*Done) isCacheManagerMessage()              {}

var _ = []message{(*Get)(nil), (*GetResult)(nil), (*Put)(nil), (*Delete)(nil), (*ClearCache)(nil),
	(*GetCacheStats)(nil), (*CacheStats)(nil), (*OptimizeAllCaches)(nil), (*Tick)(nil),
	(*Configure)(nil), (*Done)(nil)}
