package cache

import (
	"context"
	"time"
)

// Tier is one level of the cache. Implementations are safe for concurrent
// use. Get reports found=false with a nil error for a miss; an error means
// the tier could not answer, and its value must not be used.
// A ttl of 0 means "no expiry".
type Tier interface {
	Get(ctx context.Context, key string) (val []byte, found bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
	Clear(ctx context.Context) error
	Stats() TierStats
}

// TierStats are the counters a tier keeps itself. Hits, misses, errors and
// latency are counted by Cache, around the tier, and reported in Stats.
type TierStats struct {
	Entries     int64  `json:"entries"`     // current entries, -1 if unknown
	Evictions   uint64 `json:"evictions"`   // entries evicted to make room
	Expirations uint64 `json:"expirations"` // entries dropped because their TTL passed
	Oversized   uint64 `json:"oversized"`   // Sets refused with ErrOversized
}

// TierID names a tier of a Cache.
type TierID int

// The tiers, fastest first. AllTiers selects every configured tier.
const (
	AllTiers TierID = iota
	L1Tier
	L2Tier
	L3Tier
)

// String returns "all", "l1", "l2" or "l3".
func (id TierID) String() string {
	switch id {
	case AllTiers:
		return "all"
	case L1Tier:
		return "l1"
	case L2Tier:
		return "l2"
	case L3Tier:
		return "l3"
	}
	return "unknown"
}
