package testkit

import (
	"testing"
	"testing/synctest"
	"time"
)

// throttleSettle is how far Virtual moves the virtual clock after the test
// so that protoactor's throttle goroutines, which wait one throttle period
// (at most 60 s in the pinned version) after the first event, can end before
// the bubble does.
const throttleSettle = 61 * time.Second

// Virtual runs f in a synctest bubble (synctest.Test): time.Now, timers and
// tickers use a virtual clock that jumps ahead whenever every goroutine of
// the bubble is durably blocked. A Kit created inside f runs on that clock,
// so a probe's ExpectNoMsg(10*time.Minute) or an actor's 10-minute
// SetReceiveTimeout completes at once.
//
// After f and its Cleanup functions, Virtual advances the clock by 61 s so
// that the throttle goroutines protoactor starts on the first dead letter end
// (synctest.Test fails the test if goroutines of the bubble remain). Create
// the Kit inside f, never outside it; actors using the network (remote,
// cluster) do not work in a bubble. f is called on a new goroutine, with its
// own t.
func Virtual(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		// Registered first, so it runs after every Kit's Cleanup.
		t.Cleanup(func() { <-time.After(throttleSettle) })
		f(t)
	})
}
