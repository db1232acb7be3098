package node

import (
	"runtime"
	"sync/atomic"
)

// minProcs is the fewest Ps (GOMAXPROCS) a node runs with.
//
// The journal's write(2) and fdatasync block the thread that makes
// them, and a goroutine in a system call keeps its P until the
// runtime's monitor takes it back. With one P (one CPU in the affinity
// mask, or a cgroup CPU limit of one CPU or less, which Go ≥ 1.25
// follows) every sync stalls the whole node for its duration: pinned to
// one core, a node did 2,600 executions/s with that core a third idle in
// I/O wait; with two Ps on the same core it does 5,000/s with p99 35 ms.
const minProcs = 2

// cpuBudget is the CPUs the node may use: GOMAXPROCS as the Go runtime
// chose it, before raiseProcs. 0: not raised, GOMAXPROCS is the budget.
var cpuBudget atomic.Int32

// raiseProcs raises GOMAXPROCS to minProcs when the runtime chose fewer
// and the GOMAXPROCS variable does not set it, and remembers the budget
// the runtime chose (cpus). It reports the budget and whether it raised.
func raiseProcs(getenv func(string) string) (budget int, raised bool) {
	budget = runtime.GOMAXPROCS(0)
	if budget >= minProcs || getenv("GOMAXPROCS") != "" {
		return budget, false
	}
	cpuBudget.Store(int32(budget))
	runtime.GOMAXPROCS(minProcs)
	return budget, true
}

// cpus is the CPUs the node may use: what load and capacity are
// measured against (not GOMAXPROCS once raiseProcs raised it).
func cpus() int {
	if b := cpuBudget.Load(); b > 0 {
		return int(b)
	}
	return runtime.GOMAXPROCS(0)
}
