// Package memoryoptimizer is the design's MemoryOptimizer GenServer
// (docs/performance.md) as a supervised
// protoactor actor.
//
// The GenServer's public functions map to Client methods:
// get_memory_stats → GetMemoryStats, optimize_memory_usage → Trigger (a
// cast) or OptimizeMemory (waits for the result), plus Configure.
//
// Statistics come from runtime/metrics (total, used, heap, stacks, GC,
// goroutines, the Go soft limit) and the host: MemAvailable from
// /proc/meminfo and the limit: Config.Limit when set, else cgroup v2
// memory.max or v1 memory.limit_in_bytes; without one, the Go soft limit
// set before the optimizer started, else the host's MemTotal. Utilization
// is used/limit.
//
// Every Config.Interval a Tick checks utilization; above Config.Threshold
// (0.8) a pass runs: it lowers the Go soft memory limit toward
// Config.Target of the limit (never below Config.MinSoftLimit; restored
// when the actor stops), forces a GC and returns memory to the OS, calls
// the Shrinker (the L1 cache), calls the Passivator in batches while
// utilization stays above the target, and reports outsized sandboxes from
// the Reporter. Every action is an *Action published on the actor system's
// EventStream, counted in otpbox_memory_actions_total{kind}
// (Deps.Metrics.Collector()) and kept among the latest actions in
// MemoryStats.LastActions. The soft limit is process-wide: run one
// optimizer per process.
//
//	sup, _ := supervision.Start(system, supervision.Spec{Name: "memory",
//		Children: []supervision.ChildSpec{memoryoptimizer.ChildSpec(deps, memoryoptimizer.Config{})}})
//	mo := memoryoptimizer.NewClient(system.Root, sup.Whereis(memoryoptimizer.ChildID))
package memoryoptimizer
