// Package cache is otpbox's multi-tier cache: the design's CacheManager
// (docs/performance.md) without a process
// on the read path.
//
// # Tiers
//
// Every tier implements Tier (Get, Set, Delete, Clear, Stats):
//
//   - L1 (l1.go): this node's memory, a coocood/freecache of Config.L1Size
//     bytes (default 64 MiB). freecache refuses entries over 1/1024 of its
//     size; such values are not dropped: L1 returns ErrOversized, Put skips
//     L1 and stores them in the lower tiers, and TierStats.Oversized counts it.
//   - L2 (l2.go): the cluster's memory. Each key is owned by one live member,
//     chosen by rendezvous hashing (Owner), so the members' stores act as
//     one cache. Members says who is live and reaches a member's store; Node
//     (node.go) implements it on protoactor with one owner actor per node,
//     named OwnerName, speaking the protobuf messages of internal/cachepb.
//   - L3 (l3.go): Redis via go-redis, optional (NewL3 for a client,
//     NewL3URL for a redis:// URL). Keys are prefixed with
//     DefaultRedisPrefix.
//
// # Cache
//
// Cache (cache.go) composes the configured tiers. Get walks L1 → L2 → L3 and
// copies a hit into the faster tiers; Put writes every tier (or one, with
// InTier) with Config.DefaultTTL (1 hour) unless WithTTL says otherwise;
// Delete removes from all; Clear empties one tier or all; GetOrLoad loads a
// miss once for all concurrent callers (singleflight). Config.Clock drives
// L1 and L2 TTLs (freecache's Timer, one-second resolution) and the
// degradation backoff; Redis TTLs run on Redis's clock.
//
// # Invalidation
//
// When Config.Members is given, Put and Delete send the key to every other
// live member (Members.Invalidate; for Node an asynchronous protobuf message
// to the member's owner actor), which drops it from that node's L1. Writes
// go to the slower tiers first, so a node that misses L1 after the
// invalidation reads the new value. A Get that read the old value before the
// Put and promotes it after the invalidation can leave a stale L1 copy until
// its TTL (Config.PromoteTTL); this window is the usual cache-aside race.
//
// Nodes that share L3 but have no Members can set Config.Bus to a RedisBus
// and run its Subscription.Serve: invalidations then travel over Redis
// pub/sub (at most once; a node disconnected at the time keeps its copy
// until its TTL).
//
// # Degradation
//
// A tier whose operation fails is marked degraded (Health, Stats) and
// skipped — Gets fall through to the next tier, Puts store elsewhere —
// until its retry time; the backoff starts at Config.MinBackoff and doubles
// to Config.MaxBackoff. The first use after the retry time probes it: keys
// written or deleted while it was away are first deleted from it (or the
// tier is cleared, beyond 10000 keys), so a recovered tier never serves a
// value older than the last Put or Delete. A failed tier is never read
// from: errors never yield wrong values. L2 is degraded as a whole; a dead
// member stops owning keys as soon as Members.Live leaves it out.
//
// # Observability
//
// Cache is a prometheus.Collector for otpbox_cache_* metrics (requests,
// hits, misses, errors, evictions, expirations, oversized, entries,
// degraded and the latency histogram otpbox_cache_latency_seconds),
// labelled only by tier. L1 latency is sampled 1 in 64 to keep the hot path
// within 1.2× raw freecache. Stats returns the same counters as a snapshot
// with the design's JSON names (total_requests, hit_rate, l1_hit_rate, …).
package cache
