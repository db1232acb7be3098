package cache

import "errors"

// ErrOversized is returned by a tier's Set when the value is larger than the
// tier accepts (for L1, freecache's limit of 1/1024 of its size per entry).
// Cache.Put treats it as "skip this tier", never as a silent drop: the value
// still goes to the lower tiers and the skip is counted in TierStats.Oversized.
var ErrOversized = errors.New("cache: value too large for tier")

// ErrNoTier is returned when an operation names a tier the Cache was not
// configured with.
var ErrNoTier = errors.New("cache: tier not configured")

// ErrDegraded is reported (wrapped) by Put and Delete for a tier that is
// degraded and skipped until its retry time. The key is remembered and
// removed from that tier before it serves again.
var ErrDegraded = errors.New("cache: tier degraded")

// ErrNoMembers is returned by the L2 tier when it knows no live member.
var ErrNoMembers = errors.New("cache: no live members")

// ErrRemote wraps an error reported by a remote owner.
var ErrRemote = errors.New("cache: remote owner error")
