package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultTTL is the TTL of a Put without WithTTL when Config.DefaultTTL is 0,
// as in the design (@cache_ttl 3600).
const DefaultTTL = time.Hour

// Default backoff of a degraded tier between probes.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// Config configures New. The zero value is a cache with only a 64 MiB L1.
type Config struct {
	// L1Size is the L1 size in bytes; 0 means DefaultL1Size. DisableL1
	// turns L1 off.
	L1Size    int
	DisableL1 bool
	// Members enables the cluster tier L2 over these members. If Members
	// also implements InvalidationSource, other nodes' Puts and Deletes
	// invalidate this node's L1; and this node's Puts and Deletes are sent
	// to every other live member. Nil means no L2 and no invalidation.
	Members Members
	// Bus, if set, also receives every Put and Delete key for the other
	// nodes' L1 (see RedisBus), for nodes that share L3 without Members.
	Bus Publisher
	// L3 is the Redis tier (see NewL3, NewL3URL); nil means none. Any Tier
	// works here.
	L3 Tier
	// DefaultTTL applies to Puts without WithTTL; default DefaultTTL.
	DefaultTTL time.Duration
	// PromoteTTL is the TTL of a copy promoted into a faster tier on a hit
	// in a slower one (the slower tiers do not report remaining TTLs);
	// default DefaultTTL. Invalidation, not this TTL, keeps copies fresh.
	PromoteTTL time.Duration
	// Clock drives L1 TTLs and degradation backoff; default time.Now.
	Clock func() time.Time
	// MinBackoff and MaxBackoff bound the wait before a degraded tier is
	// tried again; it doubles on each failed probe. Defaults
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// Cache is a multi-tier cache: L1 (this node's memory), L2 (the cluster's
// memory, each key on one owner) and L3 (Redis), each optional. All methods
// are safe for concurrent use and run on the caller's goroutine.
//
// A tier that fails is marked degraded and skipped until its retry time; a
// failed tier is never read from, so errors never yield wrong values.
type Cache struct {
	cfg   Config
	l1    *L1
	tiers []*tierState // configured tiers, fastest first
	by    [4]*tierState
	sf    singleflight.Group
	// reqs counts Gets not answered by L1, and Gets no tier answered;
	// TotalRequests is L1's hits plus reqs' total.
	reqs [stripes]reqStripe
}

// New builds a Cache from cfg.
func New(cfg Config) (*Cache, error) {
	if cfg.DefaultTTL <= 0 {
		cfg.DefaultTTL = DefaultTTL
	}
	if cfg.PromoteTTL <= 0 {
		cfg.PromoteTTL = cfg.DefaultTTL
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	var timer func() time.Time
	if cfg.Clock != nil {
		timer = cfg.Clock
	} else {
		cfg.Clock = time.Now
	}
	c := &Cache{cfg: cfg}
	add := func(id TierID, t Tier) {
		ts := newTierState(id, t, &c.cfg)
		c.tiers = append(c.tiers, ts)
		c.by[id] = ts
	}
	if !cfg.DisableL1 {
		c.l1 = NewL1(cfg.L1Size, timer)
		add(L1Tier, c.l1)
	}
	if cfg.Members != nil {
		add(L2Tier, NewL2(cfg.Members))
		if src, ok := cfg.Members.(InvalidationSource); ok && c.l1 != nil {
			src.OnInvalidate(func(keys []string) { c.InvalidateLocal(keys...) })
		}
	}
	if cfg.L3 != nil {
		add(L3Tier, cfg.L3)
	}
	if len(c.tiers) == 0 {
		return nil, fmt.Errorf("new cache: %w: every tier is disabled", ErrNoTier)
	}
	return c, nil
}

// Tier returns the tier id, or nil if it is not configured.
func (c *Cache) Tier(id TierID) Tier {
	if id <= AllTiers || int(id) >= len(c.by) || c.by[id] == nil {
		return nil
	}
	return c.by[id].t
}

// Get walks the tiers fastest first and returns the first hit, copying it
// into the faster tiers (with Config.PromoteTTL). Degraded tiers are skipped
// and a tier error counts as a miss of that tier. The error is non-nil only
// when ctx is done.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	tiers := c.tiers
	r := rand.Uint32()
	if c.l1 != nil && (r/stripes)&l1SampleMask != 0 {
		// Fast path: L1 is never degraded and never fails, so it is read
		// directly; 1 in 64 calls take the measured path below. An L1 hit
		// is counted once, as an L1 hit; Stats derives TotalRequests.
		l1 := &c.tiers[0].c[r%stripes]
		if v, err := c.l1.fc.Get(bytesOf(key)); err == nil {
			l1.hits.Add(1)
			return v, true, nil
		}
		l1.misses.Add(1)
		tiers = c.tiers[1:]
	}
	for i, ts := range tiers {
		if !ts.usable(ctx) {
			continue
		}
		v, ok, err := ts.get(ctx, key)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				c.reqs[r%stripes].total.Add(1)
				return nil, false, ctxErr
			}
			ts.fail(err)
			continue
		}
		if ok {
			if ts.id != L1Tier {
				c.reqs[r%stripes].total.Add(1)
			}
			promote := c.tiers[:len(c.tiers)-len(tiers)+i]
			for _, up := range promote {
				if up.usable(ctx) {
					_ = up.set(ctx, key, v, c.cfg.PromoteTTL)
				}
			}
			return v, true, nil
		}
	}
	s := &c.reqs[r%stripes]
	s.total.Add(1)
	s.misses.Add(1)
	return nil, false, ctx.Err()
}

// PutOption modifies one Put.
type PutOption func(*putOptions)

type putOptions struct {
	ttl  time.Duration
	tier TierID
}

// WithTTL sets the entry's TTL (default Config.DefaultTTL). L1 and L2 round
// it up to whole seconds.
func WithTTL(ttl time.Duration) PutOption { return func(o *putOptions) { o.ttl = ttl } }

// InTier stores the value in one tier only and deletes the key from the
// others, so no other tier keeps an older value.
func InTier(id TierID) PutOption { return func(o *putOptions) { o.tier = id } }

// applyPut applies opts; kept out of Put so o only escapes when options
// are given.
func applyPut(o putOptions, opts []PutOption) putOptions {
	p := &o
	for _, f := range opts {
		f(p)
	}
	return *p
}

// Put stores val under key in every tier (or only InTier's), slowest first,
// then asks the other live members to drop key from their L1. A tier that
// refuses the value as oversized is skipped (and loses any older value).
// Put returns nil if at least one tier stored the value; otherwise the
// errors of the tiers that failed.
func (c *Cache) Put(ctx context.Context, key string, val []byte, opts ...PutOption) error {
	o := putOptions{ttl: c.cfg.DefaultTTL}
	if len(opts) > 0 {
		o = applyPut(o, opts)
	}
	if o.tier != AllTiers && c.Tier(o.tier) == nil {
		return fmt.Errorf("put %q in %s: %w", key, o.tier, ErrNoTier)
	}
	var errs []error
	stored := false
	for i := len(c.tiers) - 1; i >= 0; i-- {
		ts := c.tiers[i]
		ok, err := ts.write(ctx, key, o.tier == AllTiers || o.tier == ts.id, val, o.ttl)
		if o.tier != AllTiers && o.tier != ts.id {
			continue
		}
		if ok {
			stored = true
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", ts.id, err))
		}
	}
	c.invalidatePeers(ctx, key)
	if stored {
		return nil
	}
	return fmt.Errorf("put %q: %w", key, errors.Join(errs...))
}

// Delete removes key from every tier, slowest first, and from the other
// live members' L1. A tier that cannot be reached now has the key removed
// when it recovers, before it serves again.
func (c *Cache) Delete(ctx context.Context, key string) error {
	var errs []error
	for i := len(c.tiers) - 1; i >= 0; i-- {
		ts := c.tiers[i]
		if _, err := ts.write(ctx, key, false, nil, 0); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ts.id, err))
		}
	}
	c.invalidatePeers(ctx, key)
	if len(errs) > 0 {
		return fmt.Errorf("delete %q: %w", key, errors.Join(errs...))
	}
	return nil
}

// Clear empties one tier, or all with AllTiers. Clearing L2 clears every
// live member's owned keys; clearing L1 clears only this node's L1.
func (c *Cache) Clear(ctx context.Context, id TierID) error {
	if id != AllTiers {
		ts := c.by[id]
		if c.Tier(id) == nil {
			return fmt.Errorf("clear %s: %w", id, ErrNoTier)
		}
		return ts.t.Clear(ctx)
	}
	var errs []error
	for _, ts := range c.tiers {
		if err := ts.t.Clear(ctx); err != nil {
			errs = append(errs, fmt.Errorf("clear %s: %w", ts.id, err))
		}
	}
	return errors.Join(errs...)
}

// Loader loads a missing value.
type Loader func(ctx context.Context) ([]byte, error)

// GetOrLoad returns key's value, loading and Putting it on a miss. Concurrent
// callers missing the same key share one load (single-flight); they all get
// its result, and the load runs with the first caller's ctx.
func (c *Cache) GetOrLoad(ctx context.Context, key string, load Loader, opts ...PutOption) ([]byte, error) {
	if v, ok, err := c.Get(ctx, key); ok || err != nil {
		return v, err
	}
	v, err, _ := c.sf.Do(key, func() (any, error) {
		if v, ok, _ := c.Get(ctx, key); ok { // a previous flight may have just filled it
			return v, nil
		}
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		_ = c.Put(ctx, key, v, opts...) // served even if no tier could keep it
		return v, nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %q: %w", key, err)
	}
	return v.([]byte), nil
}

// invalidatePeers asks every other live member (and the Bus) to drop key
// from its L1.
func (c *Cache) invalidatePeers(ctx context.Context, key string) {
	m := c.cfg.Members
	if m == nil && c.cfg.Bus == nil {
		return
	}
	keys := []string{key}
	if c.cfg.Bus != nil {
		_ = c.cfg.Bus.Publish(ctx, keys)
	}
	if m == nil {
		return
	}
	self := m.Self()
	for _, p := range m.Live() {
		if p != self {
			_ = m.Invalidate(ctx, p, keys)
		}
	}
}

// InvalidateLocal drops keys from this node's L1 only; Members and
// RedisBus call it when another node changed the keys.
func (c *Cache) InvalidateLocal(keys ...string) {
	if c.l1 == nil {
		return
	}
	for _, k := range keys {
		_ = c.l1.Delete(context.Background(), k)
	}
}

// Maintain probes every degraded tier whose retry time has come, without
// waiting for traffic: it reconciles the writes the tier missed and reads a
// probe key; a failure degrades it again with a doubled backoff. It returns
// the number of tiers still degraded.
func (c *Cache) Maintain(ctx context.Context) int {
	n := 0
	for _, ts := range c.tiers {
		if !ts.degraded.Load() {
			continue
		}
		if ts.usable(ctx) {
			if _, _, err := ts.t.Get(ctx, "otpbox:cache:probe"); err != nil {
				ts.fail(err)
			} else {
				ts.succeeded()
			}
		}
		if ts.degraded.Load() {
			n++
		}
	}
	return n
}
