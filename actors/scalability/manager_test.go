package scalability_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/actors/scalability"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

var ctx = context.Background()

const wait = 3 * time.Second

type env struct {
	kit    *testkit.Kit
	sup    *supervision.Supervisor
	sm     *scalability.Client
	events *testkit.Probe // every *Operation and *Decision published
}

// start runs a manager under a real one_for_one supervisor and forwards
// its events to a probe.
func start(t *testing.T, deps scalability.Deps, cfg scalability.Config, opts ...testkit.Option) *env {
	t.Helper()
	kit := testkit.New(t, opts...)
	events := kit.NewProbe(t)
	sub := kit.System().EventStream.Subscribe(func(evt any) {
		switch evt.(type) {
		case *scalability.Operation, *scalability.Decision:
			kit.Root().Send(events.PID(), evt)
		}
	})
	t.Cleanup(func() { kit.System().EventStream.Unsubscribe(sub) })
	sup, err := supervision.Start(kit.System(), supervision.Spec{Name: "scaling",
		Children: []supervision.ChildSpec{scalability.ChildSpec(deps, cfg)}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(ctx) })
	return &env{kit: kit, sup: sup, sm: scalability.NewClient(kit.Root(), sup.Whereis(scalability.ChildID)), events: events}
}

// config is the default policy with manual checks, for one machine.
func config() scalability.Config {
	c := scalability.DefaultConfig()
	c.CheckInterval = -1
	c.MinNodes = 1
	c.MaxNodes = 5
	c.JoinTimeout = wait
	return c
}

// finished waits for the published end of an operation.
func (e *env) finished(t *testing.T) *scalability.Operation {
	t.Helper()
	return e.events.Fish(func(m any) bool {
		op, ok := m.(*scalability.Operation)
		return ok && op.State != scalability.Running
	}).(*scalability.Operation)
}

// phase waits for a published phase of a running operation.
func (e *env) phase(t *testing.T, phase string) *scalability.Operation {
	t.Helper()
	return e.events.Fish(func(m any) bool {
		op, ok := m.(*scalability.Operation)
		return ok && op.Phase == phase
	}).(*scalability.Operation)
}

func (e *env) check(t *testing.T) *scalability.Decision {
	t.Helper()
	d, err := e.sm.TriggerScaleCheck(ctx)
	require.NoError(t, err)
	return d
}

func (e *env) status(t *testing.T) *scalability.ClusterStatus {
	t.Helper()
	st, err := e.sm.GetClusterStatus(ctx)
	require.NoError(t, err)
	return st
}

// gather returns the registry's samples as "name{v1,v2}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			if len(m.GetLabel()) > 0 {
				key += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						key += ","
					}
					key += l.GetValue()
				}
				key += "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// The design's test "auto-scaling works correctly": high reported load
// triggers one scale-out, visible as pending until it completes.
func TestHighReportedLoadTriggersScaleOut(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.9), loaded("node-b", 0.9))
	p := newProvider(ms, 0.9, true)
	clk := newClock()
	reg := prometheus.NewRegistry()
	e := start(t, scalability.Deps{Membership: ms, Provider: p, Migrator: newMigrator(ms, true), Clock: clk.Now,
		Registerer: reg}, config())
	t0 := clk.Now()

	d := e.check(t)
	require.NoError(t, d.Skipped)
	assert.Equal(t, scalability.ScaleOut, d.Kind)
	assert.Equal(t, scalability.ReasonHigh, d.Reason)
	assert.InDelta(t, 0.9, d.Utilization, 1e-9)
	require.NotNil(t, d.Operation)
	assert.Equal(t, 1, d.Operation.Count)
	assert.Equal(t, "add 1", recv(t, p.calls, wait), "AddNodes called once, for one node")

	st := e.status(t)
	require.Len(t, st.PendingOperations, 1)
	op := st.PendingOperations[0]
	assert.Equal(t, d.Operation.ID, op.ID)
	assert.Equal(t, scalability.ScaleOut, op.Kind)
	assert.Equal(t, scalability.Running, op.State)
	assert.Equal(t, 1, op.Count)
	assert.Equal(t, t0, op.StartedAt)
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	pending := doc["pending_operations"].([]any)[0].(map[string]any)
	assert.Equal(t, "scale_out", pending["kind"])
	assert.Equal(t, "running", pending["state"])
	assert.InDelta(t, 1, pending["count"], 0)
	assert.Contains(t, pending, "started_at")
	assert.EqualValues(t, 1, gather(t, reg)["otpbox_scaling_pending_operations{scale_out}"])

	d2 := e.check(t)
	assert.ErrorIs(t, d2.Skipped, scalability.ErrPending, "no duplicate while one is pending")
	assert.Nil(t, d2.Operation)
	none(t, p.calls)

	clk.Add(90 * time.Second)
	p.gate <- struct{}{}
	done := e.finished(t)
	assert.Equal(t, scalability.Succeeded, done.State)
	assert.Equal(t, []string{"auto-1"}, done.Nodes)
	assert.Equal(t, 90*time.Second, done.Duration())

	st = e.status(t)
	assert.Empty(t, st.PendingOperations)
	assert.Equal(t, 3, st.TotalNodes)
	assert.Equal(t, t0.Add(90*time.Second), st.LastScaleAction)
	hist, err := e.sm.History(ctx)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, d.Operation.ID, hist[0].ID)
	assert.Equal(t, t0, hist[0].StartedAt)
	assert.Equal(t, t0.Add(90*time.Second), hist[0].FinishedAt)

	m := gather(t, reg)
	assert.EqualValues(t, 1, m["otpbox_scaling_operations_total{scale_out,succeeded}"])
	assert.EqualValues(t, 1, m["otpbox_scaling_operation_duration_seconds{scale_out}"])
	assert.EqualValues(t, 0, m["otpbox_scaling_pending_operations{scale_out}"])
	assert.InDelta(t, 0.9, m["otpbox_cluster_utilization"], 1e-9)
	added, _ := p.snapshot()
	assert.Equal(t, []string{"auto-1"}, added)
}

func TestCooldownAndImmediate(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.9), loaded("node-b", 0.9))
	// Gated: each node joins when the test lets it, so that the loads
	// are what the test says when the join's membership event makes the
	// manager look again.
	p := newProvider(ms, 0.9, true)
	clk := newClock()
	cfg := config()
	cfg.Cooldown = 5 * time.Minute
	e := start(t, scalability.Deps{Membership: ms, Provider: p, Clock: clk.Now}, cfg)

	require.NotNil(t, e.check(t).Operation)
	p.gate <- struct{}{}
	require.Equal(t, scalability.Succeeded, e.finished(t).State)

	clk.Add(4 * time.Minute)
	d := e.check(t)
	assert.ErrorIs(t, d.Skipped, scalability.ErrCooldown)
	assert.ErrorContains(t, d.Skipped, "1m0s left")

	// At the immediate threshold the cooldown does not hold. The loads
	// change without events, so this check is the one that acts.
	for _, m := range ms.Members() {
		ms.mu.Lock()
		m.Load = loaded(m.Name, 0.96).Load
		ms.ms[m.Name] = m
		ms.mu.Unlock()
	}
	d = e.check(t)
	require.NoError(t, d.Skipped)
	assert.Equal(t, scalability.ReasonImmediate, d.Reason)
	require.NotNil(t, d.Operation)
	// The load falls before the new node joins: the check its join
	// brings about finds no member at the immediate threshold.
	ms.setAll(0.9)
	p.gate <- struct{}{}
	require.Equal(t, scalability.Succeeded, e.finished(t).State)

	assert.ErrorIs(t, e.check(t).Skipped, scalability.ErrCooldown)
	clk.Add(5*time.Minute + time.Second)
	d = e.check(t)
	require.NoError(t, d.Skipped, "cooldown over")
	assert.Equal(t, scalability.ReasonHigh, d.Reason)
	p.gate <- struct{}{}
	require.Equal(t, scalability.Succeeded, e.finished(t).State)
	assert.Equal(t, []string{"add 1", "add 1", "add 1"}, []string{<-p.calls, <-p.calls, <-p.calls})
}

func TestMaxNodes(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.9), loaded("node-b", 0.9), loaded("node-c", 0.9))
	p := newProvider(ms, 0.9, false)
	cfg := config()
	cfg.MaxNodes = 3
	e := start(t, scalability.Deps{Membership: ms, Provider: p}, cfg)
	d := e.check(t)
	assert.ErrorIs(t, d.Skipped, scalability.ErrMaxNodes)
	assert.ErrorIs(t, e.check(t).Skipped, scalability.ErrMaxNodes, "also at the immediate threshold")

	cfg.MaxNodes = 5
	cfg.ScaleOutStep = 4
	require.NoError(t, e.sm.SetConfig(ctx, cfg))
	d = e.check(t)
	require.NotNil(t, d.Operation)
	assert.Equal(t, 2, d.Operation.Count, "clamped to MaxNodes")
	assert.Equal(t, "add 2", recv(t, p.calls, wait))
	require.Equal(t, scalability.Succeeded, e.finished(t).State)
	assert.Len(t, ms.Members(), 5)
}

func TestBelowMinNodesScalesOut(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.5))
	p := newProvider(ms, 0.5, false)
	cfg := config()
	cfg.MinNodes = 3
	e := start(t, scalability.Deps{Membership: ms, Provider: p}, cfg)
	d := e.check(t)
	require.NoError(t, d.Skipped)
	assert.Equal(t, scalability.ReasonBelowMin, d.Reason)
	assert.Equal(t, 2, d.Operation.Count)
	require.Equal(t, scalability.Succeeded, e.finished(t).State)
	assert.Equal(t, []string{"auto-1", "auto-2", "node-a"}, ms.names())
	assert.Equal(t, scalability.ReasonInBetween, e.check(t).Reason)
}

// A node that just started sees no member yet (not even itself): it must
// not take the empty view for a cluster below MinNodes.
func TestNoOperationBeforeSelfJoins(t *testing.T) {
	ms := newMembers("node-a", loaded("node-b", 0.99))
	p := newProvider(ms, 0.5, false)
	cfg := config()
	cfg.MinNodes = 3
	e := start(t, scalability.Deps{Membership: ms, Provider: p}, cfg)
	d := e.check(t)
	assert.Equal(t, scalability.ReasonNotReady, d.Reason)
	assert.Nil(t, d.Operation)
}

// Low load: the scale-in picks the node with the fewest sandboxes (not
// this one), drains it, waits for it to empty, and only then removes it.
func TestLowLoadScalesIn(t *testing.T) {
	ms := newMembers("node-a",
		node("node-a", 100, 0, 0.05, 0.05), node("node-b", 100, 5, 0.05, 0.05),
		node("node-c", 100, 1, 0.05, 0.05), node("node-d", 100, 2, 0.05, 0.05))
	p, mig := newProvider(ms, 0, false), newMigrator(ms, false)
	cfg := config()
	cfg.MinNodes = 2
	e := start(t, scalability.Deps{Membership: ms, Provider: p, Migrator: mig}, cfg)

	d := e.check(t)
	require.NoError(t, d.Skipped)
	assert.Equal(t, scalability.ScaleIn, d.Kind)
	assert.Equal(t, scalability.ReasonLow, d.Reason)
	require.NotNil(t, d.Operation)
	assert.Equal(t, []string{"node-c"}, d.Operation.Nodes)
	assert.Equal(t, "drain node-c", recv(t, mig.calls, wait))

	e.phase(t, "waiting for node-c to empty")
	st := e.status(t)
	require.Len(t, st.PendingOperations, 1)
	assert.Equal(t, scalability.ScaleIn, st.PendingOperations[0].Kind)
	assert.Equal(t, []string{"node-c"}, st.PendingOperations[0].Nodes)
	assert.Equal(t, 1, st.DrainingNodes)
	none(t, p.calls) // node-c still has a sandbox

	ms.update("node-c", func(m *cluster.Member) { m.Load.Sandboxes = 0 })
	assert.Equal(t, "remove node-c", recv(t, p.calls, wait))
	op := e.finished(t)
	assert.Equal(t, scalability.Succeeded, op.State)
	assert.Equal(t, []string{"node-c"}, op.Removed)
	assert.Equal(t, []string{"node-a", "node-b", "node-d"}, ms.names())
	none(t, mig.calls)
}

func TestScaleInBounds(t *testing.T) {
	t.Run("min nodes", func(t *testing.T) {
		ms := newMembers("node-a", node("node-a", 100, 1, 0.05, 0.05), node("node-b", 100, 0, 0.05, 0.05))
		cfg := config()
		cfg.MinNodes = 2
		e := start(t, scalability.Deps{Membership: ms, Provider: newProvider(ms, 0, false), Migrator: newMigrator(ms, true)}, cfg)
		d := e.check(t)
		assert.Equal(t, scalability.ScaleIn, d.Kind)
		assert.ErrorIs(t, d.Skipped, scalability.ErrMinNodes)
		_, err := e.sm.TriggerScaleIn(ctx, "operator")
		assert.ErrorIs(t, err, scalability.ErrMinNodes)
	})
	t.Run("never self", func(t *testing.T) {
		ms := newMembers("node-a", node("node-a", 100, 0, 0.05, 0.05), node("node-b", 100, 3, 0.05, 0.05))
		p := newProvider(ms, 0, false)
		e := start(t, scalability.Deps{Membership: ms, Provider: p, Migrator: newMigrator(ms, true)}, config())
		d := e.check(t)
		require.NotNil(t, d.Operation)
		assert.Equal(t, []string{"node-b"}, d.Operation.Nodes, "node-a has fewer sandboxes but runs the manager")
		require.Equal(t, scalability.Succeeded, e.finished(t).State)
		assert.Equal(t, []string{"node-a"}, ms.names())
	})
	t.Run("step of two, in turn", func(t *testing.T) {
		ms := newMembers("node-a", node("node-a", 100, 9, 0.05, 0.05), node("node-b", 100, 4, 0.05, 0.05),
			node("node-c", 100, 2, 0.05, 0.05), node("node-d", 100, 3, 0.05, 0.05))
		p, mig := newProvider(ms, 0, false), newMigrator(ms, true)
		cfg := config()
		cfg.MinNodes, cfg.ScaleInStep = 2, 3
		e := start(t, scalability.Deps{Membership: ms, Provider: p, Migrator: mig}, cfg)
		d := e.check(t)
		require.NotNil(t, d.Operation)
		assert.Equal(t, []string{"node-c", "node-d"}, d.Operation.Nodes, "clamped to MinNodes, fewest sandboxes first")
		op := e.finished(t)
		require.Equal(t, scalability.Succeeded, op.State, op.Error)
		assert.Equal(t, []string{"node-c", "node-d"}, op.Removed)
		assert.Equal(t, []string{"drain node-c", "remove node-c", "drain node-d", "remove node-d"},
			[]string{<-mig.calls, <-p.calls, <-mig.calls, <-p.calls})
	})
	t.Run("would overload", func(t *testing.T) {
		ms := newMembers("node-a", loaded("node-a", 0.4), loaded("node-b", 0.4))
		cfg := config()
		cfg.ScaleInThreshold, cfg.ScaleOutThreshold = 0.45, 0.5
		e := start(t, scalability.Deps{Membership: ms, Provider: newProvider(ms, 0, false), Migrator: newMigrator(ms, true)}, cfg)
		assert.ErrorIs(t, e.check(t).Skipped, scalability.ErrWouldOverload)
	})
	t.Run("no migrator", func(t *testing.T) {
		ms := newMembers("node-a", loaded("node-a", 0.1), loaded("node-b", 0.1))
		e := start(t, scalability.Deps{Membership: ms, Provider: newProvider(ms, 0, false)}, config())
		assert.ErrorIs(t, e.check(t).Skipped, scalability.ErrNoMigrator)
	})
}

func TestDrainTimeoutKeepsTheNode(t *testing.T) {
	ms := newMembers("node-a", node("node-a", 100, 0, 0.05, 0.05), node("node-b", 100, 3, 0.05, 0.05))
	p, mig := newProvider(ms, 0, false), newMigrator(ms, false)
	reg := prometheus.NewRegistry()
	cfg := config()
	cfg.DrainTimeout = 100 * time.Millisecond
	e := start(t, scalability.Deps{Membership: ms, Provider: p, Migrator: mig, Registerer: reg}, cfg)
	require.NotNil(t, e.check(t).Operation)
	op := e.finished(t)
	assert.Equal(t, scalability.Failed, op.State)
	assert.Contains(t, op.Error, scalability.ErrDrainTimeout.Error())
	assert.Contains(t, op.Error, "node-b still has 3 sandboxes")
	assert.Empty(t, op.Removed)
	none(t, p.calls)
	assert.Equal(t, []string{"node-a", "node-b"}, ms.names())
	assert.EqualValues(t, 1, gather(t, reg)["otpbox_scaling_operations_total{scale_in,failed}"])
	assert.ErrorIs(t, e.check(t).Skipped, scalability.ErrCooldown, "a failure starts the cooldown too")
}

func TestProviderFailure(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.9))
	p := newProvider(ms, 0.9, false)
	p.setAddErr(errors.New("quota exceeded"))
	reg := prometheus.NewRegistry()
	e := start(t, scalability.Deps{Membership: ms, Provider: p, Registerer: reg}, config())
	require.NotNil(t, e.check(t).Operation)
	op := e.finished(t)
	assert.Equal(t, scalability.Failed, op.State)
	assert.Equal(t, "add 1 nodes: quota exceeded", op.Error)
	hist, err := e.sm.History(ctx)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, scalability.Failed, hist[0].State)
	assert.EqualValues(t, 1, gather(t, reg)["otpbox_scaling_operations_total{scale_out,failed}"])
}

func TestGetOptimalNodeForSandbox(t *testing.T) {
	const (
		n = 8 * gib
	)
	warning := node("d", 10, 0, 0, 0)
	warning.Health = cluster.Warning
	critical := node("e", 10, 0, 0, 0)
	critical.Health = cluster.Critical
	draining := node("c", 10, 0, 0, 0)
	draining.Load.Draining = true
	ms := newMembers("a",
		node("a", 10, 5, 0.5, 0.5), // score .3·.5 + .3·.5 + .3·.5 = .45; 4 GiB, 2 cores free
		node("b", 10, 2, 0.2, 0.6), // .3·.8 + .3·.4 + .3·.8 = .60; 6.4 GiB, 1.6 cores
		draining, warning, critical,
		node("f", 10, 10, 0, 0),    // no free slot
		node("g", 10, 3, 0.9, 0.1), // .3·.1 + .3·.9 + .3·.7 = .51; 0.8 GiB, 3.6 cores
		node("h", 10, 2, 0.2, 0.6), // as b
	)
	zone := func(m cluster.Member) string {
		if m.Name == "h" {
			return "zone-2"
		}
		return "zone-1"
	}
	cfg := config()
	cfg.AutoScalingEnabled = false
	e := start(t, scalability.Deps{Membership: ms, Zone: zone}, cfg)
	for _, tc := range []struct {
		name string
		req  scalability.Requirements
		want string
	}{
		{"best score, smallest name among equals", scalability.Requirements{}, "b"},
		{"memory filters", scalability.Requirements{MemoryBytes: n / 10 * 2}, "b"},
		{"more memory than b has", scalability.Requirements{MemoryBytes: 6*gib + gib/2}, ""},
		{"cpu filters b, h", scalability.Requirements{CPU: 2}, "g"},
		{"cpu filters all but g", scalability.Requirements{CPU: 2.5}, "g"},
		{"locality by name", scalability.Requirements{Locality: "h"}, "h"},
		{"locality by zone", scalability.Requirements{Locality: "zone-2"}, "h"},
		{"locality does not beat a better score", scalability.Requirements{Locality: "a"}, "b"},
		{"locality of an excluded member", scalability.Requirements{Locality: "c"}, "b"},
		{"memory and cpu", scalability.Requirements{MemoryBytes: 3 * gib, CPU: 1.8}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.sm.GetOptimalNodeForSandbox(ctx, tc.req)
			if tc.want == "" {
				var nn *scalability.NoNodeError
				require.ErrorAs(t, err, &nn)
				assert.ErrorIs(t, err, scalability.ErrNoSuitableNode)
				assert.Equal(t, tc.req, nn.Requirements)
				assert.False(t, nn.ScalingOut)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestNoSuitableNodeScalesOut(t *testing.T) {
	ms := newMembers("node-a", node("node-a", 2, 2, 0.3, 0.3), node("node-b", 2, 2, 0.3, 0.3))
	p := newProvider(ms, 0, true)
	e := start(t, scalability.Deps{Membership: ms, Provider: p}, config())

	_, err := e.sm.GetOptimalNodeForSandbox(ctx, scalability.Requirements{MemoryBytes: 64 * gib})
	var nn *scalability.NoNodeError
	require.ErrorAs(t, err, &nn)
	assert.False(t, nn.ScalingOut, "no member could ever take 64 GiB: no scale-out")
	none(t, p.calls)

	_, err = e.sm.GetOptimalNodeForSandbox(ctx, scalability.Requirements{MemoryBytes: gib})
	require.ErrorAs(t, err, &nn)
	assert.True(t, nn.ScalingOut, "every slot is taken: scale out")
	assert.Equal(t, "add 1", recv(t, p.calls, wait))
	d := testkit.ExpectMsgType[*scalability.Decision](e.events)
	assert.Equal(t, scalability.ReasonNoNode, d.Reason)
	p.gate <- struct{}{}
	require.Equal(t, scalability.Succeeded, e.finished(t).State)
	got, err := e.sm.GetOptimalNodeForSandbox(ctx, scalability.Requirements{MemoryBytes: gib})
	require.NoError(t, err)
	assert.Equal(t, "auto-1", got)
}

func TestClusterStatusFigures(t *testing.T) {
	warning := node("b", 20, 6, 0.25, 0.75)
	warning.Health = cluster.Warning
	draining := node("c", 10, 9, 0.9, 0.9)
	draining.Load.Draining = true
	critical := node("d", 10, 5, 0.5, 0.5)
	critical.Health = cluster.Critical
	unbounded := node("e", 0, 100, 0, 0)
	unbounded.Capacity.MemoryBytes, unbounded.Capacity.CPUs = 16*gib, 8
	ms := newMembers("a", node("a", 10, 4, 0.5, 0.25), warning, draining, critical, unbounded)
	cfg := config()
	cfg.AutoScalingEnabled = false
	e := start(t, scalability.Deps{Membership: ms}, cfg)

	st := e.status(t)
	assert.Equal(t, 5, st.TotalNodes)
	assert.Equal(t, 4, st.ActiveNodes)
	assert.Equal(t, 1, st.DrainingNodes)
	assert.Equal(t, 30, st.TotalCapacity, "slots of a and b: c drains, d is down, e is unbounded")
	assert.Equal(t, 110, st.Sandboxes)
	assert.InDelta(t, 10.0/30, st.Utilization.Sandboxes, 1e-9)
	assert.InDelta(t, 6.0/32, st.Utilization.Memory, 1e-9, "(4 + 2 + 0 GiB) / 32 GiB")
	assert.InDelta(t, 4.0/16, st.Utilization.CPU, 1e-9, "(1 + 3 + 0 cores) / 16")
	assert.InDelta(t, 10.0/30, st.CurrentUtilization, 1e-9)
	assert.Equal(t, "a", st.Leader)
	assert.Equal(t, "a", st.Self)
	assert.False(t, st.AutoScalingEnabled)
	assert.NotNil(t, st.PendingOperations)

	raw, err := json.Marshal(st)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	for _, k := range []string{"total_nodes", "active_nodes", "total_capacity", "current_utilization", "pending_operations"} {
		assert.Contains(t, doc, k)
	}
	assert.InDelta(t, 30, doc["total_capacity"], 0)
	assert.Equal(t, []any{}, doc["pending_operations"])

	d := e.check(t)
	assert.Equal(t, scalability.ReasonInBetween, d.Reason)
	assert.Equal(t, scalability.Kind(0), d.Kind)
	assert.Equal(t, "none", d.Kind.String())
}

// Every client function through the real actor under a real supervisor,
// across a restart; stopping cancels a pending operation.
func TestClientUnderSupervisor(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.5), loaded("node-b", 0.5), loaded("node-c", 0.5))
	p, mig := newProvider(ms, 0.5, true), newMigrator(ms, true)
	reg := prometheus.NewRegistry()
	cfg := config()
	cfg.AutoScalingEnabled = false
	e := start(t, scalability.Deps{Membership: ms, Provider: p, Migrator: mig, Registerer: reg}, cfg)

	got, err := e.sm.GetConfig(ctx)
	require.NoError(t, err)
	assert.Equal(t, "node-a", got.Self, "defaults to the membership's self")
	assert.Equal(t, 0.8, got.ScaleOutThreshold)
	bad := got
	bad.MinNodes, bad.MaxNodes = 4, 3
	err = e.sm.SetConfig(ctx, bad)
	var ce *scalability.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "min_nodes", ce.Field)
	got2, err := e.sm.GetConfig(ctx)
	require.NoError(t, err)
	assert.Equal(t, got, got2, "a bad config changes nothing")

	good := got
	good.MaxNodes = 6
	require.NoError(t, e.sm.SetConfig(ctx, good))
	got2, err = e.sm.GetConfig(ctx)
	require.NoError(t, err)
	assert.Equal(t, 6, got2.MaxNodes)

	d := e.check(t)
	assert.Equal(t, scalability.ReasonInBetween, d.Reason)
	best, err := e.sm.GetOptimalNodeForSandbox(ctx, scalability.Requirements{})
	require.NoError(t, err)
	assert.Equal(t, "node-a", best)

	op, err := e.sm.TriggerScaleOut(ctx, "operator")
	require.NoError(t, err, "explicit triggers act with auto-scaling off")
	assert.Equal(t, "operator", op.Reason)
	assert.Equal(t, "add 1", recv(t, p.calls, wait))
	_, err = e.sm.TriggerScaleOut(ctx, "again")
	assert.ErrorIs(t, err, scalability.ErrPending)
	_, err = e.sm.TriggerScaleIn(ctx, "operator")
	assert.ErrorIs(t, err, scalability.ErrPending, "no scale-in while anything is pending")
	require.Len(t, e.status(t).PendingOperations, 1)

	// Stopping the manager cancels the operation and waits for its
	// goroutine; the new incarnation starts afresh.
	require.NoError(t, e.sup.TerminateChild(ctx, scalability.ChildID))
	assert.EqualValues(t, 1, gather(t, reg)["otpbox_scaling_operations_total{scale_out,cancelled}"])
	_, err = e.sup.RestartChild(ctx, scalability.ChildID)
	require.NoError(t, err, "the new incarnation adopts the registered metrics")
	assert.Empty(t, e.status(t).PendingOperations)
	hist, err := e.sm.History(ctx)
	require.NoError(t, err)
	assert.Empty(t, hist)
	added, _ := p.snapshot()
	assert.Empty(t, added, "AddNodes returned with the cancelled context")

	op, err = e.sm.TriggerScaleIn(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, scalability.ReasonManual, op.Reason)
	assert.Equal(t, []string{"node-b"}, op.Nodes, "equal sandboxes: by name, never self")
	assert.Equal(t, "drain node-b", recv(t, mig.calls, wait))
	assert.Equal(t, "remove node-b", recv(t, p.calls, wait))
	p.gate <- struct{}{}
	done := e.finished(t)
	require.Equal(t, scalability.Succeeded, done.State, done.Error)
	hist, err = e.sm.History(ctx)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, op.ID, hist[0].ID)
	assert.Equal(t, []string{"node-b"}, hist[0].Removed)
	assert.Equal(t, []string{"node-a", "node-c"}, ms.names())
	m := gather(t, reg)
	assert.EqualValues(t, 1, m["otpbox_scaling_operations_total{scale_in,succeeded}"])
	assert.EqualValues(t, 0, m["otpbox_scaling_pending_operations{scale_out}"])
}

func TestStartFails(t *testing.T) {
	kit := testkit.New(t)
	cfg := scalability.DefaultConfig()
	cfg.ScaleInThreshold = 0.9
	_, err := supervision.Start(kit.System(), supervision.Spec{Children: []supervision.ChildSpec{
		scalability.ChildSpec(scalability.Deps{Membership: newMembers("a")}, cfg)}})
	assert.ErrorIs(t, err, scalability.ErrInvalidConfig)
	_, err = supervision.Start(kit.System(), supervision.Spec{Children: []supervision.ChildSpec{
		scalability.ChildSpec(scalability.Deps{}, scalability.DefaultConfig())}})
	assert.ErrorIs(t, err, scalability.ErrNoMembership)
}

// A member's load reaching the immediate threshold triggers a scale-out at
// once, without a check and within the cooldown.
func TestImmediateOnMembershipEvent(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.5), loaded("node-b", 0.5))
	p := newProvider(ms, 0.5, false)
	cfg := config()
	cfg.Cooldown = time.Hour
	e := start(t, scalability.Deps{Membership: ms, Provider: p}, cfg)
	_, err := e.sm.TriggerScaleOut(ctx, "warm-up")
	require.NoError(t, err)
	require.Equal(t, scalability.Succeeded, e.finished(t).State)
	_, err = e.sm.TriggerScaleOut(ctx, "again")
	assert.ErrorIs(t, err, scalability.ErrCooldown)

	ms.setAll(0.97)
	d := e.events.Fish(func(m any) bool { d, ok := m.(*scalability.Decision); return ok && d.Operation != nil }).(*scalability.Decision)
	assert.Equal(t, scalability.ReasonImmediate, d.Reason)
	assert.GreaterOrEqual(t, d.Utilization, 0.95)
	require.Equal(t, scalability.Succeeded, e.finished(t).State)
	assert.Equal(t, []string{"add 1", "add 1"}, []string{<-p.calls, <-p.calls})
}

func TestOnlyTheLeaderScales(t *testing.T) {
	ms := newMembers("node-b", loaded("node-a", 0.9), loaded("node-b", 0.9))
	cfg := config()
	cfg.LeaderOnly = true
	e := start(t, scalability.Deps{Membership: ms, Provider: newProvider(ms, 0.9, false)}, cfg)
	d := e.check(t)
	assert.ErrorIs(t, d.Skipped, scalability.ErrNotLeader)
	assert.ErrorContains(t, d.Skipped, "node-a")
	assert.Equal(t, "node-a", e.status(t).Leader)
	assert.Equal(t, "node-b", e.status(t).Self)

	ms.update("node-a", func(m *cluster.Member) { m.Health = cluster.Critical })
	assert.NoError(t, e.check(t).Skipped, "node-a is down: node-b leads")
	require.Equal(t, scalability.Succeeded, e.finished(t).State)
}

func TestAutoScalingDisabledAndNoProvider(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.9))
	cfg := config()
	cfg.AutoScalingEnabled = false
	e := start(t, scalability.Deps{Membership: ms}, cfg)
	d := e.check(t)
	assert.Equal(t, scalability.ScaleOut, d.Kind)
	assert.ErrorIs(t, d.Skipped, scalability.ErrDisabled)
	assert.Equal(t, d, testkit.ExpectMsgType[*scalability.Decision](e.events), "the decision is published")
	_, err := e.sm.TriggerScaleOut(ctx, "operator")
	assert.ErrorIs(t, err, scalability.ErrNoProvider)
}

// TestPeriodicCheck runs on a virtual clock: the default 30 s interval
// passes at once.
func TestPeriodicCheck(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		ms := newMembers("node-a", loaded("node-a", 0.9))
		p := newProvider(ms, 0.5, false)
		cfg := config()
		cfg.CheckInterval = 0 // default
		e := start(t, scalability.Deps{Membership: ms, Provider: p}, cfg, testkit.WithTimeout(2*time.Minute))
		t0 := time.Now()
		d := testkit.ExpectMsgType[*scalability.Decision](e.events)
		assert.Equal(t, scalability.DefaultCheckInterval, time.Since(t0))
		require.NotNil(t, d.Operation, d.String())
		require.Equal(t, scalability.Succeeded, e.finished(t).State)
		cfg.CheckInterval = -1
		require.NoError(t, e.sm.SetConfig(ctx, cfg))
		e.events.ExpectNoMsg(10 * time.Minute)
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*scalability.Config)
		field string
	}{
		{"defaults", func(*scalability.Config) {}, ""},
		{"zero is defaults", func(c *scalability.Config) { *c = scalability.Config{} }, ""},
		{"one machine", func(c *scalability.Config) { c.MinNodes, c.MaxNodes = 1, 1 }, ""},
		{"min above max", func(c *scalability.Config) { c.MinNodes, c.MaxNodes = 5, 4 }, "min_nodes"},
		{"negative min", func(c *scalability.Config) { c.MinNodes = -1 }, "min_nodes"},
		{"negative step", func(c *scalability.Config) { c.ScaleOutStep = -2 }, "scale_out_step"},
		{"threshold above 1", func(c *scalability.Config) { c.ImmediateThreshold = 1.5 }, "immediate_threshold"},
		{"negative threshold", func(c *scalability.Config) { c.ScaleInThreshold = -0.1 }, "scale_in_threshold"},
		{"in not below out", func(c *scalability.Config) { c.ScaleInThreshold = 0.8 }, "scale_in_threshold"},
		{"out above immediate", func(c *scalability.Config) { c.ScaleOutThreshold = 0.97 }, "scale_out_threshold"},
		{"negative drain timeout", func(c *scalability.Config) { c.DrainTimeout = -time.Second }, "drain_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := scalability.DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ce *scalability.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.ErrorIs(t, err, scalability.ErrInvalidConfig)
			assert.Contains(t, err.Error(), fmt.Sprint(ce.Value))
		})
	}
	d := scalability.DefaultConfig()
	assert.True(t, d.AutoScalingEnabled)
	assert.Equal(t, 2, d.MinNodes)
	assert.Equal(t, 20, d.MaxNodes)
	assert.Equal(t, 0.8, d.ScaleOutThreshold)
	assert.Equal(t, 0.3, d.ScaleInThreshold)
	assert.Equal(t, 0.95, d.ImmediateThreshold)
	assert.Equal(t, 1, d.ScaleOutStep)
	assert.Equal(t, 1, d.ScaleInStep)
	assert.Equal(t, 30*time.Second, d.CheckInterval)
	assert.Equal(t, 5*time.Minute, d.Cooldown)
}
