package loadbalancer_test

import (
	"testing"
	"time"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upWith returns a balancer whose nodes are up with the sandboxes of mig
// (and health[node], default passing).
func upWith(t *testing.T, cfg loadbalancer.Config, mig *migrator, health map[string]cluster.Health) *loadbalancer.Balancer {
	t.Helper()
	b := newBalancer(t, cfg)
	for node, n := range mig.counts() {
		b.NodeUp(cluster.Member{Name: node, Health: health[node], Load: cluster.Load{Sandboxes: n}})
	}
	return b
}

func sandboxes(b *loadbalancer.Balancer) map[string]int {
	m := map[string]int{}
	for _, n := range b.Distribution().Nodes {
		m[n.Node] = n.Sandboxes
	}
	return m
}

func TestRebalanceMovesUntilUnderThreshold(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 12, "b": 3, "c": 3})
	b := upWith(t, loadbalancer.Config{}, mig, nil)
	require.InDelta(t, 0.75, b.Spread(), 1e-9) // (12-3)/12
	require.True(t, b.NeedsRebalancing())

	r := b.Rebalance(ctx, mig)
	require.Empty(t, r.Skipped)
	require.Empty(t, r.Failures)
	var path []string
	for _, m := range r.Moves {
		path = append(path, m.From+">"+m.To)
	}
	assert.Equal(t, []string{"a>b", "a>c", "a>b", "a>c", "a>b"}, path, "most loaded to least loaded, one at a time")
	assert.Equal(t, map[string]int{"a": 7, "b": 6, "c": 5}, mig.counts(), "the sandboxes really moved")
	assert.Equal(t, mig.counts(), sandboxes(b), "the balancer counts the moves")
	assert.InDelta(t, 0.75, r.SpreadBefore, 1e-9)
	assert.InDelta(t, 2.0/7, r.SpreadAfter, 1e-9)
	assert.LessOrEqual(t, r.SpreadAfter, 0.3)
	assert.False(t, b.NeedsRebalancing())

	// A report replaces the counted moves.
	b.Report("a", cluster.Load{Sandboxes: 7})
	assert.Equal(t, 7, sandboxes(b)["a"])
}

func TestRebalanceCooldown(t *testing.T) {
	clk := newFakeClock()
	mig := newMigrator(map[string]int{"a": 10, "b": 0})
	b := upWith(t, loadbalancer.Config{Clock: clk.Now}, mig, nil)
	r := b.Rebalance(ctx, mig)
	require.Len(t, r.Moves, 5)

	// Out of balance again at once.
	b.Report("a", cluster.Load{Sandboxes: 20})
	b.Report("b", cluster.Load{Sandboxes: 5})
	assert.False(t, b.NeedsRebalancing())
	r = b.Rebalance(ctx, mig)
	assert.Equal(t, loadbalancer.SkipCooldown, r.Skipped)
	assert.Empty(t, r.Moves)

	clk.Advance(loadbalancer.DefaultRebalanceCooldown - time.Second)
	assert.Equal(t, loadbalancer.SkipCooldown, b.Rebalance(ctx, mig).Skipped)

	clk.Advance(time.Second)
	assert.True(t, b.NeedsRebalancing())
	// A round counts what the nodes really host: balanced, it moves nothing.
	r = b.Rebalance(ctx, mig)
	assert.Equal(t, loadbalancer.SkipBalanced, r.Skipped)
	assert.Empty(t, r.Moves)
	r = b.Rebalance(ctx, newMigrator(map[string]int{"a": 20, "b": 5}))
	assert.Empty(t, r.Skipped)
	assert.NotEmpty(t, r.Moves)
}

// A round trusts what the nodes host over lagging reports.
func TestRebalanceCountsPlaced(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 3, "b": 3, "c": 3})
	b := upWith(t, loadbalancer.Config{}, mig, nil)
	b.Report("a", cluster.Load{Sandboxes: 9})
	b.Report("b", cluster.Load{})
	require.True(t, b.NeedsRebalancing(), "the reports say a is overloaded")
	r := b.Rebalance(ctx, mig)
	assert.Equal(t, loadbalancer.SkipBalanced, r.Skipped)
	assert.Empty(t, r.Moves)
	assert.Equal(t, map[string]int{"a": 3, "b": 3, "c": 3}, mig.counts())
}

func TestRebalanceSwitch(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 10, "b": 0})
	b := upWith(t, loadbalancer.Config{RebalancingEnabled: new(false)}, mig, nil)
	assert.False(t, b.NeedsRebalancing())
	assert.Equal(t, loadbalancer.SkipDisabled, b.Rebalance(ctx, mig).Skipped)
	assert.Equal(t, map[string]int{"a": 10, "b": 0}, mig.counts())

	b.SetRebalancing(true)
	assert.Len(t, b.Rebalance(ctx, mig).Moves, 5)
	assert.Equal(t, map[string]int{"a": 5, "b": 5}, mig.counts())
}

func TestRebalanceOnlyToAcceptingNodes(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 12, "busy": 0, "leaving": 0, "d": 3})
	b := upWith(t, loadbalancer.Config{}, mig, map[string]cluster.Health{"busy": cluster.Warning})
	b.Report("leaving", cluster.Load{Draining: true})
	r := b.Rebalance(ctx, mig)
	require.Empty(t, r.Skipped)
	require.Len(t, r.Moves, 4, "until a move would make d more loaded than a")
	for _, m := range r.Moves {
		assert.Equal(t, "d", m.To)
	}
	assert.Equal(t, map[string]int{"a": 8, "busy": 0, "leaving": 0, "d": 7}, mig.counts())
	assert.InDelta(t, 1, r.SpreadAfter, 1e-9, "busy (warning) still counts, at 0")
}

func TestRebalanceCapAndFailures(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 20, "b": 0, "c": 0})
	mig.refuse["c"] = true
	b := upWith(t, loadbalancer.Config{MaxMovesPerRound: 3}, mig, nil)
	r := b.Rebalance(ctx, mig)
	require.Empty(t, r.Skipped)
	assert.Equal(t, []loadbalancer.Move{{Identity: "a-0", From: "a", To: "b"}, {Identity: "a-2", From: "a", To: "b"}}, r.Moves)
	require.Len(t, r.Failures, 1)
	f := r.Failures[0]
	assert.Equal(t, loadbalancer.Move{Identity: "a-1", From: "a", To: "c"}, f.Move)
	assert.ErrorIs(t, f.Err, errRefused)
	assert.EqualError(t, f.Err, "migrate a-1 from a to c: migrator: target refused: c")
	assert.Equal(t, map[string]int{"a": 18, "b": 2, "c": 0}, sandboxes(b))
}

func TestRebalanceSkips(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 10, "b": 0})
	b := upWith(t, loadbalancer.Config{}, mig, nil)
	assert.Equal(t, loadbalancer.SkipNoMigrator, b.Rebalance(ctx, nil).Skipped)

	balanced := newMigrator(map[string]int{"a": 10, "b": 8})
	assert.Equal(t, loadbalancer.SkipBalanced, upWith(t, loadbalancer.Config{}, balanced, nil).Rebalance(ctx, balanced).Skipped)

	// 1 and 0 are out of balance, but moving would only swap them.
	pair := newMigrator(map[string]int{"a": 1, "b": 0})
	r := upWith(t, loadbalancer.Config{}, pair, nil).Rebalance(ctx, pair)
	assert.Equal(t, loadbalancer.SkipNoMove, r.Skipped)
	assert.Equal(t, map[string]int{"a": 1, "b": 0}, pair.counts())
}

func TestDistributionAndSpread(t *testing.T) {
	b := newBalancer(t, loadbalancer.Config{})
	b.NodeUp(cluster.Member{Name: "a", Capacity: cluster.Capacity{Slots: 10}, Load: cluster.Load{Sandboxes: 5, Mailbox: 2}})
	b.NodeUp(cluster.Member{Name: "b", Capacity: cluster.Capacity{Slots: 20}, Load: cluster.Load{Sandboxes: 5}})
	b.NodeUp(cluster.Member{Name: "c", Load: cluster.Load{Sandboxes: 90}})
	b.NodeDown("c")
	d := b.Distribution()
	assert.InDelta(t, 0.5, d.Spread, 1e-9, "(0.5 − 0.25) / 0.5 per slot; c is down")
	assert.InDelta(t, 0.3, d.Threshold, 0)
	require.Len(t, d.Nodes, 3)
	a, bb, c := d.Nodes[0], d.Nodes[1], d.Nodes[2]
	assert.Equal(t, "a", a.Node)
	assert.Equal(t, cluster.Passing, a.Health)
	assert.True(t, a.Accepts)
	assert.Equal(t, 10, a.Weight)
	assert.InDelta(t, 0.5, a.Load, 1e-9)
	assert.InDelta(t, 0.5, a.Share, 1e-9)
	assert.InDelta(t, 50, a.Percentage, 1e-9)
	assert.Equal(t, 2, a.Metrics.Mailbox)
	assert.InDelta(t, 0.25, bb.Load, 1e-9)
	assert.InDelta(t, 50, bb.Percentage, 1e-9)
	assert.Equal(t, cluster.Critical, c.Health)
	assert.False(t, c.Accepts)
	assert.Zero(t, c.Share, "a down node has no share")
	assert.Equal(t, 90, c.Sandboxes, "its last metrics are kept")
}
