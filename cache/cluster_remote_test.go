//go:build !race

// protoactor's remote.Start sets grpc's global logger on every call, which
// races with the grpc servers already running in the process; several
// remote nodes in one test process are therefore only tested without
// -race. TestClusterInProcess runs the same scenario under -race.

package cache_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/testkit"
)

// startRemoteNodes starts n actor systems with remote on 127.0.0.1 free
// ports in this process, each with a Node and a Cache (L1 + L2).
func startRemoteNodes(t *testing.T, n int, clk *testkit.Clock) ([]*testNode, *membership) {
	t.Helper()
	m := &membership{}
	var nodes []*testNode
	for range n {
		sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}))
		r := remote.NewRemote(sys, remote.Configure("127.0.0.1", 0))
		r.Start()
		node, err := cache.NewNode(sys, cache.NodeConfig{Live: m.Live, Clock: clk.Now, Timeout: 2 * time.Second})
		require.NoError(t, err)
		c := mustNew(t, cache.Config{Members: node, Clock: clk.Now})
		stop := func() {
			if !sys.IsStopped() {
				r.Shutdown(false)
				sys.Shutdown()
			}
		}
		t.Cleanup(stop)
		nodes = append(nodes, &testNode{id: node.Self(), node: node, cache: c, stop: stop})
		m.addr = append(m.addr, node.Self())
	}
	return nodes, m
}

func TestClusterRemote(t *testing.T) {
	clk := newFakeClock()
	nodes, m := startRemoteNodes(t, 3, clk)
	clusterScenario(t, nodes, m, clk)
}

func TestTierConformanceRemoteL2(t *testing.T) {
	nodes, _ := startRemoteNodes(t, 3, newFakeClock())
	runTierSuite(t, cache.NewL2(nodes[0].node))
}
