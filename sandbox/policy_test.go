package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
)

func TestPolicyResolve(t *testing.T) {
	p := sandbox.Policy{
		Defaults: sandbox.Requirements{CPULimit: 250, Limits: sandbox.Limits{MaxSteps: 5000, MaxActors: 8}},
		Ceilings: sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 10_000, MaxDuration: 2 * time.Second}},
	}
	r, err := p.Resolve(sandbox.Requirements{})
	require.NoError(t, err)
	assert.EqualValues(t, 5000, r.Limits.MaxSteps, "the operator's default")
	assert.Equal(t, 8, r.Limits.MaxActors)
	assert.EqualValues(t, 250, r.CPULimit)
	assert.Equal(t, 2*time.Second, r.Limits.MaxDuration, "the engine's default of 5 s, lowered to the ceiling")
	assert.Equal(t, sandbox.DefaultLimits().MaxHeapBytes, r.Limits.MaxHeapBytes)

	r, err = p.Resolve(sandbox.Requirements{MemoryLimit: 256 << 10})
	require.NoError(t, err)
	assert.EqualValues(t, 256<<10, r.Limits.MaxHeapBytes, "memory_limit is the heap limit")
	r, err = p.Resolve(sandbox.Requirements{MemoryLimit: 8 << 20, Limits: sandbox.Limits{MaxHeapBytes: 1 << 20}})
	require.NoError(t, err)
	assert.EqualValues(t, 1<<20, r.Limits.MaxHeapBytes, "the smaller of the two")

	tests := []struct {
		req              sandbox.Requirements
		field, got, ceil string
	}{
		{sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 1e15}}, "max_steps", "1000000000000000", "10000"},
		{sandbox.Requirements{Limits: sandbox.Limits{MaxDuration: time.Hour}}, "max_duration", "1h0m0s", "2s"},
		{sandbox.Requirements{Limits: sandbox.Limits{MaxHeapBytes: 8 << 30}}, "max_heap_bytes", "8GiB", "64MiB"},
		{sandbox.Requirements{MemoryLimit: 1 << 30}, "memory_limit", "1GiB", "64MiB"},
		{sandbox.Requirements{CPULimit: 4000}, "cpu_limit", "4000m", "1000m"},
		{sandbox.Requirements{Limits: sandbox.Limits{MaxActors: 1e6}}, "max_actors", "1000000", "4096"},
	}
	for _, tt := range tests {
		_, err := p.Resolve(tt.req)
		var ce *sandbox.CeilingError
		require.ErrorAs(t, err, &ce, "%+v", tt.req)
		assert.ErrorIs(t, err, sandbox.ErrInvalidRequirements)
		assert.Equal(t, tt.field, ce.Field)
		assert.Equal(t, tt.got, ce.Value)
		assert.Equal(t, tt.ceil, ce.Ceiling)
	}
	_, err = p.Resolve(sandbox.Requirements{MemoryHint: -1})
	assert.ErrorIs(t, err, sandbox.ErrInvalidRequirements)
}

func TestPolicyMerge(t *testing.T) {
	base := sandbox.Policy{Ceilings: sandbox.Requirements{CPULimit: 500, Limits: sandbox.Limits{MaxSteps: 10}}}
	got := base.Merge(sandbox.Policy{Ceilings: sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 20, MaxActors: 3}}})
	assert.Equal(t, sandbox.Policy{Ceilings: sandbox.Requirements{CPULimit: 500, Limits: sandbox.Limits{MaxSteps: 20, MaxActors: 3}}}, got)
}

func TestRequirementsJSONUnits(t *testing.T) {
	var r sandbox.Requirements
	require.NoError(t, json.Unmarshal([]byte(`{"memory_limit": "1GiB", "memory_hint": 1024, "cpu_limit": "500m", "cpu_hint": "0.25",
		"limits": {"max_duration": "2s", "max_heap_bytes": "512KiB"}}`), &r))
	assert.Equal(t, sandbox.Requirements{MemoryLimit: 1 << 30, MemoryHint: 1024, CPULimit: 500, CPUHint: 250,
		Limits: sandbox.Limits{MaxDuration: 2 * time.Second, MaxHeapBytes: 512 << 10}}, r)
	require.NoError(t, json.Unmarshal([]byte(`{"cpu_limit": 1500}`), &r))
	assert.EqualValues(t, 1500, r.CPULimit)
	for _, bad := range []string{`{"cpu_limit": "fast"}`, `{"memory_limit": "big"}`, `{"limits": {"max_duration": "later"}}`, `{"memory": 1}`} {
		assert.Error(t, json.Unmarshal([]byte(bad), &r), bad)
	}
}

func TestCreateAboveCeiling(t *testing.T) {
	n := startNode(t, t.TempDir(), sandbox.Config{Policy: sandbox.Policy{Ceilings: sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 1000}}}})
	_, err := n.local.Create(n.ctx, "c", sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 1e15}})
	var ce *sandbox.CeilingError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "max_steps", ce.Field)
	_, err = n.local.Info(n.ctx, "c")
	require.ErrorIs(t, err, sandbox.ErrNotFound, "nothing was created")

	info, err := n.local.Create(n.ctx, "c", sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 500}})
	require.NoError(t, err)
	assert.EqualValues(t, 500, info.Requirements.Limits.MaxSteps)
	assert.Equal(t, sandbox.DefaultLimits().MaxDuration, info.Requirements.Limits.MaxDuration, "resolved limits are kept and shown")
}

// TestCPULimit: a sandbox that used its share of a core waits, or is told
// when it may run again, while other sandboxes run on.
func TestCPULimit(t *testing.T) {
	clock := struct{ now time.Time }{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := startNode(t, t.TempDir(), sandbox.Config{Clock: func() time.Time { return clock.now }})
	// The largest step budget: a fast machine would run out of a million steps
	// before 10 ms, and a bucket not emptied would let the next call run.
	limits := sandbox.Limits{MaxDuration: 10 * time.Millisecond, MaxSteps: 100_000_000}
	_, err := n.local.Create(n.ctx, "busy", sandbox.Requirements{CPULimit: 1, Limits: limits})
	require.NoError(t, err)
	n.create("other")
	// An execution stopped at its 10 ms limit ran a little more than the
	// 10 ms the bucket holds.
	_, err = n.local.Execute(n.ctx, "busy", "while True:\n  pass")
	var limit *sandbox.LimitError
	require.ErrorAs(t, err, &limit)
	require.Equal(t, sandbox.LimitDuration, limit.Limit, "stopped by the clock, not by a step budget")
	ctx, cancel := context.WithTimeout(n.ctx, 200*time.Millisecond)
	defer cancel()
	_, err = n.local.Execute(ctx, "busy", "1 + 1")
	var th *sandbox.ThrottledError
	require.ErrorAs(t, err, &th, "this clock stands still: the share never refills while the caller waits")
	assert.Positive(t, th.RetryAfter)
	assert.Equal(t, "2", n.exec("other", "1 + 1").Value, "other sandboxes are not slowed")
	_, err = n.local.Restart(n.ctx, "busy")
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(n.ctx, 100*time.Millisecond)
	defer cancel()
	_, err = n.local.Execute(ctx, "busy", "1 + 1")
	require.ErrorAs(t, err, &th, "a restart does not refill the share")

	clock.now = clock.now.Add(time.Hour)
	assert.Equal(t, "2", n.exec("busy", "1 + 1").Value, "the share refilled")
	if !errors.Is(err, sandbox.ErrThrottled) {
		t.Fatal(err)
	}
}
