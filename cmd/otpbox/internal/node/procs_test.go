package node

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRaiseProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(was); cpuBudget.Store(0) })
	unset := func(string) string { return "" }

	runtime.GOMAXPROCS(1)
	budget, raised := raiseProcs(func(string) string { return "1" })
	assert.Equal(t, 1, budget)
	assert.False(t, raised, "GOMAXPROCS set in the environment is the operator's choice")
	assert.Equal(t, 1, runtime.GOMAXPROCS(0))

	budget, raised = raiseProcs(unset)
	assert.Equal(t, 1, budget)
	assert.True(t, raised)
	assert.Equal(t, minProcs, runtime.GOMAXPROCS(0), "a sync must not stall the only P")
	assert.Equal(t, 1, cpus(), "load and capacity are measured against the CPUs the runtime found")

	cpuBudget.Store(0)
	runtime.GOMAXPROCS(3)
	budget, raised = raiseProcs(unset)
	assert.Equal(t, 3, budget)
	assert.False(t, raised)
	assert.Equal(t, 3, cpus())
}
