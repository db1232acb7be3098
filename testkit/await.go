package testkit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pollInterval is how often AwaitAssert retries, and where Eventually's
// backoff starts and stops.
const (
	pollInterval    = 10 * time.Millisecond
	minPollInterval = 5 * time.Millisecond
	maxPollInterval = 50 * time.Millisecond
)

// AwaitAssert runs f, at once and then every 10 ms, until a run records no
// failure on its *assert.CollectT. If none has passed after timeout, it
// reports the failures of the last finished run and stops the test with
// t.FailNow. f runs on its own goroutine, one run at a time; AwaitAssert must
// be called from the test goroutine.
func AwaitAssert(t testing.TB, timeout time.Duration, f func(c *assert.CollectT)) {
	t.Helper()
	require.EventuallyWithT(t, f, timeout, pollInterval, "testkit: AwaitAssert: not satisfied within %v", timeout)
}

// Eventually calls f on the calling goroutine until it returns nil, waiting
// 5 ms after the first failure and doubling up to 50 ms between calls. If f
// has not returned nil after timeout, it stops the test with t.Fatalf,
// reporting the last error. A call of f in progress at the deadline is waited
// for. Eventually must be called from the test goroutine.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := minPollInterval
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("testkit: Eventually: not satisfied within %v: %v", timeout, err)
		}
		timer.Reset(min(wait, left))
		<-timer.C
		wait = min(2*wait, maxPollInterval)
	}
}
