package loadbalancer_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hashBalancer is a consistent_hash balancer whose nodes report load
// sandboxes each, so that the bound stays far off unless a test wants it.
func hashBalancer(t *testing.T, load int, nodes ...string) *loadbalancer.Balancer {
	t.Helper()
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.ConsistentHash})
	for _, n := range nodes {
		b.Report(n, cluster.Load{Sandboxes: load})
	}
	return b
}

func mapping(t *testing.T, b *loadbalancer.Balancer, keys int, cands []cluster.Member) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i := range keys {
		k := fmt.Sprintf("sandbox-%d", i)
		n, err := b.Place(ctx, k, cands)
		require.NoError(t, err)
		m[k] = n
	}
	return m
}

func TestConsistentHashStable(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	cands := passing(nodes...)
	b := hashBalancer(t, 10_000, nodes...)
	first := mapping(t, b, 1000, cands)
	assert.Equal(t, first, mapping(t, b, 1000, cands), "same key, same node")

	other := hashBalancer(t, 10_000, nodes...)
	assert.Equal(t, first, mapping(t, other, 1000, cands), "every member hashes alike")

	per := map[string]int{}
	for _, n := range first {
		per[n]++
	}
	for _, n := range nodes {
		assert.InDelta(t, 200, per[n], 50, "keys spread evenly: %v", per)
	}
}

func TestConsistentHashRemoveNodeMovesOnlyItsKeys(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	b := hashBalancer(t, 10_000, nodes...)
	before := mapping(t, b, 1000, passing(nodes...))
	after := mapping(t, b, 1000, passing("n1", "n2", "n4", "n5"))

	moved := map[string]int{}
	for k, was := range before {
		if was != "n3" {
			assert.Equal(t, was, after[k], "%s was not on n3", k)
			continue
		}
		moved[after[k]]++
	}
	assert.Len(t, moved, 4, "n3's keys spread over the other four: %v", moved)
	for _, n := range moved {
		assert.Positive(t, n)
	}
}

// boundedPlacements places keys on cands and checks, before every
// placement, that the chosen node holds fewer than ceil(c × (total+1)/n)
// sandboxes. loads starts with the reported loads; it returns the final
// loads.
func boundedPlacements(t *testing.T, b *loadbalancer.Balancer, keys []string, cands []cluster.Member, loads map[string]int, c float64) map[string]int {
	t.Helper()
	for _, k := range keys {
		total := 0
		for _, n := range loads {
			total += n
		}
		bound := int(math.Ceil(c * float64(total+1) / float64(len(cands))))
		node, err := b.Place(ctx, k, cands)
		require.NoError(t, err)
		require.Less(t, loads[node], bound, "placing %s on %s over the bound %d: %v", k, node, bound, loads)
		loads[node]++
	}
	return loads
}

func TestConsistentHashBoundedLoad(t *testing.T) {
	cands := passing("a", "b", "c")
	hot := make([]string, 300)
	for i := range hot {
		hot[i] = "hot-tenant"
	}

	t.Run("one hot key", func(t *testing.T) {
		b := hashBalancer(t, 0, "a", "b", "c")
		loads := boundedPlacements(t, b, hot, cands, map[string]int{"a": 0, "b": 0, "c": 0}, 1.25)
		for n, l := range loads {
			assert.LessOrEqual(t, l, 125, "%s: %v", n, loads)
		}
	})

	t.Run("without the bound it piles up", func(t *testing.T) {
		b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.ConsistentHash, HashLoadFactor: math.Inf(1)})
		counts := map[string]int{}
		for range 300 {
			n, err := b.Place(ctx, "hot-tenant", cands)
			require.NoError(t, err)
			counts[n]++
		}
		assert.Len(t, counts, 1)
	})

	t.Run("skewed reported load", func(t *testing.T) {
		b := hashBalancer(t, 0, "b", "c")
		b.Report("a", cluster.Load{Sandboxes: 200})
		keys := make([]string, 400)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d", i)
		}
		loads := boundedPlacements(t, b, keys, cands, map[string]int{"a": 200, "b": 0, "c": 0}, 1.25)
		assert.LessOrEqual(t, loads["a"], 250, "%v", loads) // ceil(1.25 × 600/3)
		assert.LessOrEqual(t, loads["b"], 250, "%v", loads)
		assert.LessOrEqual(t, loads["c"], 250, "%v", loads)
	})

	t.Run("tighter factor", func(t *testing.T) {
		b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.ConsistentHash, HashLoadFactor: 1})
		loads := boundedPlacements(t, b, hot, cands, map[string]int{"a": 0, "b": 0, "c": 0}, 1)
		assert.Equal(t, map[string]int{"a": 100, "b": 100, "c": 100}, loads)
	})
}
