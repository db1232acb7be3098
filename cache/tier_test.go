package cache_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/testkit"
)

// runTierSuite is the conformance suite every Tier passes.
func runTierSuite(t *testing.T, tier cache.Tier) {
	t.Helper()
	require.NoError(t, tier.Clear(ctx))
	_, ok, err := tier.Get(ctx, "missing")
	require.NoError(t, err)
	assert.False(t, ok, "miss is found=false, nil error")

	for i := range 20 {
		require.NoError(t, tier.Set(ctx, fmt.Sprintf("k%d", i), []byte(fmt.Sprintf("v%d", i)), time.Minute))
	}
	require.NoError(t, tier.Set(ctx, "k0", []byte("new"), 0))
	v, ok, err := tier.Get(ctx, "k0")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "new", string(v), "overwrite")
	v, ok, _ = tier.Get(ctx, "k7")
	require.True(t, ok)
	assert.Equal(t, "v7", string(v))

	require.NoError(t, tier.Delete(ctx, "k7"))
	require.NoError(t, tier.Delete(ctx, "never-set"))
	_, ok, _ = tier.Get(ctx, "k7")
	assert.False(t, ok, "deleted")

	require.NoError(t, tier.Set(ctx, "empty", []byte{}, time.Minute))
	v, ok, _ = tier.Get(ctx, "empty")
	assert.True(t, ok, "an empty value is a hit")
	assert.Empty(t, v)

	require.NoError(t, tier.Clear(ctx))
	for _, k := range []string{"k0", "k1", "empty"} {
		_, ok, _ = tier.Get(ctx, k)
		assert.False(t, ok, "cleared %s", k)
	}
	_ = tier.Stats()
}

func TestTierConformance(t *testing.T) {
	t.Run("l1", func(t *testing.T) { runTierSuite(t, cache.NewL1(0, nil)) })
	t.Run("l3", func(t *testing.T) {
		srv := redistest.Start(t)
		rc := srv.Client()
		t.Cleanup(func() { _ = rc.Close() })
		runTierSuite(t, cache.NewL3(rc))
	})
	t.Run("l3 url", func(t *testing.T) {
		srv := redistest.Start(t)
		l3, closeFn, err := cache.NewL3URL("redis://" + srv.Addr + "/0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = closeFn() })
		runTierSuite(t, l3)
	})
	t.Run("l2 three nodes", func(t *testing.T) {
		nodes, _ := startLocalNodes(t, 3, newFakeClock())
		runTierSuite(t, cache.NewL2(nodes[0].node))
	})
	t.Run("l2 no members", func(t *testing.T) {
		kit := testkit.New(t)
		node, err := cache.NewNode(kit.System(), cache.NodeConfig{Live: func() []string { return nil }})
		require.NoError(t, err)
		_, _, err = cache.NewL2(node).Get(ctx, "k")
		assert.ErrorIs(t, err, cache.ErrNoMembers)
	})
	t.Run("mem", func(t *testing.T) { runTierSuite(t, newMemTier()) })
}

// An owner's store refuses oversized values across the actor boundary with
// ErrOversized, which the Cache treats as "skip", not as a failure.
func TestL2Oversized(t *testing.T) {
	kit := testkit.New(t)
	m := &membership{}
	var nodes []*cache.Node
	for i := range 2 {
		n, err := cache.NewNode(kit.System(), cache.NodeConfig{Name: fmt.Sprintf("o%d", i), Size: 512 << 10, Live: m.Live})
		require.NoError(t, err)
		nodes = append(nodes, n)
		m.addr = append(m.addr, n.Self())
	}
	big := make([]byte, 4096)
	var remoteKey string
	for i := 0; remoteKey == ""; i++ {
		if k := fmt.Sprint("k", i); cache.Owner(m.Live(), k) == nodes[1].Self() {
			remoteKey = k
		}
	}
	assert.ErrorIs(t, cache.NewL2(nodes[0]).Set(ctx, remoteKey, big, 0), cache.ErrOversized)

	c := mustNew(t, cache.Config{Members: nodes[0]})
	require.NoError(t, c.Put(ctx, remoteKey, big), "stored in L1")
	v, ok, _ := c.Get(ctx, remoteKey)
	assert.True(t, ok)
	assert.Len(t, v, 4096)
	assert.True(t, c.Health().OK, "oversized is not a failure")
	assert.EqualValues(t, 2, nodes[1].Stats().Oversized, "both refusals counted by the owner")
}
