package memoryoptimizer

import "time"

// message seals the optimizer's vocabulary. Messages are local Go values.
type message interface{ isMemoryOptimizerMessage() }

// GetMemoryStats asks for the current figures; the reply is *MemoryStats.
type GetMemoryStats struct{}

// MemoryStats answers GetMemoryStats, in the design's field names. Byte
// counts come from runtime/metrics, Available and a cgroup Limit from the
// host files.
type MemoryStats struct {
	// Total is all memory mapped by the Go runtime (/memory/classes/total).
	Total uint64 `json:"total"`
	// Used is Total minus heap memory released to the OS.
	Used uint64 `json:"used"`
	// Heap is the bytes of live and not yet swept heap objects.
	Heap uint64 `json:"heap"`
	// Stacks is the goroutine stack memory.
	Stacks uint64 `json:"stacks"`
	// GCCycles counts completed GC cycles; HeapGoal is the next GC's goal.
	GCCycles uint64 `json:"gc_cycles"`
	HeapGoal uint64 `json:"heap_goal"`
	// GoLimit is the Go soft memory limit now in force (math.MaxInt64: none).
	GoLimit    uint64 `json:"go_limit"`
	Goroutines uint64 `json:"goroutines"`
	// Available is the host's MemAvailable; 0 when unknown.
	Available uint64 `json:"available"`
	// Limit is the memory limit utilization is measured against; 0 when
	// none is known. LimitSource says where it came from: "config"
	// (Config.Limit), "cgroup", "go" (the soft limit set before the
	// optimizer started), "host" (MemTotal) or "".
	Limit       uint64 `json:"limit"`
	LimitSource string `json:"limit_source"`
	// Utilization is Used / Limit, 0 without a limit.
	Utilization float64 `json:"utilization"`
	Threshold   float64 `json:"threshold"`
	// Optimizations counts optimization passes (ticks over the threshold
	// and Optimize requests).
	Optimizations uint64 `json:"optimizations"`
	// LastActions are the latest actions of any pass, oldest first, at
	// most Config.KeepActions of them.
	LastActions []Action `json:"last_actions"`
}

// Optimize asks for an optimization pass now (design: optimize_memory_usage).
// Sent with Request the reply is *Optimized; sent with Send it is a cast.
type Optimize struct{}

// Optimized answers Optimize: the actions taken and the bytes the Go
// runtime's Used dropped by over the pass (0 if it grew).
type Optimized struct {
	Actions []Action `json:"actions"`
	Freed   uint64   `json:"freed"`
}

// Tick is the periodic check the optimizer sends itself every
// Config.Interval: an optimization pass runs only when Utilization exceeds
// the threshold.
type Tick struct{}

// Configure changes the threshold and the check interval; zero fields keep
// the current value, a negative Interval stops periodic checks. The reply
// is *Done.
type Configure struct {
	Threshold float64
	Interval  time.Duration
}

// Done answers commands that have no result; Err is nil on success.
type Done struct{ Err error }

// Action kinds.
const (
	KindSoftLimit = "soft_limit" // lowered the Go soft memory limit
	KindGC        = "gc"         // runtime GC and memory returned to the OS
	KindShrink    = "shrink"     // Shrinker called (L1 cache)
	KindPassivate = "passivate"  // idle sandboxes passivated
	KindReport    = "report"     // an outsized sandbox reported
)

// Action is an event published on the actor system's EventStream for every
// action the optimizer takes, and counted in otpbox_memory_actions_total.
type Action struct {
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

func (*GetMemoryStats) isMemoryOptimizerMessage() {}
func (*MemoryStats) isMemoryOptimizerMessage()    {}
func (*Optimize) isMemoryOptimizerMessage()       {}
func (*Optimized) isMemoryOptimizerMessage()      {}
func (*Tick) isMemoryOptimizerMessage()           {}
func (*Configure) isMemoryOptimizerMessage()      {}
func (*Done) isMemoryOptimizerMessage()           {}
func (*Action) isMemoryOptimizerMessage()         {}

var _ = []message{(*GetMemoryStats)(nil), (*MemoryStats)(nil), (*Optimize)(nil), (*Optimized)(nil),
	(*Tick)(nil), (*Configure)(nil), (*Done)(nil), (*Action)(nil)}
