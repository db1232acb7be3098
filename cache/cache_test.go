package cache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// The design's test: 1000 keys put, the first 500 read back, hit rate > 95%.
func TestDesignHitRate(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	t.Cleanup(func() { _ = rc.Close() })
	for _, tc := range []struct {
		name string
		cfg  cache.Config
	}{
		{"l1", cache.Config{}},
		{"l1+l3", cache.Config{L3: cache.NewL3(rc)}},
		{"l3 only", cache.Config{DisableL1: true, L3: cache.NewL3(rc)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t, tc.cfg)
			require.NoError(t, c.Clear(ctx, cache.AllTiers))
			for i := 1; i <= 1000; i++ {
				require.NoError(t, c.Put(ctx, fmt.Sprintf("key_%d", i), []byte(fmt.Sprintf("value_%d", i))))
			}
			hits := 0
			for i := 1; i <= 500; i++ {
				v, ok, err := c.Get(ctx, fmt.Sprintf("key_%d", i))
				require.NoError(t, err)
				if ok && string(v) == fmt.Sprintf("value_%d", i) {
					hits++
				}
			}
			assert.Greater(t, float64(hits)/500, 0.95)
			s := c.Stats()
			assert.EqualValues(t, 500, s.TotalRequests)
			assert.Greater(t, s.HitRate, 0.95)
		})
	}
}

func TestGetMissAndPromotion(t *testing.T) {
	l3 := newMemTier()
	c := mustNew(t, cache.Config{L3: l3})
	_, ok, err := c.Get(ctx, "nope")
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, c.Put(ctx, "k", []byte("v"), cache.InTier(cache.L3Tier)))
	_, inL1, _ := c.Tier(cache.L1Tier).Get(ctx, "k")
	assert.False(t, inL1, "InTier(L3) must not write L1")
	v, ok, _ := c.Get(ctx, "k")
	require.True(t, ok)
	assert.Equal(t, "v", string(v))
	_, inL1, _ = c.Tier(cache.L1Tier).Get(ctx, "k")
	assert.True(t, inL1, "an L3 hit is promoted into L1")

	// InTier removes the key from the other tiers: no older value survives.
	require.NoError(t, c.Put(ctx, "k", []byte("v2"), cache.InTier(cache.L1Tier)))
	_, inL3, _ := l3.Get(ctx, "k")
	assert.False(t, inL3)

	s := c.Stats()
	assert.EqualValues(t, 2, s.TotalRequests)
	assert.EqualValues(t, 1, s.Misses)
	assert.InDelta(t, 0.5, s.L3HitRate, 1e-9)
	js, err := json.Marshal(s)
	require.NoError(t, err)
	for _, f := range []string{"total_requests", "hit_rate", "l1_hit_rate", "l2_hit_rate", "l3_hit_rate", "miss_rate"} {
		assert.Contains(t, string(js), `"`+f+`"`)
	}

	require.NoError(t, c.Delete(ctx, "k"))
	_, ok, _ = c.Get(ctx, "k")
	assert.False(t, ok)
	assert.ErrorIs(t, c.Put(ctx, "k", nil, cache.InTier(cache.L2Tier)), cache.ErrNoTier)
}

func TestTTLExpiryInjectedClock(t *testing.T) {
	clk := newFakeClock()
	c := mustNew(t, cache.Config{Clock: clk.Now, DefaultTTL: 10 * time.Second})
	require.NoError(t, c.Put(ctx, "short", []byte("x"), cache.WithTTL(2*time.Second)))
	require.NoError(t, c.Put(ctx, "default", []byte("y")))

	clk.Advance(time.Second)
	_, ok, _ := c.Get(ctx, "short")
	assert.True(t, ok, "alive after 1s of 2s")

	clk.Advance(2 * time.Second)
	_, ok, _ = c.Get(ctx, "short")
	assert.False(t, ok, "expired after 3s")
	_, ok, _ = c.Get(ctx, "default")
	assert.True(t, ok, "default TTL 10s still alive at 3s")

	clk.Advance(8 * time.Second)
	_, ok, _ = c.Get(ctx, "default")
	assert.False(t, ok, "default TTL expired at 11s")
	assert.EqualValues(t, 2, c.Stats().Tiers["l1"].Expirations)
}

func TestOversizedGoesToLowerTiers(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	t.Cleanup(func() { _ = rc.Close() })
	// 512 KiB L1: entries over 512 bytes are refused by freecache.
	c := mustNew(t, cache.Config{L1Size: 512 << 10, L3: cache.NewL3(rc)})
	big := bytes.Repeat([]byte("b"), 4096)

	require.NoError(t, c.Put(ctx, "k", []byte("small")))
	require.NoError(t, c.Put(ctx, "k", big), "an oversized value is stored in L3")
	v, ok, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, big, v, "never the older small value from L1")
	s := c.Stats()
	assert.GreaterOrEqual(t, s.Tiers["l1"].Oversized, uint64(1))
	assert.EqualValues(t, 1, s.Tiers["l3"].Hits)
	assert.False(t, s.Tiers["l1"].Degraded, "oversized is not a failure")

	// With no lower tier the refusal is reported, not swallowed.
	only := mustNew(t, cache.Config{L1Size: 512 << 10})
	assert.ErrorIs(t, only.Put(ctx, "k", big), cache.ErrOversized)
}

func TestDegradedTierRecoversWithoutStaleValues(t *testing.T) {
	clk := newFakeClock()
	l3 := newMemTier()
	c := mustNew(t, cache.Config{Clock: clk.Now, L3: l3, MinBackoff: time.Second, MaxBackoff: 4 * time.Second})
	require.NoError(t, c.Put(ctx, "a", []byte("a1")))
	require.NoError(t, c.Put(ctx, "b", []byte("b1"), cache.InTier(cache.L3Tier)))

	l3.down.Store(true)
	_, ok, err := c.Get(ctx, "b")
	require.NoError(t, err, "a tier error is a miss, not an error")
	assert.False(t, ok)
	h := c.Health()
	assert.False(t, h.OK)
	assert.True(t, h.Tiers["l3"].Degraded)
	assert.Contains(t, h.Tiers["l3"].LastError, "down")
	v, ok, _ := c.Get(ctx, "a")
	assert.True(t, ok, "L1 keeps serving")
	assert.Equal(t, "a1", string(v))

	// While degraded: a Delete and a Put the tier misses.
	require.Error(t, c.Delete(ctx, "b"))
	require.NoError(t, c.Put(ctx, "a", []byte("a2")))

	l3.down.Store(false)
	_, ok, _ = c.Get(ctx, "b")
	assert.False(t, ok)
	assert.True(t, c.Health().Tiers["l3"].Degraded, "not probed before the backoff")

	clk.Advance(time.Second)
	require.NoError(t, c.Clear(ctx, cache.L1Tier))
	_, ok, _ = c.Get(ctx, "b")
	assert.False(t, ok, "b was deleted while L3 was down: the recovered L3 must not serve b1")
	assert.True(t, c.Health().OK, "recovered on first use after the backoff")
	v, ok, _ = c.Get(ctx, "a")
	if ok {
		assert.NotEqual(t, "a1", string(v), "a was rewritten while L3 was down")
	}
}

func TestBackoffDoubles(t *testing.T) {
	clk := newFakeClock()
	l3 := newMemTier()
	c := mustNew(t, cache.Config{DisableL1: true, Clock: clk.Now, L3: l3, MinBackoff: time.Second, MaxBackoff: 4 * time.Second})
	l3.down.Store(true)
	_, _, _ = c.Get(ctx, "x")
	start := clk.Now()
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		retry := c.Health().Tiers["l3"].RetryAt
		assert.Equal(t, want, retry.Sub(clk.Now()), "after %v", clk.Now().Sub(start))
		clk.Advance(want)
		_, _, _ = c.Get(ctx, "x")
	}
}

func TestRedisKilledAndRestarted(t *testing.T) {
	clk := newFakeClock()
	srv := redistest.Start(t)
	rc := srv.Client()
	t.Cleanup(func() { _ = rc.Close() })
	c := mustNew(t, cache.Config{Clock: clk.Now, L3: cache.NewL3(rc)})
	require.NoError(t, c.Put(ctx, "hot", []byte("h")))
	require.NoError(t, c.Put(ctx, "cold", []byte("c"), cache.InTier(cache.L3Tier)))

	srv.Kill()
	v, ok, err := c.Get(ctx, "hot")
	require.NoError(t, err)
	require.True(t, ok, "L1 serves while Redis is down")
	assert.Equal(t, "h", string(v))
	_, ok, err = c.Get(ctx, "cold")
	require.NoError(t, err)
	assert.False(t, ok, "an L3-only key is a miss, not an error")
	assert.True(t, c.Health().Tiers["l3"].Degraded)
	assert.GreaterOrEqual(t, c.Stats().Tiers["l3"].Errors, uint64(1))
	require.NoError(t, c.Put(ctx, "during", []byte("d")), "L1 accepts writes while L3 is down")

	// Restart Redis on the same port; the same client reconnects by itself.
	_, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	startRedisOn(t, p)
	clk.Advance(cache.DefaultMaxBackoff)
	require.NoError(t, c.Put(ctx, "after", []byte("a")))
	assert.True(t, c.Health().OK, "L3 recovered on first use after the backoff")
	got, err := rc.Get(ctx, cache.DefaultRedisPrefix+"after").Result()
	require.NoError(t, err)
	assert.Equal(t, "a", got)
}

func TestGetOrLoadStampede(t *testing.T) {
	c := mustNew(t, cache.Config{L3: newMemTier()})
	var calls atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte("loaded"), nil
	}
	var started, done sync.WaitGroup
	results := make([]string, 100)
	for i := range 100 {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			v, err := c.GetOrLoad(ctx, "k", load)
			if err == nil {
				results[i] = string(v)
			}
		}()
	}
	started.Wait()
	close(release)
	done.Wait()
	assert.EqualValues(t, 1, calls.Load(), "loader called once")
	for _, r := range results {
		assert.Equal(t, "loaded", r)
	}

	_, err := c.GetOrLoad(ctx, "bad", func(context.Context) ([]byte, error) { return nil, errors.New("boom") })
	assert.ErrorContains(t, err, "boom")
	_, ok, _ := c.Get(ctx, "bad")
	assert.False(t, ok, "a failed load stores nothing")
}

func TestMetrics(t *testing.T) {
	c := mustNew(t, cache.Config{L3: newMemTier()})
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	require.NoError(t, c.Put(ctx, "k", []byte("v")))
	_, _, _ = c.Get(ctx, "k")
	_, _, _ = c.Get(ctx, "missing")
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				require.Equal(t, "tier", l.GetName(), "labels are only tier")
				name += "/" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[name] = 1
			}
		}
	}
	assert.Equal(t, 2.0, got["otpbox_cache_requests_total/l1"], "every Get reaches L1")
	assert.Equal(t, 1.0, got["otpbox_cache_requests_total/l3"], "the L1 miss reaches L3")
	assert.Equal(t, 1.0, got["otpbox_cache_hits_total/l1"])
	assert.Equal(t, 0.0, got["otpbox_cache_hits_total/l3"])
	assert.Equal(t, 1.0, got["otpbox_cache_misses_total/l1"])
	assert.Equal(t, 1.0, got["otpbox_cache_misses_total/l3"])
	assert.Equal(t, 1.0, got["otpbox_cache_latency_seconds/l1"])
	assert.Equal(t, 1.0, got["otpbox_cache_latency_seconds/l3"])
}

func TestOwnerRendezvous(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []string
	}{
		{"none", nil},
		{"one", []string{"a"}},
		{"three", []string{"a", "b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts := map[string]int{}
			for i := range 3000 {
				counts[cache.Owner(tc.members, strconv.Itoa(i))]++
			}
			if len(tc.members) == 0 {
				assert.Equal(t, 3000, counts[""])
				return
			}
			for _, m := range tc.members {
				assert.InDelta(t, 3000/len(tc.members), counts[m], 300, "balanced: %v", counts)
			}
		})
	}
	// Removing a member moves only its keys.
	moved := 0
	for i := range 3000 {
		k := strconv.Itoa(i)
		before := cache.Owner([]string{"a", "b", "c"}, k)
		after := cache.Owner([]string{"a", "b"}, k)
		if before != "c" {
			assert.Equal(t, before, after)
		} else {
			moved++
		}
	}
	assert.Positive(t, moved)
}
