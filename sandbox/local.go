package sandbox

import (
	"context"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/otpbox/otpbox/cluster"
)

// Local is a single-member protoactor cluster hosting sandbox grains: the
// embedded default of a node without Consul. Its member uses protoactor's
// in-memory provider, remoting on a free loopback port, and the O(1)
// activation Directory.
type Local struct {
	*Manager
	Cluster *pcluster.Cluster
	once    sync.Once
}

// StartLocal starts the member on system and returns its manager. Stop it
// with Shutdown. protoactor's StartMember waits one second.
func StartLocal(system *actor.ActorSystem, cfg Config) (*Local, error) {
	host, err := NewHost(cfg)
	if err != nil {
		return nil, err
	}
	dir := cluster.NewDirectory()
	provider := test.NewTestProvider(test.NewInMemAgent())
	config := pcluster.Configure("otpbox-"+host.node, provider, dir, remote.Configure("127.0.0.1", 0),
		pcluster.WithKinds(host.Kind()), pcluster.WithRequestLog(false))
	c := pcluster.New(system, config)
	c.StartMember()
	return &Local{Manager: NewManager(host, c, dir), Cluster: c}, nil
}

// Shutdown stops the member: its activations, remoting and membership, and
// the actor system (protoactor's cluster shuts it down). Sandboxes
// passivate first, so their state is in the store. It does not close the
// store. Calling it again does nothing.
func (l *Local) Shutdown() {
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), l.host.reqTimeout)
		defer cancel()
		if err := l.Drain(ctx); err != nil {
			l.host.log.Warn("sandbox drain", "error", err)
		}
		l.Cluster.Shutdown(false)
	})
}
