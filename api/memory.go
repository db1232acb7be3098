package api

import (
	"context"
	"net/http"
	"time"
)

// MemoryAction is one action of the MemoryOptimizer: Kind is
// "soft_limit", "gc", "shrink", "passivate" or "report".
type MemoryAction struct {
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

// MemoryStats is the node's memory (GET /v1/memory), in bytes: the
// MemoryOptimizer's figures, then the Go runtime's detail.
type MemoryStats struct {
	// Total is all memory mapped by the Go runtime; Used is Total minus
	// what was returned to the OS; Available is the host's MemAvailable.
	Total     uint64 `json:"total"`
	Used      uint64 `json:"used"`
	Available uint64 `json:"available"`
	// Utilization is Used / Limit.
	Utilization float64 `json:"utilization"`
	Heap        uint64  `json:"heap"`
	Stacks      uint64  `json:"stacks"`
	GCCycles    uint64  `json:"gc_cycles"`
	Goroutines  uint64  `json:"goroutines"`
	// Limit is what Utilization is measured against; LimitSource is
	// "config", "cgroup", "go" or "host".
	Limit       uint64 `json:"limit"`
	LimitSource string `json:"limit_source"`
	// SoftLimit is the Go soft memory limit in force (0: none).
	SoftLimit uint64 `json:"soft_limit"`
	HeapGoal  uint64 `json:"heap_goal"`
	// Threshold is the utilization above which the optimizer acts;
	// Optimizations counts its passes.
	Threshold     float64        `json:"threshold"`
	Optimizations uint64         `json:"optimizations"`
	LastActions   []MemoryAction `json:"last_actions"`

	TotalBytes        uint64 `json:"total_bytes"`
	InUseBytes        uint64 `json:"in_use_bytes"`
	HeapObjectsBytes  uint64 `json:"heap_objects_bytes"`
	HeapUnusedBytes   uint64 `json:"heap_unused_bytes"`
	HeapFreeBytes     uint64 `json:"heap_free_bytes"`
	HeapReleasedBytes uint64 `json:"heap_released_bytes"`
	StacksBytes       uint64 `json:"stacks_bytes"`
	HeapGoalBytes     uint64 `json:"heap_goal_bytes"`
	// MemoryLimitBytes is GOMEMLIMIT, when set.
	MemoryLimitBytes uint64 `json:"memory_limit_bytes,omitempty"`
}

// OptimizeResult is one pass of the MemoryOptimizer (POST
// /v1/memory/optimize). Freed is the drop of Used as the optimizer saw
// it; FreedBytes is Before.Used − After.Used (negative if it grew).
type OptimizeResult struct {
	Actions    []MemoryAction `json:"actions"`
	Freed      uint64         `json:"freed"`
	Before     MemoryStats    `json:"before"`
	After      MemoryStats    `json:"after"`
	FreedBytes int64          `json:"freed_bytes"`
	DurationUS int64          `json:"duration_us"`
}

// Memory is the /v1/memory endpoints. It is safe for concurrent use.
type Memory struct{ c *Client }

// Memory returns the memory endpoints.
func (c *Client) Memory() *Memory { return &Memory{c} }

// Stats returns the node's memory figures.
func (m *Memory) Stats(ctx context.Context) (*MemoryStats, error) {
	var st MemoryStats
	err := m.c.call(ctx, request{method: http.MethodGet, path: "/v1/memory"}, &st)
	return result(&st, err)
}

// Optimize runs one optimizer pass now: GC and return memory to the OS,
// clear L1; above the threshold also lower the Go soft limit and
// passivate idle sandboxes.
func (m *Memory) Optimize(ctx context.Context) (*OptimizeResult, error) {
	var r OptimizeResult
	err := m.c.call(ctx, request{method: http.MethodPost, path: "/v1/memory/optimize"}, &r)
	return result(&r, err)
}
