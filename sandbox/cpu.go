package sandbox

import (
	"errors"
	"fmt"
	"time"
)

// ErrThrottled is wrapped by every *ThrottledError.
var ErrThrottled = errors.New("sandbox: throttled")

// ThrottledError reports an execution refused because its sandbox used
// its CPU share (cpu_limit): it may run after RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v: the sandbox used its CPU share (cpu_limit); retry in %v", ErrThrottled, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// cpuBucket enforces a sandbox's cpu_limit: a bucket of CPU time that
// fills at cpu_limit (a thousandth of a core per millicore) up to one
// execution's wall-clock limit, and from which every execution takes the
// time it ran. Executions wait while the bucket is below zero, so over
// any long stretch the sandbox uses at most its share of a core; a short
// burst may use a whole one. Replays are the host's work and take
// nothing.
type cpuBucket struct {
	rate   float64       // cores; 0: no limit
	burst  time.Duration // the most the bucket holds
	tokens time.Duration
	at     time.Time // when tokens was last brought up to date
}

func newCPUBucket(millicores int64, burst time.Duration, now time.Time) cpuBucket {
	if millicores <= 0 {
		return cpuBucket{}
	}
	return cpuBucket{rate: float64(millicores) / 1000, burst: burst, tokens: burst, at: now}
}

// refill brings the bucket up to now.
func (b *cpuBucket) refill(now time.Time) {
	if b.rate == 0 || !now.After(b.at) {
		return
	}
	b.tokens = min(b.burst, b.tokens+time.Duration(float64(now.Sub(b.at))*b.rate))
	b.at = now
}

// wait returns how long the sandbox must wait before it may run again
// (0: it may run now).
func (b *cpuBucket) wait(now time.Time) time.Duration {
	b.refill(now)
	if b.rate == 0 || b.tokens >= 0 {
		return 0
	}
	return time.Duration(float64(-b.tokens) / b.rate)
}

// take charges an execution that ran for d.
func (b *cpuBucket) take(now time.Time, d time.Duration) {
	if b.rate == 0 {
		return
	}
	b.refill(now)
	b.tokens -= d
}
