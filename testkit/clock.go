package testkit

import (
	"sync/atomic"
	"time"
)

// Clock is a manual clock for code that takes an injected clock (a
// func() time.Time): it moves only when told, so TTLs, cooldowns and
// windows are tested without waiting. It is safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock that reads start until advanced.
func NewClock(start time.Time) *Clock {
	c := &Clock{}
	c.ns.Store(start.UnixNano())
	return c
}

// Now returns the clock's time; pass c.Now as the injected clock.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
