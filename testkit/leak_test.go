package testkit_test

import (
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/otpbox/otpbox/testkit"
	"go.uber.org/goleak"
)

// Dead letters start protoactor's throttle goroutine, which outlives
// Shutdown by up to a second: the Kit's leak check must ignore it.
func TestLeakCheck_IgnoresDeadLetterThrottle(t *testing.T) {
	kit := testkit.New(t)
	for range 5 {
		kit.Root().Send(kit.System().NewLocalPID("nobody"), "lost")
	}
	_, err := kit.Root().RequestFuture(kit.System().NewLocalPID("nobody"), "lost", kit.Timeout()).Result()
	if err != actor.ErrDeadLetter {
		t.Fatalf("RequestFuture to nobody: %v, want %v", err, actor.ErrDeadLetter)
	}
}

func TestVerifyNoLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	system.Root.Send(system.NewLocalPID("nobody"), "lost")
	system.Shutdown()
	testkit.VerifyNoLeaks(t, before)
}

// A cluster member on the in-memory test provider leaves gossip throttles
// and the provider's TTL loop behind; the leak check must ignore them.
func TestLeakCheck_IgnoresClusterLeftovers(t *testing.T) {
	if testing.Short() {
		t.Skip("starting and stopping a cluster member takes 3 s")
	}
	kit := testkit.New(t)
	config := cluster.Configure("testkit", test.NewTestProvider(test.NewInMemAgent()), disthash.New(),
		remote.Configure("localhost", 0))
	c := cluster.New(kit.System(), config)
	c.StartMember()
	c.Shutdown(true)
}
