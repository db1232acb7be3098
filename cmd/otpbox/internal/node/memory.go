package node

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/otpbox/otpbox/actors/memoryoptimizer"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// memoryConfig is the MemoryOptimizer's configuration: the threshold, the
// check interval (none when memory_optimization_enabled is off) and the
// limit (0: the optimizer finds the cgroup's, GOMEMLIMIT or the host's).
func (c Config) memoryConfig() memoryoptimizer.Config {
	mc := memoryoptimizer.Config{
		Threshold: float64(c.MemoryGCThreshold),
		Interval:  c.MemoryCheckInterval.Duration,
		Limit:     uint64(max(c.MemoryLimit, 0)),
	}
	if !c.MemoryOptimizationEnabled.Value() {
		mc.Interval = -1 // no periodic checks; Optimize still runs a pass
	}
	return mc
}

// memoryAPI answers the API's memory endpoints through the
// MemoryOptimizer in the node's tree, reached by its stable name.
type memoryAPI struct{ n *Node }

var _ server.Memory = memoryAPI{}

func (m memoryAPI) client() (*memoryoptimizer.Client, error) {
	app := m.n.App()
	if app == nil {
		return nil, fmt.Errorf("%w: the node is starting", server.ErrNotReady)
	}
	return memoryoptimizer.NewClient(m.n.system.Root, app.Whereis(memoryoptimizer.ChildID)), nil
}

// GetMemoryStats asks the optimizer for its figures.
func (m memoryAPI) GetMemoryStats(ctx context.Context) (*memoryoptimizer.MemoryStats, error) {
	cl, err := m.client()
	if err != nil {
		return nil, err
	}
	return cl.GetMemoryStats(ctx)
}

// OptimizeMemory runs an optimization pass and waits for it.
func (m memoryAPI) OptimizeMemory(ctx context.Context) (*memoryoptimizer.Optimized, error) {
	cl, err := m.client()
	if err != nil {
		return nil, err
	}
	return cl.OptimizeMemory(ctx)
}

// memoryGauges export the memory the MemoryOptimizer measures, read at
// scrape time: otpbox_memory_used_bytes (mapped by the Go runtime, less
// what it returned to the OS), otpbox_memory_limit_bytes (what
// utilization is measured against) and otpbox_memory_utilization.
func memoryGauges(limit uint64) []prometheus.Collector {
	used := func() float64 { return float64(server.ReadMemory().InUseBytes) }
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "otpbox_memory_used_bytes",
			Help: "Memory mapped by the Go runtime less what it returned to the OS."}, used),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "otpbox_memory_limit_bytes",
			Help: "Memory the utilization is measured against (--memory-limit, the cgroup's, GOMEMLIMIT or the host's)."},
			func() float64 { return float64(limit) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "otpbox_memory_utilization",
			Help: "otpbox_memory_used_bytes over otpbox_memory_limit_bytes, 0..1."},
			func() float64 {
				if limit == 0 {
					return 0
				}
				return used() / float64(limit)
			}),
	}
}
