package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	stripes = 16 // counter stripes, to keep parallel Gets off one cache line
	// l1SampleMask samples 1 in 64 L1 operations for the latency histogram:
	// two clock reads would double the cost of an L1 hit.
	l1SampleMask = 63
	// maxMissed bounds the keys remembered while a tier is degraded; beyond
	// it the tier is cleared on recovery instead.
	maxMissed = 10000
)

type stripe struct {
	hits, misses, errors atomic.Uint64
	_                    [40]byte
}

// reqStripe counts Get calls and the ones no tier answered.
type reqStripe struct {
	total, misses atomic.Uint64
	_             [48]byte
}

func randStripe() uint32 { return rand.Uint32() % stripes }

// tierState wraps a Tier with the Cache's counters, latency histogram and
// degradation state.
type tierState struct {
	id     TierID
	t      Tier
	c      [stripes]stripe
	lat    prometheus.Histogram
	sample uint32 // latency sample mask: 0 measures every call
	now    func() time.Time
	minB   time.Duration
	maxB   time.Duration

	degraded atomic.Bool
	probing  atomic.Bool  // recovered, but no operation has succeeded since
	retryAt  atomic.Int64 // UnixNano after which a degraded tier is probed

	mu      sync.Mutex // guards the fields below
	backoff time.Duration
	lastErr string
	since   time.Time
	missed  map[string]struct{} // keys written or deleted while degraded
	overrun bool                // more than maxMissed keys were missed
}

func newTierState(id TierID, t Tier, cfg *Config) *tierState {
	ts := &tierState{
		id: id, t: t, now: cfg.Clock, minB: cfg.MinBackoff, maxB: cfg.MaxBackoff,
		lat: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "otpbox_cache_latency_seconds",
			Help:        "Latency of cache tier operations (L1: sampled 1 in 64).",
			ConstLabels: prometheus.Labels{"tier": id.String()},
			Buckets:     []float64{1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1},
		}),
	}
	if id == L1Tier {
		ts.sample = l1SampleMask
	}
	return ts
}

func (ts *tierState) stripe() (*stripe, bool) {
	r := rand.Uint32()
	return &ts.c[r%stripes], (r/stripes)&ts.sample == 0
}

func (ts *tierState) sum() (hits, misses, errs uint64) {
	for i := range ts.c {
		hits += ts.c[i].hits.Load()
		misses += ts.c[i].misses.Load()
		errs += ts.c[i].errors.Load()
	}
	return
}

// get reads from the tier, counting the outcome.
func (ts *tierState) get(ctx context.Context, key string) ([]byte, bool, error) {
	s, measure := ts.stripe()
	var start time.Time
	if measure {
		start = time.Now()
	}
	v, ok, err := ts.t.Get(ctx, key)
	if measure {
		ts.lat.Observe(time.Since(start).Seconds())
	}
	switch {
	case err != nil:
		s.errors.Add(1)
	case ok:
		s.hits.Add(1)
		ts.succeeded()
	default:
		s.misses.Add(1)
		ts.succeeded()
	}
	return v, ok, err
}

// set and del run one write on the tier, sampling its latency.
func (ts *tierState) set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	_, measure := ts.stripe()
	if !measure {
		return ts.t.Set(ctx, key, val, ttl)
	}
	start := time.Now()
	err := ts.t.Set(ctx, key, val, ttl)
	ts.lat.Observe(time.Since(start).Seconds())
	return err
}

func (ts *tierState) del(ctx context.Context, key string) error {
	_, measure := ts.stripe()
	if !measure {
		return ts.t.Delete(ctx, key)
	}
	start := time.Now()
	err := ts.t.Delete(ctx, key)
	ts.lat.Observe(time.Since(start).Seconds())
	return err
}

// usable reports whether the tier may be used now. A degraded tier is
// skipped until its retry time; then the caller that finds it due brings it
// back: first it removes the keys written while the tier was away (so it
// cannot serve values older than the last Put or Delete), then marks it
// healthy. If that fails the backoff doubles.
func (ts *tierState) usable(ctx context.Context) bool {
	if !ts.degraded.Load() {
		return true
	}
	if ts.now().UnixNano() < ts.retryAt.Load() {
		return false
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.degraded.Load() {
		return true
	}
	if ts.now().UnixNano() < ts.retryAt.Load() {
		return false
	}
	var err error
	if ts.overrun {
		err = ts.t.Clear(ctx)
	} else {
		for k := range ts.missed {
			if err = ts.t.Delete(ctx, k); err != nil {
				break
			}
			delete(ts.missed, k)
		}
	}
	if err != nil {
		ts.failLocked(err)
		return false
	}
	// The backoff is kept until an operation succeeds (succeeded), so a
	// tier that fails again right after the probe waits twice as long.
	ts.missed, ts.overrun = nil, false
	ts.probing.Store(true)
	ts.degraded.Store(false)
	return true
}

// fail marks the tier degraded after err and schedules the next probe.
func (ts *tierState) fail(err error) {
	ts.mu.Lock()
	ts.failLocked(err)
	ts.mu.Unlock()
}

func (ts *tierState) failLocked(err error) {
	switch {
	case !ts.degraded.Load() && !ts.probing.Load():
		ts.backoff = ts.minB
		ts.since = ts.now()
	default:
		ts.backoff = min(max(2*ts.backoff, ts.minB), ts.maxB)
	}
	ts.probing.Store(false)
	ts.lastErr = err.Error()
	ts.retryAt.Store(ts.now().Add(ts.backoff).UnixNano())
	ts.degraded.Store(true)
}

// succeeded ends a recovery once an operation worked again.
func (ts *tierState) succeeded() {
	if !ts.probing.Load() {
		return
	}
	ts.mu.Lock()
	if ts.probing.Load() && !ts.degraded.Load() {
		ts.probing.Store(false)
		ts.backoff, ts.lastErr = 0, ""
	}
	ts.mu.Unlock()
}

// missedWrite records that key changed while the tier could not be written.
func (ts *tierState) missedWrite(key string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.overrun {
		return
	}
	if ts.missed == nil {
		ts.missed = make(map[string]struct{})
	}
	ts.missed[key] = struct{}{}
	if len(ts.missed) > maxMissed {
		ts.missed, ts.overrun = nil, true
	}
}

// write runs a Set (set true) or Delete on the tier; a failure degrades the
// tier and remembers the key. It reports whether the tier took the write.
func (ts *tierState) write(ctx context.Context, key string, set bool, val []byte, ttl time.Duration) (bool, error) {
	if !ts.usable(ctx) {
		ts.missedWrite(key)
		return false, ErrDegraded
	}
	var err error
	if set {
		err = ts.set(ctx, key, val, ttl)
	} else {
		err = ts.del(ctx, key)
	}
	if err == nil {
		ts.succeeded()
		return true, nil
	}
	if errors.Is(err, ErrOversized) {
		return false, err
	}
	s, _ := ts.stripe()
	s.errors.Add(1)
	ts.fail(err)
	ts.missedWrite(key)
	return false, err
}

func (ts *tierState) health() TierHealth {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	h := TierHealth{Degraded: ts.degraded.Load(), LastError: ts.lastErr}
	if h.Degraded {
		h.Since = ts.since
		h.RetryAt = time.Unix(0, ts.retryAt.Load())
	}
	return h
}
