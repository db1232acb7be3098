package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Members is the cluster as the L2 tier sees it: who is alive, and how to
// reach a member's owned-key store. Member ids are opaque strings (for the
// protoactor Node, remote addresses). Live must include Self while the node
// is up. Implementations are safe for concurrent use.
type Members interface {
	Self() string
	Live() []string
	Remote
}

// Remote reaches the owned-key store and the L1 of one member.
type Remote interface {
	Get(ctx context.Context, member, key string) ([]byte, bool, error)
	Set(ctx context.Context, member, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, member, key string) error
	Clear(ctx context.Context, member string) error
	// Invalidate asks member to drop keys from its L1. It may return before
	// the member has done so.
	Invalidate(ctx context.Context, member string, keys []string) error
}

// InvalidationSource is implemented by Members that deliver other nodes'
// Invalidate calls to this node; New subscribes the Cache's L1 to it.
type InvalidationSource interface {
	OnInvalidate(fn func(keys []string))
}

// L2 is the cluster tier: each key is owned by exactly one live member,
// chosen by rendezvous (highest random weight) hashing, so the members'
// memory acts as one cache and a member leaving only moves the keys it owned.
type L2 struct {
	m Members
}

var _ Tier = (*L2)(nil)

// NewL2 returns the cluster tier over m.
func NewL2(m Members) *L2 { return &L2{m: m} }

// Owner returns the live member that owns key, or "" if none is live.
func (l *L2) Owner(key string) string { return Owner(l.m.Live(), key) }

// Owner picks key's owner among members by rendezvous hashing: the member
// with the highest hash of (member, key). It returns "" for no members.
func Owner(members []string, key string) string {
	var best string
	var bestScore uint64
	for _, m := range members {
		d := xxhash.New()
		_, _ = d.WriteString(m)
		_, _ = d.Write([]byte{0})
		_, _ = d.WriteString(key)
		if s := d.Sum64(); best == "" || s > bestScore || (s == bestScore && m < best) {
			best, bestScore = m, s
		}
	}
	return best
}

func (l *L2) owner(key string) (string, error) {
	o := l.Owner(key)
	if o == "" {
		return "", ErrNoMembers
	}
	return o, nil
}

// Get asks key's owner for it.
func (l *L2) Get(ctx context.Context, key string) ([]byte, bool, error) {
	o, err := l.owner(key)
	if err != nil {
		return nil, false, err
	}
	v, ok, err := l.m.Get(ctx, o, key)
	if err != nil {
		return nil, false, fmt.Errorf("l2 get from %s: %w", o, err)
	}
	return v, ok, nil
}

// Set stores key on its owner.
func (l *L2) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	o, err := l.owner(key)
	if err != nil {
		return err
	}
	if err := l.m.Set(ctx, o, key, val, ttl); err != nil {
		return fmt.Errorf("l2 set on %s: %w", o, err)
	}
	return nil
}

// Delete removes key from its owner.
func (l *L2) Delete(ctx context.Context, key string) error {
	o, err := l.owner(key)
	if err != nil {
		return err
	}
	if err := l.m.Delete(ctx, o, key); err != nil {
		return fmt.Errorf("l2 delete on %s: %w", o, err)
	}
	return nil
}

// Clear clears every live member's owned store; it returns the first error.
func (l *L2) Clear(ctx context.Context) error {
	var first error
	for _, m := range l.m.Live() {
		if err := l.m.Clear(ctx, m); err != nil && first == nil {
			first = fmt.Errorf("l2 clear on %s: %w", m, err)
		}
	}
	return first
}

// Stats reports the local node's owned store if Members exposes one.
func (l *L2) Stats() TierStats {
	if s, ok := l.m.(interface{ Stats() TierStats }); ok {
		return s.Stats()
	}
	return TierStats{Entries: -1}
}
