package sandbox_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/engine"
)

// TestSharedCompileCache: a program compiled by one node's session is
// found through the shared cache by another node's, decoded, and runs.
func TestSharedCompileCache(t *testing.T) {
	c, err := cache.New(cache.Config{L1Size: 1 << 20})
	require.NoError(t, err)
	nodeA, nodeB := sandbox.NewSharedCompileCache(c), sandbox.NewSharedCompileCache(c)
	a := engine.NewSession(engine.Limits{}, engine.WithCompileCache(nodeA))
	b := engine.NewSession(engine.Limits{}, engine.WithCompileCache(nodeB))
	const code = "xs = [i * i for i in range(5)]\nlen(xs) * 6"

	res, err := a.Execute(t.Context(), code)
	require.NoError(t, err)
	assert.Equal(t, "30", res.Value)
	before := c.Stats().Hits

	res, err = b.Execute(t.Context(), code)
	require.NoError(t, err)
	assert.Equal(t, "30", res.Value)
	assert.Greater(t, c.Stats().Hits, before, "node B found A's program in the shared cache")
}

// TestManagerWithSharedCompileCache runs sandboxes whose programs go
// through the node's cache.
func TestManagerWithSharedCompileCache(t *testing.T) {
	c, err := cache.New(cache.Config{L1Size: 1 << 20})
	require.NoError(t, err)
	n := startNode(t, t.TempDir(), sandbox.Config{CompileCache: sandbox.NewSharedCompileCache(c)})
	n.create("cc")
	n.exec("cc", "v = 41")
	assert.Equal(t, "42", n.exec("cc", "v + 1").Value)
	assert.NotZero(t, c.Stats().TotalRequests)
}
