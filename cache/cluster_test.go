package cache_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/testkit"
)

// membership is a static member list the test edits, standing in for the
// cluster's membership.
type membership struct {
	mu   sync.Mutex
	addr []string
}

func (m *membership) Live() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.addr)
}

func (m *membership) remove(a string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addr = slices.DeleteFunc(m.addr, func(x string) bool { return x == a })
}

type testNode struct {
	id    string
	node  *cache.Node
	cache *cache.Cache
	stop  func()
}

// startLocalNodes starts n Nodes, each with its own Cache (L1 + L2), on one
// actor system, under different owner names: the owner actors, protobuf
// messages and mailboxes are the real ones, only the transport is local.
func startLocalNodes(t *testing.T, n int, clk *testkit.Clock) ([]*testNode, *membership) {
	t.Helper()
	kit := testkit.New(t)
	m := &membership{}
	var nodes []*testNode
	for i := range n {
		node, err := cache.NewNode(kit.System(), cache.NodeConfig{
			Name: fmt.Sprintf("owner-%d", i), Live: m.Live, Clock: clk.Now, Timeout: 2 * time.Second})
		require.NoError(t, err)
		c := mustNew(t, cache.Config{Members: node, Clock: clk.Now})
		nodes = append(nodes, &testNode{id: node.Self(), node: node, cache: c,
			stop: func() { _ = node.Stop() }})
		m.addr = append(m.addr, node.Self())
	}
	return nodes, m
}

func TestClusterInProcess(t *testing.T) {
	clk := newFakeClock()
	nodes, m := startLocalNodes(t, 3, clk)
	clusterScenario(t, nodes, m, clk)
}

// clusterScenario checks L2 ownership, invalidation on Put and Delete, and
// a member going away, on three nodes.
func clusterScenario(t *testing.T, nodes []*testNode, members *membership, clk *testkit.Clock) {
	t.Helper()
	a, b, c := nodes[0], nodes[1], nodes[2]

	// Ownership: keys Put on a are spread over the three owners' stores and
	// readable from every node through L2.
	const n = 300
	for i := range n {
		require.NoError(t, a.cache.Put(ctx, fmt.Sprintf("k%d", i), []byte(fmt.Sprintf("v%d", i))))
	}
	var total int64
	for _, x := range nodes {
		e := x.node.Stats().Entries
		assert.Greater(t, e, int64(n/6), "every member owns a share")
		total += e
	}
	assert.EqualValues(t, n, total, "each key is stored on exactly one owner")
	for i := range n {
		v, ok, err := b.cache.Get(ctx, fmt.Sprintf("k%d", i))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, fmt.Sprintf("v%d", i), string(v))
	}
	assert.EqualValues(t, n, b.cache.Stats().Tiers["l2"].Hits, "b read everything from L2")

	// Invalidation: b and c hold k1 in L1; a Put on a removes their copies.
	_, _, _ = c.cache.Get(ctx, "k1")
	for _, x := range []*testNode{b, c} {
		_, ok, _ := x.cache.Tier(cache.L1Tier).Get(ctx, "k1")
		require.True(t, ok)
	}
	start := time.Now()
	require.NoError(t, a.cache.Put(ctx, "k1", []byte("new")))
	put := time.Since(start)
	took := awaitL1Gone(t, start, []*testNode{b, c}, "k1")
	t.Logf("invalidation: Put returned after %v; stale L1 copies on 2 nodes gone %v after the Put started", put, took)
	for _, x := range nodes {
		v, ok, _ := x.cache.Get(ctx, "k1")
		require.True(t, ok)
		assert.Equal(t, "new", string(v))
	}

	// Delete invalidates as well.
	start = time.Now()
	require.NoError(t, c.cache.Delete(ctx, "k1"))
	took = awaitL1Gone(t, start, []*testNode{a, b}, "k1")
	t.Logf("invalidation: L1 copies on 2 nodes gone %v after the Delete started", took)
	for _, x := range nodes {
		_, ok, _ := x.cache.Get(ctx, "k1")
		assert.False(t, ok)
	}

	// A member goes away: while it is still listed, its keys fail on L2 and
	// L2 is degraded, but nothing wrong is served and L1 keeps serving.
	var cOwned string
	for i := range n {
		if k := fmt.Sprintf("k%d", i); a.cache.Tier(cache.L2Tier).(*cache.L2).Owner(k) == c.id {
			cOwned = k
			break
		}
	}
	require.NotEmpty(t, cOwned)
	_, _, _ = a.cache.Get(ctx, "k2") // in a's L1 after this
	c.stop()
	_, ok, err := a.cache.Get(ctx, cOwned+"-missing-in-l1")
	require.NoError(t, err)
	assert.False(t, ok)
	v, ok, _ := a.cache.Get(ctx, "k2")
	assert.True(t, ok)
	assert.Equal(t, "v2", string(v))

	// Membership drops c; after the backoff L2 recovers with two owners.
	members.remove(c.id)
	clk.Advance(cache.DefaultMaxBackoff)
	require.NoError(t, a.cache.Put(ctx, "after", []byte("x")))
	assert.True(t, a.cache.Health().OK, "%+v", a.cache.Health())
	v, ok, _ = b.cache.Get(ctx, "after")
	assert.True(t, ok)
	assert.Equal(t, "x", string(v))
}

// awaitL1Gone spins (yielding, never sleeping) until key is in none of
// the nodes' L1 and returns the time since start; it fails after 5s.
func awaitL1Gone(t *testing.T, start time.Time, nodes []*testNode, key string) time.Duration {
	t.Helper()
	deadline := start.Add(5 * time.Second)
	for {
		var left []string
		for _, x := range nodes {
			if _, ok, _ := x.cache.Tier(cache.L1Tier).Get(ctx, key); ok {
				left = append(left, x.id)
			}
		}
		if len(left) == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v still hold %s in L1 after 5s", left, key)
		}
		runtime.Gosched()
	}
}

// Two nodes sharing Redis (no L2): a Put on one drops the other's L1 copy
// through RedisBus.
func TestRedisBusInvalidation(t *testing.T) {
	srv := redistest.Start(t)
	var caches []*cache.Cache
	var wg sync.WaitGroup
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); wg.Wait() })
	for range 2 {
		rc := srv.Client()
		t.Cleanup(func() { _ = rc.Close() })
		bus := cache.NewRedisBus(rc, "")
		c := mustNew(t, cache.Config{L3: cache.NewL3(rc), Bus: bus})
		sub, err := bus.Subscribe(ctx, c)
		require.NoError(t, err)
		wg.Add(1)
		go func() { defer wg.Done(); _ = sub.Serve(sctx) }()
		caches = append(caches, c)
	}
	a, b := caches[0], caches[1]
	require.NoError(t, a.Put(ctx, "k", []byte("v1")))
	v, ok, _ := b.Get(ctx, "k") // from L3, promoted into b's L1
	require.True(t, ok)
	require.Equal(t, "v1", string(v))

	start := time.Now()
	require.NoError(t, a.Put(ctx, "k", []byte("v2")))
	deadline := start.Add(5 * time.Second)
	for {
		if _, ok, _ := b.Tier(cache.L1Tier).Get(ctx, "k"); !ok {
			break
		}
		require.False(t, time.Now().After(deadline), "b's L1 copy not invalidated after 5s")
		runtime.Gosched()
	}
	t.Logf("invalidation over Redis pub/sub: b's L1 copy gone %v after a's Put started", time.Since(start))
	v, _, _ = b.Get(ctx, "k")
	assert.Equal(t, "v2", string(v))
}
