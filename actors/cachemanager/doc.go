// Package cachemanager is the design's CacheManager GenServer
// (docs/performance.md) as a supervised
// protoactor actor around a cache.Cache.
//
// The GenServer's public functions map to Client methods: get → Get,
// put → Put, delete → Delete, clear_cache → ClearCache, get_cache_stats →
// GetCacheStats, optimize_all_caches → OptimizeAllCaches (a cast). Unlike
// the design, reads and writes do not go through the mailbox: Get, Put,
// Delete and GetOrLoad call the Cache directly on the caller's goroutine, so
// they run concurrently. The actor owns what needs one owner: maintenance
// every Config.Interval (probing degraded tiers so they recover without
// traffic, and a statistics roll-up), clearing, and its configuration.
// protocol.go lists every message; Get, Put and Delete are also accepted as
// messages, for actors that prefer to ask.
//
// Start it under a supervisor with ChildSpec and reach it through the
// supervisor's stable name:
//
//	sup, _ := supervision.Start(system, supervision.Spec{Name: "cache",
//		Children: []supervision.ChildSpec{cachemanager.ChildSpec(c, cachemanager.Config{})}})
//	cm := cachemanager.NewClient(system.Root, sup.Whereis(cachemanager.ChildID), c)
package cachemanager
