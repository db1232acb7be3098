package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime/metrics"
	"time"

	"github.com/otpbox/otpbox/actors/memoryoptimizer"
)

// Memory is what the memory endpoints need from the node's
// MemoryOptimizer; a *memoryoptimizer.Client has these methods. They are
// called concurrently from request goroutines.
type Memory interface {
	GetMemoryStats(ctx context.Context) (*memoryoptimizer.MemoryStats, error)
	OptimizeMemory(ctx context.Context) (*memoryoptimizer.Optimized, error)
}

var _ Memory = (*memoryoptimizer.Client)(nil)

// MemoryStats is the body of GET /v1/memory: the MemoryOptimizer's
// figures under the design's names (get_memory_stats), in bytes, then the
// Go runtime's detail as the endpoint reported it before the optimizer.
type MemoryStats struct {
	// Total is all memory mapped by the Go runtime; Used is Total minus
	// the heap memory released to the OS.
	Total uint64 `json:"total"`
	Used  uint64 `json:"used"`
	// Available is the host's MemAvailable; 0 when unknown.
	Available uint64 `json:"available"`
	// Utilization is Used / Limit; 0 without a limit.
	Utilization float64 `json:"utilization"`
	Heap        uint64  `json:"heap"`
	Stacks      uint64  `json:"stacks"`
	GCCycles    uint64  `json:"gc_cycles"`
	Goroutines  uint64  `json:"goroutines"`
	// Limit is what Utilization is measured against; LimitSource says
	// where it came from: "config" (--memory-limit), "cgroup", "go"
	// (GOMEMLIMIT), "host" (MemTotal), or "" when unknown.
	Limit       uint64 `json:"limit"`
	LimitSource string `json:"limit_source"`
	// SoftLimit is the Go soft memory limit now in force (the optimizer
	// lowers it under pressure); 0 when there is none.
	SoftLimit uint64 `json:"soft_limit"`
	HeapGoal  uint64 `json:"heap_goal"`
	// Threshold is the utilization above which a check optimizes;
	// Optimizations counts the passes so far.
	Threshold     float64 `json:"threshold"`
	Optimizations uint64  `json:"optimizations"`
	// LastActions are the optimizer's latest actions, oldest first.
	LastActions []memoryoptimizer.Action `json:"last_actions"`
	RuntimeMemory
}

// RuntimeMemory is the Go runtime's detail (runtime/metrics), in bytes.
type RuntimeMemory struct {
	// TotalBytes is all memory mapped by the runtime.
	TotalBytes uint64 `json:"total_bytes"`
	// InUseBytes is TotalBytes minus what was released to the OS.
	InUseBytes        uint64 `json:"in_use_bytes"`
	HeapObjectsBytes  uint64 `json:"heap_objects_bytes"`
	HeapUnusedBytes   uint64 `json:"heap_unused_bytes"`
	HeapFreeBytes     uint64 `json:"heap_free_bytes"`
	HeapReleasedBytes uint64 `json:"heap_released_bytes"`
	StacksBytes       uint64 `json:"stacks_bytes"`
	HeapGoalBytes     uint64 `json:"heap_goal_bytes"`
	// MemoryLimitBytes is the Go soft memory limit; absent when unlimited.
	MemoryLimitBytes uint64 `json:"memory_limit_bytes,omitempty"`
}

// OptimizeResult is the body of POST /v1/memory/optimize: what the
// optimizer's pass did and the figures around it.
type OptimizeResult struct {
	// Actions are the pass's actions in order; Freed is the drop of Used
	// over the pass as the optimizer saw it (0 if it grew).
	Actions []memoryoptimizer.Action `json:"actions"`
	Freed   uint64                   `json:"freed"`
	Before  MemoryStats              `json:"before"`
	After   MemoryStats              `json:"after"`
	// FreedBytes is Before.Used minus After.Used (negative if it grew).
	FreedBytes int64 `json:"freed_bytes"`
	DurationUS int64 `json:"duration_us"`
}

var memoryMetrics = []string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/gc/heap/goal:bytes",
	"/gc/gomemlimit:bytes",
}

// ReadMemory reads the runtime's memory figures.
func ReadMemory() RuntimeMemory {
	samples := make([]metrics.Sample, len(memoryMetrics))
	for i, name := range memoryMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	m := RuntimeMemory{
		TotalBytes:        v(0),
		HeapReleasedBytes: v(1),
		HeapObjectsBytes:  v(2),
		HeapUnusedBytes:   v(3),
		HeapFreeBytes:     v(4),
		StacksBytes:       v(5),
		HeapGoalBytes:     v(6),
	}
	m.InUseBytes = m.TotalBytes - min(m.HeapReleasedBytes, m.TotalBytes)
	if limit := v(7); limit > 0 && limit < math.MaxInt64 {
		m.MemoryLimitBytes = limit
	}
	return m
}

func errNoMemory() error {
	return fmt.Errorf("%w: memory optimizer not configured on this node", ErrNotImplemented)
}

// readMemory asks the optimizer for its figures and adds the runtime's.
func (s *Server) readMemory(ctx context.Context) (MemoryStats, error) {
	st, err := s.cfg.Memory.GetMemoryStats(ctx)
	if err != nil {
		return MemoryStats{}, err
	}
	m := MemoryStats{
		Total: st.Total, Used: st.Used, Available: st.Available, Utilization: st.Utilization,
		Heap: st.Heap, Stacks: st.Stacks, GCCycles: st.GCCycles, Goroutines: st.Goroutines,
		Limit: st.Limit, LimitSource: st.LimitSource, HeapGoal: st.HeapGoal,
		Threshold: st.Threshold, Optimizations: st.Optimizations, LastActions: st.LastActions,
		RuntimeMemory: ReadMemory(),
	}
	if st.GoLimit < math.MaxInt64 {
		m.SoftLimit = st.GoLimit
	}
	if m.LastActions == nil {
		m.LastActions = []memoryoptimizer.Action{}
	}
	return m, nil
}

func (s *Server) memory(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Memory == nil {
		s.fail(w, r, errNoMemory())
		return
	}
	m, err := s.readMemory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// optimizeMemory runs one pass of the optimizer now (the design's
// optimize_memory_usage, waiting for its result) and answers what it did.
func (s *Server) optimizeMemory(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Memory == nil {
		s.fail(w, r, errNoMemory())
		return
	}
	ctx := r.Context()
	before, err := s.readMemory(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	start := time.Now()
	res, err := s.cfg.Memory.OptimizeMemory(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := time.Since(start)
	after, err := s.readMemory(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := OptimizeResult{
		Actions: res.Actions, Freed: res.Freed, Before: before, After: after,
		FreedBytes: int64(before.Used) - int64(after.Used),
		DurationUS: d.Microseconds(),
	}
	if out.Actions == nil {
		out.Actions = []memoryoptimizer.Action{}
	}
	writeJSON(w, http.StatusOK, out)
}
