package memoryoptimizer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/actors/memoryoptimizer"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

var ctx = context.Background()

const (
	gib      = 1 << 30
	hostInfo = "MemTotal:       16777216 kB\nMemFree:         1000000 kB\nMemAvailable:    8388608 kB\n"
)

// hostFiles writes a fake /proc/meminfo and cgroup memory.max (content
// limit) and returns a Config reading them.
func hostFiles(t *testing.T, limit string) memoryoptimizer.Config {
	t.Helper()
	dir := t.TempDir()
	mi, cg := filepath.Join(dir, "meminfo"), filepath.Join(dir, "memory.max")
	require.NoError(t, os.WriteFile(mi, []byte(hostInfo), 0o600))
	require.NoError(t, os.WriteFile(cg, []byte(limit+"\n"), 0o600))
	return memoryoptimizer.Config{Interval: -1, MemInfoPath: mi, CgroupPaths: []string{cg, filepath.Join(dir, "absent")},
		MinSoftLimit: 4 * gib}
}

// recorder is a real Shrinker, Passivator and Reporter that records what it
// was asked. Passivation takes from a pool of idle sandboxes.
type recorder struct {
	mu      sync.Mutex
	shrinks int
	asked   []int
	idle    int
}

func (r *recorder) Shrink(context.Context) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shrinks++
	return 1024, nil
}

func (r *recorder) PassivateIdle(_ context.Context, n int) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, n)
	k := min(n, r.idle)
	r.idle -= k
	return k, nil
}

func (r *recorder) Outsized(context.Context) ([]memoryoptimizer.Outsized, error) {
	return []memoryoptimizer.Outsized{{ID: "sb-big", Bytes: 512 << 20, Mailbox: 9000}}, nil
}

func (r *recorder) snapshot() (int, []int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shrinks, append([]int(nil), r.asked...), r.idle
}

type env struct {
	kit    *testkit.Kit
	sup    *supervision.Supervisor
	mo     *memoryoptimizer.Client
	pid    *actor.PID
	events *testkit.Probe
}

// start runs an optimizer under a supervisor and forwards its Action
// events to a probe.
func start(t *testing.T, deps memoryoptimizer.Deps, cfg memoryoptimizer.Config, opts ...testkit.Option) *env {
	t.Helper()
	kit := testkit.New(t, opts...)
	events := kit.NewProbe(t)
	sub := kit.System().EventStream.Subscribe(func(evt any) {
		if a, ok := evt.(*memoryoptimizer.Action); ok {
			kit.Root().Send(events.PID(), a)
		}
	})
	t.Cleanup(func() { kit.System().EventStream.Unsubscribe(sub) })
	sup, err := supervision.Start(kit.System(), supervision.Spec{Name: "memory",
		Children: []supervision.ChildSpec{memoryoptimizer.ChildSpec(deps, cfg)}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(ctx) })
	pid := sup.Whereis(memoryoptimizer.ChildID)
	return &env{kit: kit, sup: sup, mo: memoryoptimizer.NewClient(kit.Root(), pid), pid: pid, events: events}
}

func TestStatsSane(t *testing.T) {
	for _, tc := range []struct {
		name, limit, source string
		want                uint64
	}{
		{name: "cgroup v2 max falls back to host MemTotal", limit: "max", source: "host", want: 16 * gib},
		{name: "cgroup v1 unlimited falls back to host", limit: "9223372036854771712", source: "host", want: 16 * gib},
		{name: "cgroup limit", limit: "2147483648", source: "cgroup", want: 2 * gib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, memoryoptimizer.Deps{}, hostFiles(t, tc.limit))
			s, err := e.mo.GetMemoryStats(ctx)
			require.NoError(t, err)
			assert.Positive(t, s.Total)
			assert.Positive(t, s.Used)
			assert.LessOrEqual(t, s.Used, s.Total)
			assert.Positive(t, s.Heap)
			assert.LessOrEqual(t, s.Heap, s.Total)
			assert.Positive(t, s.Stacks)
			assert.Positive(t, s.Goroutines)
			assert.Positive(t, s.HeapGoal)
			assert.Positive(t, s.GoLimit)
			assert.EqualValues(t, 8*gib, s.Available)
			assert.Equal(t, tc.want, s.Limit)
			assert.Equal(t, tc.source, s.LimitSource)
			assert.InDelta(t, float64(s.Used)/float64(s.Limit), s.Utilization, 1e-12)
			assert.InDelta(t, memoryoptimizer.DefaultThreshold, s.Threshold, 0)
			assert.Zero(t, s.Optimizations)
		})
	}
}

func kinds(actions []memoryoptimizer.Action) []string {
	var ks []string
	for _, a := range actions {
		ks = append(ks, a.Kind)
	}
	return ks
}

func TestOverThresholdTickActs(t *testing.T) {
	rec := &recorder{idle: 5}
	metrics := memoryoptimizer.NewMetrics()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(metrics.Collector()))
	cfg := hostFiles(t, "1048576") // 1 MiB: far over the threshold
	cfg.PassivateBatch = 2
	before := debug.SetMemoryLimit(-1)
	e := start(t, memoryoptimizer.Deps{Shrinker: rec, Passivator: rec, Reporter: rec, Metrics: metrics}, cfg)
	s0, err := e.mo.GetMemoryStats(ctx)
	require.NoError(t, err)
	require.Greater(t, s0.Utilization, 0.8)

	e.kit.Root().Send(e.pid, &memoryoptimizer.Tick{})

	var got []string
	for range 5 {
		got = append(got, testkit.ExpectMsgType[*memoryoptimizer.Action](e.events).Kind)
	}
	assert.Equal(t, []string{memoryoptimizer.KindSoftLimit, memoryoptimizer.KindGC, memoryoptimizer.KindShrink,
		memoryoptimizer.KindPassivate, memoryoptimizer.KindReport}, got)

	s, err := e.mo.GetMemoryStats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.Optimizations)
	assert.Greater(t, s.GCCycles, s0.GCCycles, "the pass ran the GC")
	assert.EqualValues(t, 4*gib, s.GoLimit, "soft limit lowered to the floor")

	shrinks, asked, idle := rec.snapshot()
	assert.Equal(t, 1, shrinks)
	assert.Equal(t, []int{2, 2, 2, 2}, asked, "batches until none idle is left (still over target)")
	assert.Zero(t, idle)

	mfs, err := reg.Gather()
	require.NoError(t, err)
	counts := map[string]float64{}
	for _, mf := range mfs {
		require.Equal(t, "otpbox_memory_actions_total", mf.GetName())
		for _, m := range mf.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	assert.Equal(t, map[string]float64{"soft_limit": 1, "gc": 1, "shrink": 1, "passivate": 1, "report": 1}, counts)

	require.NoError(t, e.sup.Stop(ctx))
	assert.Equal(t, before, debug.SetMemoryLimit(-1), "soft limit restored on stop")
}

func TestUnderThresholdNothingHappens(t *testing.T) {
	rec := &recorder{idle: 5}
	e := start(t, memoryoptimizer.Deps{Shrinker: rec, Passivator: rec, Reporter: rec}, hostFiles(t, "1099511627776"))
	e.kit.Root().Send(e.pid, &memoryoptimizer.Tick{})
	s, err := e.mo.GetMemoryStats(ctx) // the mailbox is FIFO: the Tick was handled
	require.NoError(t, err)
	require.Less(t, s.Utilization, 0.8)
	assert.Zero(t, s.Optimizations)
	e.events.ExpectNoMsg(50 * time.Millisecond)
	shrinks, asked, _ := rec.snapshot()
	assert.Zero(t, shrinks)
	assert.Empty(t, asked)
}

func TestConfigureThreshold(t *testing.T) {
	rec := &recorder{}
	e := start(t, memoryoptimizer.Deps{Shrinker: rec}, hostFiles(t, "1099511627776")) // 1 TiB
	assert.ErrorIs(t, e.mo.Configure(ctx, 1.5, 0), memoryoptimizer.ErrBadThreshold)

	require.NoError(t, e.mo.Configure(ctx, 1e-9, 0))
	s, err := e.mo.GetMemoryStats(ctx)
	require.NoError(t, err)
	assert.InDelta(t, 1e-9, s.Threshold, 0)
	e.kit.Root().Send(e.pid, &memoryoptimizer.Tick{})
	var got []string
	for range 3 {
		got = append(got, testkit.ExpectMsgType[*memoryoptimizer.Action](e.events).Kind)
	}
	assert.Equal(t, []string{memoryoptimizer.KindSoftLimit, memoryoptimizer.KindGC, memoryoptimizer.KindShrink}, got,
		"over the new threshold")
	s, err = e.mo.GetMemoryStats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.Optimizations)
}

func TestOptimizeOnDemand(t *testing.T) {
	rec := &recorder{}
	e := start(t, memoryoptimizer.Deps{Shrinker: rec}, hostFiles(t, "1099511627776"))
	res, err := e.mo.OptimizeMemory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{memoryoptimizer.KindGC, memoryoptimizer.KindShrink}, kinds(res.Actions),
		"under the threshold: no soft limit change and no passivation")

	e.mo.Trigger()
	testkit.Eventually(t, 3*time.Second, func() error {
		s, err := e.mo.GetMemoryStats(ctx)
		if err != nil {
			return err
		}
		if s.Optimizations != 2 {
			return fmt.Errorf("optimizations %d", s.Optimizations)
		}
		return nil
	})
}

// TestPeriodicCheckDefaultInterval runs on a virtual clock: the default
// 30 s interval passes at once.
func TestPeriodicCheckDefaultInterval(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		cfg := hostFiles(t, "1048576")
		cfg.Interval = 0 // default 30 s
		rec := &recorder{}
		e := start(t, memoryoptimizer.Deps{Shrinker: rec}, cfg, testkit.WithTimeout(2*time.Minute))
		t0 := time.Now()
		testkit.ExpectMsgType[*memoryoptimizer.Action](e.events)
		assert.Equal(t, memoryoptimizer.DefaultInterval, time.Since(t0).Round(time.Second))
		require.NoError(t, e.mo.Configure(ctx, 0, -1))
		if shrinks, _, _ := rec.snapshot(); shrinks > 1 {
			t.Fatal(errors.New("more than one pass"))
		}
	})
}

func TestCgroupV1AndRestartRestoresSoftLimit(t *testing.T) {
	dir := t.TempDir()
	v1 := filepath.Join(dir, "memory.limit_in_bytes")
	require.NoError(t, os.WriteFile(v1, []byte("1048576\n"), 0o600))
	cfg := memoryoptimizer.Config{Interval: -1, MemInfoPath: filepath.Join(dir, "absent"),
		CgroupPaths: []string{filepath.Join(dir, "memory.max"), v1}, MinSoftLimit: 4 * gib}
	before := debug.SetMemoryLimit(-1)
	e := start(t, memoryoptimizer.Deps{}, cfg)
	s, err := e.mo.GetMemoryStats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1<<20, s.Limit)
	assert.Equal(t, "cgroup", s.LimitSource)
	assert.Zero(t, s.Available, "no meminfo")

	res, err := e.mo.OptimizeMemory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{memoryoptimizer.KindSoftLimit, memoryoptimizer.KindGC}, kinds(res.Actions))
	assert.EqualValues(t, 4*gib, debug.SetMemoryLimit(-1))

	require.NoError(t, e.sup.TerminateChild(ctx, memoryoptimizer.ChildID))
	assert.Equal(t, before, debug.SetMemoryLimit(-1), "restored when the optimizer stops")
	_, err = e.sup.RestartChild(ctx, memoryoptimizer.ChildID)
	require.NoError(t, err)
	s, err = e.mo.GetMemoryStats(ctx)
	require.NoError(t, err, "the client reaches the new incarnation through the stable name")
	assert.Zero(t, s.Optimizations)
}

// TestConfiguredLimit: Config.Limit takes precedence over the cgroup and
// the host, and the latest actions are kept in the stats, oldest first.
func TestConfiguredLimit(t *testing.T) {
	cfg := hostFiles(t, "1099511627776") // 1 TiB cgroup: ignored
	cfg.Limit = 1 << 20                  // 1 MiB: far over the threshold
	cfg.KeepActions = 3
	rec := &recorder{}
	e := start(t, memoryoptimizer.Deps{Shrinker: rec}, cfg)
	s, err := e.mo.GetMemoryStats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1<<20, s.Limit)
	assert.Equal(t, "config", s.LimitSource)
	assert.Greater(t, s.Utilization, 0.8)
	assert.Empty(t, s.LastActions)

	res, err := e.mo.OptimizeMemory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{memoryoptimizer.KindSoftLimit, memoryoptimizer.KindGC, memoryoptimizer.KindShrink},
		kinds(res.Actions))
	_, err = e.mo.OptimizeMemory(ctx) // the soft limit is at its floor already: gc, shrink
	require.NoError(t, err)
	s, err = e.mo.GetMemoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{memoryoptimizer.KindShrink, memoryoptimizer.KindGC, memoryoptimizer.KindShrink},
		kinds(s.LastActions), "the three latest, oldest first")
	assert.EqualValues(t, 2, s.Optimizations)
}
