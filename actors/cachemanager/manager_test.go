package cachemanager_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/actors/cachemanager"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

var ctx = context.Background()

// newFakeClock returns a manual clock at 2026-01-01.
func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// flakyTier is a working in-memory tier that can be taken down.
type flakyTier struct {
	mu   sync.Mutex
	m    map[string][]byte
	down atomic.Bool
}

var errDown = errors.New("flaky: down")

func (f *flakyTier) Get(_ context.Context, k string) ([]byte, bool, error) {
	if f.down.Load() {
		return nil, false, errDown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[k]
	return v, ok, nil
}
func (f *flakyTier) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	if f.down.Load() {
		return errDown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[k] = v
	return nil
}
func (f *flakyTier) Delete(_ context.Context, k string) error {
	if f.down.Load() {
		return errDown
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, k)
	return nil
}
func (f *flakyTier) Clear(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.m)
	return nil
}
func (f *flakyTier) Stats() cache.TierStats { return cache.TierStats{Entries: -1} }

// start runs a cache and its manager under a supervisor.
func start(t *testing.T, ccfg cache.Config, mcfg cachemanager.Config) (*supervision.Supervisor, *cachemanager.Client) {
	t.Helper()
	kit := testkit.New(t)
	c, err := cache.New(ccfg)
	require.NoError(t, err)
	sup, err := supervision.Start(kit.System(), supervision.Spec{Name: "cache",
		Children: []supervision.ChildSpec{cachemanager.ChildSpec(c, mcfg)}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(ctx) })
	return sup, cachemanager.NewClient(kit.Root(), sup.Whereis(cachemanager.ChildID), c)
}

func TestGenServerAPI(t *testing.T) {
	_, cm := start(t, cache.Config{}, cachemanager.Config{Interval: -1})
	require.NoError(t, cm.Put(ctx, "a", []byte("1")))
	require.NoError(t, cm.Put(ctx, "b", []byte("2"), cache.WithTTL(time.Minute)))
	v, ok, err := cm.Get(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "1", string(v))
	require.NoError(t, cm.Delete(ctx, "a"))
	_, ok, _ = cm.Get(ctx, "a")
	assert.False(t, ok)

	s, err := cm.GetCacheStats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 2, s.TotalRequests)
	assert.InDelta(t, 0.5, s.HitRate, 1e-9)
	assert.True(t, s.Health.OK)

	require.NoError(t, cm.ClearCache(ctx, cache.L1Tier))
	_, ok, _ = cm.Get(ctx, "b")
	assert.False(t, ok, "cleared")
	assert.ErrorIs(t, cm.ClearCache(ctx, cache.L3Tier), cache.ErrNoTier)

	v, err = cm.GetOrLoad(ctx, "c", func(context.Context) ([]byte, error) { return []byte("loaded"), nil })
	require.NoError(t, err)
	assert.Equal(t, "loaded", string(v))
}

func TestMessagesThroughMailbox(t *testing.T) {
	kit := testkit.New(t)
	c, err := cache.New(cache.Config{})
	require.NoError(t, err)
	pid := kit.Spawn(cachemanager.Props(c, cachemanager.Config{Interval: -1}))
	ask := func(msg any) any {
		res, err := kit.Root().RequestFuture(pid, msg, time.Second).Result()
		require.NoError(t, err)
		return res
	}
	assert.Equal(t, &cachemanager.Done{}, ask(&cachemanager.Put{Key: "k", Value: []byte("v"), TTL: time.Minute}))
	assert.Equal(t, &cachemanager.GetResult{Value: []byte("v"), Found: true}, ask(&cachemanager.Get{Key: "k"}))
	assert.Equal(t, &cachemanager.Done{}, ask(&cachemanager.Delete{Key: "k"}))
	assert.Equal(t, &cachemanager.GetResult{}, ask(&cachemanager.Get{Key: "k"}))
}

func TestOptimizeRollsUpAndRecoversTiers(t *testing.T) {
	clk := newFakeClock()
	l3 := &flakyTier{m: map[string][]byte{}}
	_, cm := start(t, cache.Config{Clock: clk.Now, L3: l3, MinBackoff: time.Second},
		cachemanager.Config{Interval: -1, Clock: clk.Now})
	require.NoError(t, cm.Put(ctx, "k", []byte("v")))
	for range 9 {
		_, _, _ = cm.Get(ctx, "k")
	}
	l3.down.Store(true)
	_, _, _ = cm.Get(ctx, "missing") // L3 fails: degraded
	l3.down.Store(false)

	clk.Advance(10 * time.Second)
	cm.OptimizeAllCaches()
	var s *cachemanager.CacheStats
	testkit.Eventually(t, 3*time.Second, func() error {
		var err error
		if s, err = cm.GetCacheStats(ctx); err != nil {
			return err
		}
		if s.Optimizations != 1 {
			return errors.New("not optimized yet")
		}
		return nil
	})
	assert.True(t, s.Health.OK, "optimize probed and recovered L3 without traffic")
	assert.EqualValues(t, 10, s.RollUp.Requests)
	assert.Equal(t, 10*time.Second, s.RollUp.Window)
	assert.InDelta(t, 1.0, s.RollUp.RequestsPerSecond, 1e-9)
	assert.InDelta(t, 0.9, s.RollUp.HitRate, 1e-9)
	assert.Equal(t, 0, s.RollUp.DegradedTiers)
}

func TestPeriodicMaintenance(t *testing.T) {
	_, cm := start(t, cache.Config{}, cachemanager.Config{Interval: -1})
	require.NoError(t, cm.Configure(ctx, 5*time.Millisecond))
	testkit.Eventually(t, 3*time.Second, func() error {
		s, err := cm.GetCacheStats(ctx)
		if err != nil {
			return err
		}
		if s.Optimizations < 2 {
			return errors.New("fewer than 2 ticks")
		}
		return nil
	})
	require.NoError(t, cm.Configure(ctx, 0))
}

func TestRestartKeepsCacheAndClient(t *testing.T) {
	sup, cm := start(t, cache.Config{}, cachemanager.Config{Interval: -1})
	require.NoError(t, cm.Put(ctx, "k", []byte("v")))
	cm.OptimizeAllCaches()
	require.NoError(t, sup.TerminateChild(ctx, cachemanager.ChildID))
	_, err := cm.GetCacheStats(ctx)
	require.Error(t, err, "no manager while terminated")
	v, ok, _ := cm.Get(ctx, "k")
	assert.True(t, ok, "the hot path does not need the actor")
	assert.Equal(t, "v", string(v))

	_, err = sup.RestartChild(ctx, cachemanager.ChildID)
	require.NoError(t, err)
	s, err := cm.GetCacheStats(ctx)
	require.NoError(t, err, "the client reaches the new incarnation through the stable name")
	assert.EqualValues(t, 0, s.Optimizations, "a new incarnation")
	assert.EqualValues(t, 1, s.TotalRequests, "the cache's counters survive")
}
