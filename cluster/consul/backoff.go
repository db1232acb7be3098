package consul

import (
	"math/rand/v2"
	"time"
)

// Retry delays after a failed call to Consul: exponential from
// minBackoff, doubling up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// backoff computes exponential delays with "equal jitter": each delay is
// half the current step plus a random part of the other half, so members
// that lost the agent together do not retry in lockstep. It is owned by one
// goroutine.
type backoff struct {
	min, max time.Duration
	step     time.Duration // the next delay before jitter; 0 before the first
}

// next returns the delay before the next retry and doubles the step.
func (b *backoff) next() time.Duration {
	if b.step == 0 {
		b.step = b.min
	}
	d := b.step
	b.step = min(2*b.step, b.max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// reset starts over from min after a success.
func (b *backoff) reset() { b.step = 0 }
