package testkit

import (
	"testing"

	"go.uber.org/goleak"
)

// protoactorLeftovers are the goroutines protoactor leaves running after
// ActorSystem.Shutdown, by the name of their function as the pinned version
// (v0.0.0-20240822202345-3c0e61ca19c9) compiles with Go 1.26: throttle timers
// (alive for one throttle period: 1 s for dead letters, 60 s for gossip), in
// their inlined and not-inlined forms, the cluster test provider's TTL
// loop, which never ends, a remote endpoint writer that was retrying a
// connection to a member that stopped (it sleeps 2 s between attempts and
// cannot be interrupted), and a cluster's gossip loop that sent its state
// to the gossip actor just as the member stopped: the stopped actor drops
// the request, and the loop waits out the request's 5 s timeout.
var protoactorLeftovers = []string{
	"github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1",
	"github.com/asynkron/protoactor-go/actor.NewThrottle.func1.1",
	"github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1.1",
	"github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1",
	"github.com/asynkron/protoactor-go/cluster.NewGossipActor.NewThrottleWithLogger.func2.1",
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test.(*Provider).startTtlReport.func1",
	"github.com/asynkron/protoactor-go/remote.(*endpointWriter).initialize",
	"github.com/asynkron/protoactor-go/cluster.(*Gossiper).SendState",
}

// LeakOptions returns goleak options that ignore exactly the goroutines
// protoactor leaves behind after ActorSystem.Shutdown, for use as
// goleak.VerifyTestMain(m, testkit.LeakOptions()...). Each call returns a
// new slice; it is safe for concurrent use.
func LeakOptions() []goleak.Option {
	opts := make([]goleak.Option, len(protoactorLeftovers))
	for i, f := range protoactorLeftovers {
		opts[i] = goleak.IgnoreAnyFunction(f)
	}
	return opts
}

// VerifyNoLeaks fails t if any goroutine other than t's own, the testing
// package's and protoactor's leftovers (LeakOptions) is running; goleak
// retries for a while so goroutines that are ending can finish. Call it, or
// defer it, from the test goroutine. Like goleak.VerifyNone it cannot tell
// tests apart: do not use it with t.Parallel.
func VerifyNoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if err := goleak.Find(append(LeakOptions(), opts...)...); err != nil {
		t.Errorf("testkit: %v", err)
	}
}
