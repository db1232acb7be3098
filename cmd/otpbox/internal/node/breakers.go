package node

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox"
)

// The node's circuit breakers (package breaker), one Set per node:
//
//   - "store": the shared sandbox store (Redis). While it is open, every
//     sandbox call fails fast with 503 circuit_open (SandboxHost.enter);
//     once it half-opens the next calls probe the store.
//   - "cache_l3": the cache's Redis tier; the cache degrades the tier as
//     it does on any error, and the breaker keeps the calls from waiting
//     on a Redis that does not answer.
//   - "member/<name>": each remote member, around the placement calls of
//     the cluster directory (activate, list, deactivate, drain); a
//     sandbox placed on a member whose breaker is open fails fast.
//
// A breaker opens after --breaker-failures consecutive failures and
// probes after --breaker-open-for.

// Names of the node's own breakers.
const (
	storeBreaker = "store"
	l3Breaker    = "cache_l3"
	memberPrefix = "member/"
)

// newBreakers returns the node's breaker set.
func newBreakers(cfg Config, log *slog.Logger) *breaker.Set {
	return breaker.NewSet(breaker.Config{Failures: uint32(cfg.BreakerFailures), OpenFor: cfg.BreakerOpenFor.Duration,
		Success: storeAnswered, Logger: log.With("component", "breaker")})
}

// guardedStore is a sandbox.Store behind a breaker. Answers of the store
// (not found, a sequence conflict) count as successes; only failures to
// reach it count.
type guardedStore struct {
	sandbox.Store
	b *breaker.Breaker
}

func storeAnswered(err error) bool {
	return err == nil || errors.Is(err, sandbox.ErrNotFound) || errors.Is(err, sandbox.ErrConflict)
}

func guard[T any](b *breaker.Breaker, fn func() (T, error)) (T, error) {
	done, err := b.Allow()
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := fn()
	done(err)
	return v, err
}

// DeletesPlacement passes the store's own answer on (see
// sandbox.PlacementDeleter).
func (s *guardedStore) DeletesPlacement() bool {
	pd, ok := s.Store.(sandbox.PlacementDeleter)
	return ok && pd.DeletesPlacement()
}

// CreateMeta passes on to the store's own (see sandbox.MetaCreator),
// behind the breaker; errors.ErrUnsupported when the store has none.
func (s *guardedStore) CreateMeta(ctx context.Context, id string, meta []byte) (bool, error) {
	mc, ok := s.Store.(sandbox.MetaCreator)
	if !ok {
		return false, errors.ErrUnsupported
	}
	return guard(s.b, func() (bool, error) { return mc.CreateMeta(ctx, id, meta) })
}

// PutSnapshot passes on to the store's own (see sandbox.Snapshotter),
// behind the breaker; errors.ErrUnsupported when the store has none.
func (s *guardedStore) PutSnapshot(ctx context.Context, id string, snap sandbox.Entry) error {
	sn, ok := s.Store.(sandbox.Snapshotter)
	if !ok {
		return errors.ErrUnsupported
	}
	return s.b.Do(func() error { return sn.PutSnapshot(ctx, id, snap) })
}

func (s *guardedStore) Append(ctx context.Context, id string, e sandbox.Entry) (uint64, error) {
	return guard(s.b, func() (uint64, error) { return s.Store.Append(ctx, id, e) })
}

func (s *guardedStore) Load(ctx context.Context, id string) ([]sandbox.Entry, error) {
	return guard(s.b, func() ([]sandbox.Entry, error) { return s.Store.Load(ctx, id) })
}

func (s *guardedStore) Truncate(ctx context.Context, id string) error {
	return s.b.Do(func() error { return s.Store.Truncate(ctx, id) })
}

func (s *guardedStore) PutMeta(ctx context.Context, id string, meta []byte) error {
	return s.b.Do(func() error { return s.Store.PutMeta(ctx, id, meta) })
}

func (s *guardedStore) GetMeta(ctx context.Context, id string) ([]byte, error) {
	return guard(s.b, func() ([]byte, error) { return s.Store.GetMeta(ctx, id) })
}

func (s *guardedStore) Delete(ctx context.Context, id string) error {
	return s.b.Do(func() error { return s.Store.Delete(ctx, id) })
}

func (s *guardedStore) List(ctx context.Context) ([]string, error) {
	return guard(s.b, func() ([]string, error) { return s.Store.List(ctx) })
}

// guardedTier is a cache tier behind a breaker.
type guardedTier struct {
	cache.Tier
	b *breaker.Breaker
}

type lookup struct {
	v     []byte
	found bool
}

func (t *guardedTier) Get(ctx context.Context, key string) ([]byte, bool, error) {
	r, err := guard(t.b, func() (lookup, error) {
		v, ok, err := t.Tier.Get(ctx, key)
		return lookup{v, ok}, err
	})
	return r.v, r.found, err
}

func (t *guardedTier) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return t.b.Do(func() error { return t.Tier.Set(ctx, key, val, ttl) })
}

func (t *guardedTier) Delete(ctx context.Context, key string) error {
	return t.b.Do(func() error { return t.Tier.Delete(ctx, key) })
}

func (t *guardedTier) Clear(ctx context.Context) error {
	return t.b.Do(func() error { return t.Tier.Clear(ctx) })
}

// breakerStatus returns the breakers shown with node in
// /v1/cluster/nodes: this node's own, or the one in front of a member.
func breakerStatus(set *breaker.Set, self string) func(string) []breaker.Status {
	return func(node string) []breaker.Status {
		if node != self {
			return set.Status(memberPrefix + node)
		}
		var out []breaker.Status
		for _, name := range []string{l3Breaker, storeBreaker} {
			if b, ok := set.Lookup(name); ok {
				out = append(out, b.Status())
			}
		}
		return out
	}
}
