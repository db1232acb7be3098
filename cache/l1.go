package cache

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/coocood/freecache"
)

// DefaultL1Size is the L1 size when Config.L1Size is 0: 64 MiB.
const DefaultL1Size = 64 << 20

// L1 is the per-node in-memory tier, a freecache.Cache. Entries larger than
// 1/1024 of its size (key + value + 24 bytes of header) are refused with
// ErrOversized. TTLs have one-second resolution and are rounded up.
type L1 struct {
	fc        *freecache.Cache
	oversized atomic.Uint64
}

var _ Tier = (*L1)(nil)

// NewL1 returns an L1 of size bytes (DefaultL1Size if size <= 0; freecache
// raises anything under 512 KiB to 512 KiB). now is its clock; nil means
// time.Now.
func NewL1(size int, now func() time.Time) *L1 {
	if size <= 0 {
		size = DefaultL1Size
	}
	if now == nil {
		return &L1{fc: freecache.NewCache(size)}
	}
	return &L1{fc: freecache.NewCacheCustomTimer(size, clockTimer(now))}
}

// clockTimer adapts a clock to freecache.Timer.
type clockTimer func() time.Time

func (c clockTimer) Now() uint32 { return uint32(c().Unix()) }

// bytesOf returns s's bytes without copying; freecache does not keep or
// modify keys passed to Get, Set or Del.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// ttlSeconds rounds a TTL up to whole seconds; 0 means no expiry.
func ttlSeconds(ttl time.Duration) int {
	if ttl <= 0 {
		return 0
	}
	return int((ttl + time.Second - 1) / time.Second)
}

// Get returns a copy of the value stored under key.
func (l *L1) Get(_ context.Context, key string) ([]byte, bool, error) {
	v, err := l.fc.Get(bytesOf(key))
	if err != nil {
		return nil, false, nil // freecache.ErrNotFound is its only Get error
	}
	return v, true, nil
}

// Set stores val under key for ttl (0: no expiry).
func (l *L1) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	err := l.fc.Set(bytesOf(key), val, ttlSeconds(ttl))
	if errors.Is(err, freecache.ErrLargeEntry) || errors.Is(err, freecache.ErrLargeKey) {
		l.oversized.Add(1)
		// An older, smaller value under the same key would now be stale.
		l.fc.Del(bytesOf(key))
		return ErrOversized
	}
	return err
}

// Delete removes key.
func (l *L1) Delete(_ context.Context, key string) error {
	l.fc.Del(bytesOf(key))
	return nil
}

// Clear removes every entry.
func (l *L1) Clear(context.Context) error {
	l.fc.Clear()
	return nil
}

// Stats reports freecache's entry, eviction and expiry counts.
func (l *L1) Stats() TierStats {
	return TierStats{
		Entries:     l.fc.EntryCount(),
		Evictions:   uint64(l.fc.EvacuateCount()),
		Expirations: uint64(l.fc.ExpiredCount()),
		Oversized:   l.oversized.Load(),
	}
}
