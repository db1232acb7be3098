package loadbalancer_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

type env struct {
	kit    *testkit.Kit
	sup    *supervision.Supervisor
	b      *loadbalancer.Balancer
	lb     *loadbalancer.Client
	events *testkit.Probe // *HealthChanged and *Rebalanced from the EventStream
}

// start runs the load balancer actor under a real supervisor and forwards
// its events to a probe.
func start(t *testing.T, cfg loadbalancer.Config, deps loadbalancer.Deps, opts ...testkit.Option) *env {
	t.Helper()
	kit := testkit.New(t, opts...)
	events := kit.NewProbe(t)
	sub := kit.System().EventStream.Subscribe(func(evt any) {
		switch evt.(type) {
		case *loadbalancer.HealthChanged, *loadbalancer.Rebalanced:
			kit.Root().Send(events.PID(), evt)
		}
	})
	t.Cleanup(func() { kit.System().EventStream.Unsubscribe(sub) })
	b := newBalancer(t, cfg)
	sup, err := supervision.Start(kit.System(), supervision.Spec{Name: "lb",
		Children: []supervision.ChildSpec{loadbalancer.ChildSpec(b, deps)}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(ctx) })
	return &env{kit: kit, sup: sup, b: b, lb: loadbalancer.NewClient(kit.Root(), sup.Whereis(loadbalancer.ChildID)), events: events}
}

func (e *env) best(t *testing.T, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for i := range n {
		node, err := e.lb.GetBestNode(ctx, fmt.Sprintf("request_%d", i))
		require.NoError(t, err)
		counts[node]++
	}
	return counts
}

func (e *env) expectHealth(t *testing.T, node string, from, to cluster.Health) {
	t.Helper()
	c := testkit.ExpectMsgType[*loadbalancer.HealthChanged](e.events)
	assert.Equal(t, []string{node, string(from), string(to)}, []string{c.Node, string(c.From), string(c.To)})
}

// The design's "distributes load evenly", through the actor: 300
// get_best_node calls over 3 nodes, each within 10% of 100.
func TestDesignDistributesLoadEvenly(t *testing.T) {
	e := start(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin, HealthCheckInterval: -1}, loadbalancer.Deps{})
	for _, n := range []string{"node1", "node2", "node3"} {
		require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: n}))
	}
	counts := e.best(t, 300)
	require.Len(t, counts, 3)
	for node, n := range counts {
		assert.Less(t, float64(abs(n-100))/100, 0.1, node)
	}
	assert.Equal(t, map[string]int{"node1": 100, "node2": 100, "node3": 100}, counts)
}

func abs(x int) int { return max(x, -x) }

// Every Client function, answered by the real actor under a supervisor.
func TestGenServerAPI(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 12, "b": 0, "c": 0})
	e := start(t, loadbalancer.Config{HealthCheckInterval: -1, RebalancingEnabled: new(false)},
		loadbalancer.Deps{Migrator: mig})

	_, err := e.lb.GetBestNode(ctx, "x")
	require.ErrorIs(t, err, loadbalancer.ErrNoNodes, "no node yet")
	require.ErrorIs(t, err, cluster.ErrNoMembers)

	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "a", Capacity: cluster.Capacity{Slots: 2}}))
	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "b", Capacity: cluster.Capacity{Slots: 1}}))
	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "c", Capacity: cluster.Capacity{Slots: 1}}))
	e.expectHealth(t, "a", "", cluster.Passing)
	e.expectHealth(t, "b", "", cluster.Passing)
	e.expectHealth(t, "c", "", cluster.Passing)

	// weighted_round_robin (the default) over slots 2, 1, 1.
	assert.Equal(t, map[string]int{"a": 4, "b": 2, "c": 2}, e.best(t, 8))

	require.ErrorIs(t, e.lb.SetStrategy(ctx, "fastest"), loadbalancer.ErrUnknownStrategy)
	require.NoError(t, e.lb.SetStrategy(ctx, loadbalancer.LeastConnections))
	e.lb.ReportNodeMetrics("a", cluster.Load{Sandboxes: 12, Mailbox: 9})
	e.lb.ReportNodeMetrics("b", cluster.Load{Mailbox: 1})
	e.lb.ReportNodeMetrics("c", cluster.Load{Mailbox: 4})
	node, err := e.lb.GetBestNode(ctx, "y") // the mailbox is FIFO: the reports are in
	require.NoError(t, err)
	assert.Equal(t, "b", node)

	d, err := e.lb.GetLoadDistribution(ctx)
	require.NoError(t, err)
	assert.Equal(t, loadbalancer.LeastConnections, d.Strategy)
	require.Len(t, d.Nodes, 3)
	assert.Equal(t, 12, d.Nodes[0].Sandboxes)
	assert.EqualValues(t, 4, d.Nodes[0].Placed)
	assert.Equal(t, 1, d.Nodes[1].Sandboxes, "b's report plus the placement since")
	assert.EqualValues(t, 3, d.Nodes[1].Placed)
	assert.InDelta(t, 12.0/13*100, d.Nodes[0].Percentage, 1e-9)
	assert.InDelta(t, 1, d.Spread, 1e-9, "c has none")

	require.NoError(t, e.lb.NodeDown(ctx, "b"))
	e.expectHealth(t, "b", cluster.Passing, cluster.Critical)
	assert.Equal(t, map[string]int{"c": 3}, e.best(t, 3), "b is down; c has fewer calls than a")
	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "b"}))
	e.expectHealth(t, "b", cluster.Critical, cluster.Passing)
	node, err = e.lb.GetBestNode(ctx, "z")
	require.NoError(t, err)
	assert.Equal(t, "b", node, "b is back, with its metrics")

	r, err := e.lb.TriggerRebalancing(ctx)
	require.NoError(t, err)
	assert.Equal(t, loadbalancer.SkipDisabled, r.Skipped)

	require.NoError(t, e.lb.SetRebalancing(ctx, true))
	r, err = e.lb.TriggerRebalancing(ctx)
	require.NoError(t, err)
	require.Empty(t, r.Skipped)
	assert.NotEmpty(t, r.Moves)
	assert.LessOrEqual(t, r.SpreadAfter, 0.3)
	assert.Same(t, r, testkit.ExpectMsgType[*loadbalancer.Rebalanced](e.events), "published")
	for _, m := range r.Moves {
		assert.Equal(t, "a", m.From)
	}
	assert.Equal(t, 12-len(r.Moves), mig.counts()["a"])
}

func TestMembershipEvents(t *testing.T) {
	ms := newMembership(passing("a", "b", "c")...)
	e := start(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin, HealthCheckInterval: -1},
		loadbalancer.Deps{Membership: ms})
	for _, n := range []string{"a", "b", "c"} {
		e.expectHealth(t, n, "", cluster.Passing)
	}
	require.Equal(t, 1, ms.subscribers())
	assert.Equal(t, map[string]int{"a": 2, "b": 2, "c": 2}, e.best(t, 6), "synced on start")

	ms.Down("b")
	e.expectHealth(t, "b", cluster.Passing, cluster.Critical)
	assert.Equal(t, map[string]int{"a": 3, "c": 3}, e.best(t, 6), "node_down removes b")
	// The cluster's own placements pass over b too, even if offered.
	node, err := e.b.Place(ctx, "p", passing("b"))
	require.ErrorIs(t, err, cluster.ErrNoMembers, node)

	ms.Set(cluster.Member{Name: "b", Capacity: cluster.Capacity{Slots: 4}})
	e.expectHealth(t, "b", cluster.Critical, cluster.Passing)
	assert.Equal(t, map[string]int{"a": 2, "b": 2, "c": 2}, e.best(t, 6), "node_up restores b")

	ms.Set(cluster.Member{Name: "c", Load: cluster.Load{Draining: true}}) // node_updated
	assert.Equal(t, map[string]int{"a": 3, "b": 3}, e.best(t, 6), "draining c takes no more")
	d, err := e.lb.GetLoadDistribution(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, d.Nodes[1].Weight, "capacity from the event")

	require.NoError(t, e.sup.Stop(ctx))
	assert.Zero(t, ms.subscribers(), "unsubscribed on stop")
}

func TestRebalanceAfterReport(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 8, "b": 0})
	e := start(t, loadbalancer.Config{HealthCheckInterval: -1}, loadbalancer.Deps{Migrator: mig})
	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "a"}))
	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "b"}))
	e.events.ReceiveN(2) // health

	e.lb.ReportNodeMetrics("a", cluster.Load{Sandboxes: 8})
	r := testkit.ExpectMsgType[*loadbalancer.Rebalanced](e.events)
	assert.Len(t, r.Moves, 4)
	assert.Equal(t, map[string]int{"a": 4, "b": 4}, mig.counts())

	// Within the cooldown a new imbalance waits.
	e.lb.ReportNodeMetrics("b", cluster.Load{Sandboxes: 0})
	d, err := e.lb.GetLoadDistribution(ctx)
	require.NoError(t, err)
	assert.Greater(t, d.Spread, 0.3)
	e.events.ExpectNoMsg(20 * time.Millisecond)
}

// The periodic check runs every HealthCheckInterval (default 5 s, on the
// virtual clock): it syncs with the membership and rebalances.
func TestPeriodicHealthCheck(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		ms := newMembership(
			cluster.Member{Name: "a", Health: cluster.Passing, Load: cluster.Load{Sandboxes: 10}},
			cluster.Member{Name: "b", Health: cluster.Passing},
			cluster.Member{Name: "gone", Health: cluster.Passing})
		mig := newMigrator(map[string]int{"a": 10, "b": 0})
		e := start(t, loadbalancer.Config{}, loadbalancer.Deps{Membership: ms, Migrator: mig},
			testkit.WithTimeout(time.Minute))
		e.events.ReceiveN(3) // a, b, gone: up
		t0 := time.Now()

		// A member that leaves without an event is forgotten at the check.
		ms.Vanish("gone")

		e.expectHealth(t, "gone", cluster.Passing, "")
		assert.Equal(t, loadbalancer.DefaultHealthCheckInterval, time.Since(t0))
		r := testkit.ExpectMsgType[*loadbalancer.Rebalanced](e.events)
		assert.Len(t, r.Moves, 5)
		assert.Equal(t, loadbalancer.DefaultHealthCheckInterval, time.Since(t0), "in the same check")
		assert.Equal(t, map[string]int{"a": 5, "b": 5}, mig.counts())

		// Balanced now: later checks publish nothing.
		e.events.ExpectNoMsg(3 * loadbalancer.DefaultHealthCheckInterval)
		d, err := e.lb.GetLoadDistribution(ctx)
		require.NoError(t, err)
		assert.Len(t, d.Nodes, 2)
	})
}

func TestMetrics(t *testing.T) {
	mig := newMigrator(map[string]int{"a": 6, "b": 0})
	e := start(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin, HealthCheckInterval: -1},
		loadbalancer.Deps{Migrator: mig})
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(e.b.Metrics().Collector()))

	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "a", Load: cluster.Load{Sandboxes: 6}}))
	require.NoError(t, e.lb.NodeUp(ctx, cluster.Member{Name: "b"}))
	e.best(t, 4)
	r, err := e.lb.TriggerRebalancing(ctx)
	require.NoError(t, err)
	require.Len(t, r.Moves, 3) // a 8, b 2 → 5, 5 (at 6, 4 the spread is 0.33)
	_, err = e.lb.GetLoadDistribution(ctx)
	require.NoError(t, err)

	got := map[string]float64{}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetValue() + "}"
			}
			got[key] = value(m)
		}
	}
	assert.Equal(t, map[string]float64{
		"otpbox_loadbalancer_placements_total{a}":     2,
		"otpbox_loadbalancer_placements_total{b}":     2,
		"otpbox_loadbalancer_node_load{a}":            5,
		"otpbox_loadbalancer_node_load{b}":            5,
		"otpbox_loadbalancer_node_accepts{a}":         1,
		"otpbox_loadbalancer_node_accepts{b}":         1,
		"otpbox_loadbalancer_spread":                  0,
		"otpbox_loadbalancer_rebalances_total":        1,
		"otpbox_loadbalancer_migrations_total{moved}": 3, "otpbox_loadbalancer_migrations_total{failed}": 0,
	}, got)
}

func value(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

// The Balancer outlives the actor: the cluster keeps placing through it
// while the actor restarts, concurrently with reports.
func TestRestartKeepsBalancer(t *testing.T) {
	ms := newMembership(passing("a", "b")...)
	e := start(t, loadbalancer.Config{Strategy: loadbalancer.RoundRobin, HealthCheckInterval: -1},
		loadbalancer.Deps{Membership: ms})
	require.NoError(t, e.lb.SetStrategy(ctx, loadbalancer.LeastConnections))

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				_, err := e.b.Place(ctx, fmt.Sprintf("%d-%d", g, i), passing("a", "b"))
				assert.NoError(t, err)
			}
		})
	}
	for i := range 50 {
		e.lb.ReportNodeMetrics("a", cluster.Load{Mailbox: i})
	}
	require.NoError(t, e.sup.TerminateChild(ctx, loadbalancer.ChildID))
	assert.Zero(t, ms.subscribers())
	_, err := e.lb.GetLoadDistribution(ctx)
	require.Error(t, err, "no actor while terminated")
	wg.Wait()

	_, err = e.sup.RestartChild(ctx, loadbalancer.ChildID)
	require.NoError(t, err)
	assert.Equal(t, 1, ms.subscribers())
	d, err := e.lb.GetLoadDistribution(ctx)
	require.NoError(t, err, "the client reaches the new incarnation through the stable name")
	assert.Equal(t, loadbalancer.LeastConnections, d.Strategy, "the strategy survives")
	placed := uint64(0)
	for _, n := range d.Nodes {
		placed += n.Placed
	}
	assert.EqualValues(t, 800, placed)
}
