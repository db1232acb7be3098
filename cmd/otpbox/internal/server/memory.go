package server

import (
	"math"
	"net/http"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// MemoryStats is the body of GET /v1/memory: the Go runtime's own figures
// (runtime/metrics), in bytes.
type MemoryStats struct {
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
	// MemoryLimitBytes is GOMEMLIMIT; absent when unlimited.
	MemoryLimitBytes uint64 `json:"memory_limit_bytes,omitempty"`
	// Utilization is InUseBytes / MemoryLimitBytes; absent when unlimited.
	Utilization *float64 `json:"utilization,omitempty"`
	Goroutines  uint64   `json:"goroutines"`
	GCCycles    uint64   `json:"gc_cycles"`
}

// OptimizeResult is the body of POST /v1/memory/optimize.
type OptimizeResult struct {
	Before MemoryStats `json:"before"`
	After  MemoryStats `json:"after"`
	// FreedBytes is the drop of InUseBytes (negative if it grew).
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
	"/sched/goroutines:goroutines",
	"/gc/cycles/total:gc-cycles",
}

// ReadMemory reads the runtime's memory figures.
func ReadMemory() MemoryStats {
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
	m := MemoryStats{
		TotalBytes:        v(0),
		HeapReleasedBytes: v(1),
		HeapObjectsBytes:  v(2),
		HeapUnusedBytes:   v(3),
		HeapFreeBytes:     v(4),
		StacksBytes:       v(5),
		HeapGoalBytes:     v(6),
		Goroutines:        v(8),
		GCCycles:          v(9),
	}
	m.InUseBytes = m.TotalBytes - m.HeapReleasedBytes
	if limit := v(7); limit > 0 && limit < math.MaxInt64 {
		m.MemoryLimitBytes = limit
		u := float64(m.InUseBytes) / float64(limit)
		m.Utilization = &u
	}
	return m
}

func (s *Server) memory(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, ReadMemory())
}

// optimizeMemory runs a garbage collection and returns freed memory to
// the operating system (debug.FreeOSMemory), the Go counterpart of the
// design's global GC.
func (s *Server) optimizeMemory(w http.ResponseWriter, _ *http.Request) {
	before := ReadMemory()
	start := time.Now()
	debug.FreeOSMemory()
	d := time.Since(start)
	after := ReadMemory()
	writeJSON(w, http.StatusOK, OptimizeResult{
		Before: before, After: after,
		FreedBytes: int64(before.InUseBytes) - int64(after.InUseBytes),
		DurationUS: d.Microseconds(),
	})
}
