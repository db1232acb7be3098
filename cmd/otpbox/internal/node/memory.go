package node

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/otpbox/otpbox/actors/memoryoptimizer"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/sandbox/store/wal"
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

// journalMetrics export the wal journal's figures, read at scrape time
// (0 with the bolt or Redis store): otpbox_journal_records_total,
// otpbox_journal_writes_total and otpbox_journal_syncs_total (records
// per sync is how much group commit shares), otpbox_journal_segments
// and otpbox_journal_bytes / otpbox_journal_live_bytes.
func journalMetrics(stats func() (wal.Stats, bool)) []prometheus.Collector {
	read := func(f func(wal.Stats) float64) func() float64 {
		return func() float64 {
			st, ok := stats()
			if !ok {
				return 0
			}
			return f(st)
		}
	}
	counter := func(name, help string, f func(wal.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, read(f))
	}
	gauge := func(name, help string, f func(wal.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read(f))
	}
	return []prometheus.Collector{
		counter("otpbox_journal_records_total", "Records appended to the wal journal.",
			func(s wal.Stats) float64 { return float64(s.Records) }),
		counter("otpbox_journal_writes_total", "write(2) calls of the wal journal (one per group of records).",
			func(s wal.Stats) float64 { return float64(s.Writes) }),
		counter("otpbox_journal_syncs_total", "fdatasync calls of the wal journal.",
			func(s wal.Stats) float64 { return float64(s.Syncs) }),
		gauge("otpbox_journal_segments", "Segment files of the wal journal.",
			func(s wal.Stats) float64 { return float64(s.Segments) }),
		gauge("otpbox_journal_bytes", "Size of the wal journal's segments.",
			func(s wal.Stats) float64 { return float64(s.Bytes) }),
		gauge("otpbox_journal_live_bytes", "Size of the wal journal's live records (the rest is reclaimed by compaction).",
			func(s wal.Stats) float64 { return float64(s.LiveBytes) }),
	}
}
