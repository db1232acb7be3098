package loadbalancer_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The design's test: 300 requests over 3 nodes are distributed within 10%
// of the mean; round-robin gives exactly 100 each.
func TestRoundRobinEven(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin})
	counts := place(t, b, 300, passing("node1", "node2", "node3"))
	assert.Equal(t, map[string]int{"node1": 100, "node2": 100, "node3": 100}, counts)
	for node, n := range counts {
		assert.Less(t, math.Abs(float64(n)-100)/100, 0.1, node)
	}
}

func TestRoundRobinConcurrent(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin})
	cands := passing("a", "b", "c")
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
	)
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				node, err := b.Place(ctx, fmt.Sprintf("g%d-%d", g, i), cands)
				assert.NoError(t, err)
				mu.Lock()
				counts[node]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"a": 800, "b": 800, "c": 800}, counts)
}

func weighted(slots ...int) []cluster.Member {
	ms := passing("a", "b", "c", "d", "e")[:len(slots)]
	for i, s := range slots {
		ms[i].Capacity.Slots = s
	}
	return ms
}

// Smooth weighted round-robin: weights 5, 1, 1 give nginx's sequence
// a a b a c a a, and exact proportions.
func TestSmoothWeightedRoundRobin(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{}) // the default strategy
	require.Equal(t, loadbalancer.WeightedRoundRobin, b.Strategy())
	cands := weighted(5, 1, 1)
	var seq []string
	for i := range 7 {
		n, err := b.Place(ctx, fmt.Sprint(i), cands)
		require.NoError(t, err)
		seq = append(seq, n)
	}
	assert.Equal(t, "a a b a c a a", strings.Join(seq, " "))
	assert.Equal(t, map[string]int{"a": 500, "b": 100, "c": 100}, place(t, b, 700, cands))
}

func TestWeightsFromCapacity(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps []cluster.Capacity
		want map[string]int
	}{
		{name: "slots", caps: []cluster.Capacity{{Slots: 3}, {Slots: 1}}, want: map[string]int{"a": 300, "b": 100}},
		{name: "cpus without slots", caps: []cluster.Capacity{{CPUs: 2}, {CPUs: 6}}, want: map[string]int{"a": 100, "b": 300}},
		{name: "slots over cpus", caps: []cluster.Capacity{{Slots: 1, CPUs: 64}, {Slots: 3, CPUs: 1}}, want: map[string]int{"a": 100, "b": 300}},
		{name: "nothing: weight 1", caps: []cluster.Capacity{{}, {}}, want: map[string]int{"a": 200, "b": 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.WeightedRoundRobin})
			cands := passing("a", "b")
			for i := range cands {
				cands[i].Capacity = tc.caps[i]
			}
			assert.Equal(t, tc.want, place(t, b, 400, cands))
		})
	}
}

func TestLeastConnections(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.LeastConnections})
	cands := passing("a", "b", "c")
	b.Report("a", cluster.Load{Mailbox: 10})
	b.Report("b", cluster.Load{Mailbox: 2})
	b.Report("c", cluster.Load{Mailbox: 5})
	node, err := b.Place(ctx, "x", cands)
	require.NoError(t, err)
	assert.Equal(t, "b", node)

	b.Report("b", cluster.Load{Mailbox: 20})
	node, err = b.Place(ctx, "y", cands)
	require.NoError(t, err)
	assert.Equal(t, "c", node, "reacts to the report")

	// Placements since the report count as connections: c (now 6) takes
	// four until it reaches a (10); then a (fewer sandboxes) and c
	// alternate.
	counts := place(t, b, 11, cands)
	assert.Equal(t, map[string]int{"a": 4, "c": 7}, counts)

	// Ties on connections go to the fewest sandboxes.
	b.Report("a", cluster.Load{Mailbox: 1, Sandboxes: 9})
	b.Report("b", cluster.Load{Mailbox: 1, Sandboxes: 3})
	b.Report("c", cluster.Load{Mailbox: 1, Sandboxes: 5})
	node, err = b.Place(ctx, "z", cands)
	require.NoError(t, err)
	assert.Equal(t, "b", node)
}

func TestLeastResponseTime(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.LeastResponseTime})
	cands := passing("a", "b", "c")
	b.Report("a", cluster.Load{LatencyMS: 40})
	b.Report("b", cluster.Load{LatencyMS: 12})
	b.Report("c", cluster.Load{LatencyMS: 25})
	assert.Equal(t, map[string]int{"b": 5}, place(t, b, 5, cands))

	b.Report("b", cluster.Load{LatencyMS: 90})
	assert.Equal(t, map[string]int{"c": 5}, place(t, b, 5, cands), "reacts to the report")

	// Unknown latency counts as the mean of the known ones: c is 80,
	// neither 0 (it would win) …
	b.Report("a", cluster.Load{LatencyMS: 100, Mailbox: 5})
	b.Report("b", cluster.Load{LatencyMS: 60})
	b.Report("c", cluster.Load{})
	node, err := b.Place(ctx, "x", cands)
	require.NoError(t, err)
	assert.Equal(t, "b", node)
	// … nor infinite: without b, c is a's 100 and has fewer calls.
	b.NodeDown("b")
	node, err = b.Place(ctx, "y", cands)
	require.NoError(t, err)
	assert.Equal(t, "c", node)
}

func TestResourceBased(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.ResourceBased})
	cands := passing("a", "b", "c")
	for i := range cands {
		cands[i].Capacity = cluster.Capacity{Slots: 10, MemoryBytes: 1 << 30}
	}
	b.Report("a", cluster.Load{Memory: 0.9, CPU: 0.2, Sandboxes: 2})          // (0.9+0.2+0.2)/3 = 0.433
	b.Report("b", cluster.Load{Memory: 0.3, CPU: 0.3, Sandboxes: 3})          // (0.3+0.3+0.3)/3 = 0.3
	b.Report("c", cluster.Load{MemoryBytes: 1 << 29, CPU: 0.1, Sandboxes: 5}) // (0.5+0.1+0.5)/3 = 0.367
	node, err := b.Place(ctx, "x", cands)
	require.NoError(t, err)
	assert.Equal(t, "b", node)

	// Each placement adds a sandbox over b's slots: b reaches c's score
	// after two more, then they share.
	counts := place(t, b, 4, cands)
	assert.Equal(t, 3, counts["b"])
	assert.Equal(t, 1, counts["c"])

	b.Report("b", cluster.Load{Memory: 0.95, CPU: 0.95, Sandboxes: 9})
	node, err = b.Place(ctx, "y", cands)
	require.NoError(t, err)
	assert.Equal(t, "c", node, "reacts to the report")
}

func TestPlacePassesOverUnhealthy(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin})
	cands := passing("a", "b", "c", "d")
	b.NodeDown("b")
	b.NodeUp(cluster.Member{Name: "c", Health: cluster.Warning})
	b.Report("d", cluster.Load{Draining: true})
	assert.Equal(t, map[string]int{"a": 4}, place(t, b, 4, cands), "b down, c overloaded, d draining")

	b.NodeUp(cluster.Member{Name: "b"})
	assert.Equal(t, map[string]int{"a": 2, "b": 2}, place(t, b, 4, cands), "b is back")

	// A candidate the balancer knows nothing of decides for itself.
	cands = append(cands, cluster.Member{Name: "e", Health: cluster.Warning})
	assert.Equal(t, map[string]int{"a": 2, "b": 2}, place(t, b, 4, cands))
}

func TestPlaceBadInput(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{})
	_, err := b.Place(ctx, "x", nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, loadbalancer.ErrNoNodes)
	assert.ErrorIs(t, err, cluster.ErrNoMembers)
	assert.Contains(t, err.Error(), `place "x" among 0 nodes`)

	b.NodeDown("a")
	_, err = b.Place(ctx, "x", passing("a"))
	assert.ErrorIs(t, err, cluster.ErrNoMembers, "the only candidate is down")

	_, err = b.Best("x")
	assert.ErrorIs(t, err, loadbalancer.ErrNoNodes, "no node known to be up")

	err = b.SetStrategy("fastest")
	assert.ErrorIs(t, err, loadbalancer.ErrUnknownStrategy)
	assert.EqualError(t, err, `loadbalancer: unknown strategy: "fastest"`)
	assert.Equal(t, loadbalancer.WeightedRoundRobin, b.Strategy(), "unchanged")
}

func TestBestAmongNodesUp(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin})
	b.Report("metrics-only", cluster.Load{})
	for _, n := range []string{"n1", "n2", "n3"} {
		b.NodeUp(cluster.Member{Name: n})
	}
	counts := map[string]int{}
	for i := range 300 {
		n, err := b.Best(fmt.Sprint(i))
		require.NoError(t, err)
		counts[n]++
	}
	assert.Equal(t, map[string]int{"n1": 100, "n2": 100, "n3": 100}, counts, "a node with unknown health is not used")
}

func TestParseStrategy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want loadbalancer.Strategy
		err  bool
	}{
		{in: "round_robin", want: loadbalancer.RoundRobin},
		{in: ":weighted_round_robin", want: loadbalancer.WeightedRoundRobin},
		{in: "Least-Connections", want: loadbalancer.LeastConnections},
		{in: " least_response_time ", want: loadbalancer.LeastResponseTime},
		{in: "resource_based", want: loadbalancer.ResourceBased},
		{in: "consistent_hash", want: loadbalancer.ConsistentHash},
		{in: "", err: true},
		{in: "random", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := loadbalancer.ParseStrategy(tc.in)
			if tc.err {
				assert.ErrorIs(t, err, loadbalancer.ErrUnknownStrategy)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			var s loadbalancer.Strategy
			require.NoError(t, s.UnmarshalText([]byte(tc.in)))
			assert.Equal(t, tc.want, s)
		})
	}
	assert.Len(t, loadbalancer.Strategies(), 6)
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   loadbalancer.Config
		field string
		err   error
	}{
		{name: "unknown strategy", cfg: loadbalancer.Config{Strategy: "fastest"}, field: "Strategy", err: loadbalancer.ErrUnknownStrategy},
		{name: "negative threshold", cfg: loadbalancer.Config{RebalanceThreshold: -0.1}, field: "RebalanceThreshold", err: loadbalancer.ErrBadThreshold},
		{name: "threshold over 1", cfg: loadbalancer.Config{RebalanceThreshold: 1.5}, field: "RebalanceThreshold", err: loadbalancer.ErrBadThreshold},
		{name: "NaN threshold", cfg: loadbalancer.Config{RebalanceThreshold: math.NaN()}, field: "RebalanceThreshold", err: loadbalancer.ErrBadThreshold},
		{name: "negative moves", cfg: loadbalancer.Config{MaxMovesPerRound: -1}, field: "MaxMovesPerRound", err: loadbalancer.ErrNegative},
		{name: "load factor under 1", cfg: loadbalancer.Config{HashLoadFactor: 0.5}, field: "HashLoadFactor", err: loadbalancer.ErrBadLoadFactor},
		{name: "negative timeout", cfg: loadbalancer.Config{ActionTimeout: -1}, field: "ActionTimeout", err: loadbalancer.ErrNegative},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadbalancer.NewBalancer(tc.cfg)
			require.ErrorIs(t, err, tc.err)
			var ce *loadbalancer.ConfigError
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, tc.field, ce.Field)
			assert.True(t, strings.HasPrefix(err.Error(), "loadbalancer: config "+tc.field+" = "), err.Error())
		})
	}
	assert.EqualError(t, loadbalancer.Config{RebalanceThreshold: -0.1}.Validate(),
		"loadbalancer: config RebalanceThreshold = -0.1: rebalance threshold must be in (0, 1]")

	b := newBalancer(t, loadbalancer.Config{})
	c := b.Config()
	assert.Equal(t, loadbalancer.WeightedRoundRobin, c.Strategy)
	assert.Equal(t, loadbalancer.DefaultHealthCheckInterval, c.HealthCheckInterval)
	assert.True(t, *c.RebalancingEnabled)
	assert.InDelta(t, 0.3, c.RebalanceThreshold, 0)
	assert.Equal(t, loadbalancer.DefaultRebalanceCooldown, c.RebalanceCooldown)
	assert.Equal(t, loadbalancer.DefaultMaxMovesPerRound, c.MaxMovesPerRound)
	assert.InDelta(t, 1.25, c.HashLoadFactor, 0)
}

func TestSyncRepairsMissedEvents(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{})
	a := cluster.Member{Name: "a", Health: cluster.Passing, Load: cluster.Load{Sandboxes: 5}}
	bm := cluster.Member{Name: "b", Health: cluster.Passing}
	assert.Len(t, b.Sync([]cluster.Member{a, bm}), 2)
	b.Report("solo", cluster.Load{Sandboxes: 1})

	// Newer news than the membership's stand.
	b.Report("a", cluster.Load{Sandboxes: 9})
	b.NodeDown("b")
	assert.Empty(t, b.Sync([]cluster.Member{a, bm}))
	assert.Equal(t, map[string]int{"a": 9, "b": 0, "solo": 1}, sandboxes(b))
	assert.Equal(t, cluster.Critical, b.Distribution().Nodes[1].Health)

	// What the membership changed is applied.
	a.Load.Sandboxes = 7
	bm.Health = cluster.Warning
	changes := b.Sync([]cluster.Member{a, bm})
	require.Len(t, changes, 1)
	assert.Equal(t, loadbalancer.HealthChanged{Node: "b", From: cluster.Critical, To: cluster.Warning, At: changes[0].At}, *changes[0])
	assert.Equal(t, map[string]int{"a": 7, "b": 0, "solo": 1}, sandboxes(b))

	// A member no longer listed is forgotten; a node only reported is not.
	changes = b.Sync([]cluster.Member{bm})
	require.Len(t, changes, 1)
	assert.Equal(t, "a", changes[0].Node)
	assert.Empty(t, changes[0].To)
	assert.Equal(t, map[string]int{"b": 0, "solo": 1}, sandboxes(b))
}

// Offered only busy members (Consul's warning), the balancer places on
// one of them rather than nowhere; never on a draining or down one.
func TestPlaceOnBusyMembersWhenNoneAccepts(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin})
	busy := []cluster.Member{
		{Name: "w1", Health: cluster.Warning},
		{Name: "w2", Health: cluster.Warning, Load: cluster.Load{Draining: true}},
	}
	assert.Equal(t, map[string]int{"w1": 3}, place(t, b, 3, busy))
	assert.Equal(t, map[string]int{"p": 2}, place(t, b, 2, append(busy, cluster.Member{Name: "p", Health: cluster.Passing})),
		"a passing member is preferred")
	b.NodeDown("w1")
	_, err := b.Place(ctx, "x", busy)
	assert.ErrorIs(t, err, cluster.ErrNoMembers, "w1 is known down, w2 drains")
}
