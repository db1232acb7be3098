package wal

import (
	"fmt"
	"log/slog"
	"time"
)

// SyncMode says when a write is acknowledged.
type SyncMode int

const (
	// SyncAlways acknowledges a write once it is durable (fdatasync).
	SyncAlways SyncMode = iota
	// SyncInterval acknowledges a write once it reached the operating
	// system and syncs every Config.SyncInterval: a crash of the
	// process loses nothing acknowledged, a power loss up to one
	// interval.
	SyncInterval
)

// String returns "always" or "interval".
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// ParseSyncMode parses "always" or "interval".
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "interval":
		return SyncInterval, nil
	}
	return 0, fmt.Errorf("wal: sync mode %q: want always or interval", s)
}

// Defaults of Config.
const (
	// DefaultSyncInterval is how often SyncInterval mode syncs.
	DefaultSyncInterval = 50 * time.Millisecond
	// DefaultSegmentSize is the size at which the log starts a new
	// segment.
	DefaultSegmentSize = 64 << 20
	// DefaultCompactRatio is how many times its live bytes the log may
	// grow to before the compactor rewrites its oldest segment.
	DefaultCompactRatio = 2.0
	// MaxSegmentSize bounds Config.SegmentSize (offsets in a segment
	// are 32-bit).
	MaxSegmentSize = 1 << 30
	// MaxRecordSize bounds one record (a sandbox's code and request id,
	// or its metadata).
	MaxRecordSize = 64 << 20
)

// Config configures Open. The zero value is the defaults: SyncAlways,
// 64 MiB segments, compaction past twice the live bytes.
type Config struct {
	// Sync says when a write is acknowledged (default SyncAlways).
	Sync SyncMode
	// SyncInterval is the period of SyncInterval mode (default
	// DefaultSyncInterval).
	SyncInterval time.Duration
	// SegmentSize is the size past which a new segment starts (default
	// DefaultSegmentSize, at most MaxSegmentSize).
	SegmentSize int64
	// CompactRatio bounds the log's size as a multiple of its live
	// bytes (default DefaultCompactRatio; at least 1.1). The log always
	// keeps two segments' worth of dead records before compacting.
	CompactRatio float64
	// Logger reports recovery and compaction (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.SyncInterval <= 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.SegmentSize <= 0 {
		c.SegmentSize = DefaultSegmentSize
	}
	c.SegmentSize = min(c.SegmentSize, MaxSegmentSize)
	if c.CompactRatio <= 0 {
		c.CompactRatio = DefaultCompactRatio
	}
	c.CompactRatio = max(c.CompactRatio, 1.1)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
