package sandbox

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cluster"
)

// Local is a single-member protoactor cluster hosting sandbox grains: the
// embedded default of a node without Consul. Its member uses protoactor's
// in-memory provider, remoting on a free loopback port, and the O(1)
// activation Directory.
type Local struct {
	*Manager
	Cluster *pcluster.Cluster
	hub     *Hub
	once    sync.Once
}

func newLocal(m *Manager, c *pcluster.Cluster) *Local {
	return &Local{Manager: m, Cluster: c, hub: NewHub(m)}
}

// Watch subscribes to the events of sandbox id, wherever it runs (see
// Hub.Watch). Close the subscription when done; Shutdown ends them all.
func (l *Local) Watch(ctx context.Context, id string, opts WatchOptions) (*Subscription, error) {
	return l.hub.Watch(ctx, id, opts)
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
	return newLocal(NewManager(host, c, dir), c), nil
}

// MemberConfig makes a sandbox host a member of a cluster.
type MemberConfig struct {
	// Name is the cluster's name. Required.
	Name string
	// Provider is the protoactor cluster provider of the membership (the
	// Consul provider). Required.
	Provider pcluster.ClusterProvider
	// Membership gives the members (the same Consul provider). Required.
	Membership cluster.Membership
	// Registry is the placement directory all members share
	// (cluster.RedisRegistry on the Redis of the sandbox store). Required.
	Registry cluster.Registry
	// Placer places new sandboxes (default round-robin); the
	// LoadBalancer replaces it with SetPlacer.
	Placer cluster.Placer
	// Host and Port bind protoactor's remote (default 127.0.0.1, a free
	// port). The address other members reach is the bound one.
	Host string
	Port int
	// Advertise is the address (host:port) other members reach this one
	// at, when it is not the bound one (a NAT, a proxy).
	Advertise string
	// Breaker, when set, returns the circuit breaker in front of a member
	// (see cluster.DirectoryConfig.Breaker).
	Breaker func(member string) *breaker.Breaker
	// Loads and LoadInterval, when set, exchange the members' loads
	// directly (see cluster.DirectoryConfig.Loads); Membership should
	// then be Loads.
	Loads        *cluster.LoadBoard
	LoadInterval time.Duration
}

// StartMember starts a member of a cluster hosting sandbox grains: each
// sandbox is placed on one member, exactly one activation cluster-wide,
// and reactivates on a survivor from the shared store when its member is
// lost. cfg.Store must be shared by all members (Redis).
func StartMember(system *actor.ActorSystem, cfg Config, mc MemberConfig) (*Local, error) {
	if mc.Name == "" || mc.Provider == nil || mc.Membership == nil || mc.Registry == nil {
		return nil, errors.New("sandbox: MemberConfig needs Name, Provider, Membership and Registry")
	}
	if cfg.Node == "" {
		cfg.Node = mc.Membership.Self()
	}
	host, err := NewHost(cfg)
	if err != nil {
		return nil, err
	}
	var m *Manager
	dir, err := cluster.NewClusterDirectory(cluster.DirectoryConfig{
		Membership: mc.Membership, Registry: mc.Registry, Placer: mc.Placer, Logger: host.log,
		Deactivate: func(ctx context.Context, _, id string) error { return m.Passivate(ctx, id) },
		Breaker:    mc.Breaker,
		Loads:      mc.Loads, LoadInterval: mc.LoadInterval,
	})
	if err != nil {
		return nil, err
	}
	if mc.Host == "" {
		mc.Host = "127.0.0.1"
	}
	var ropts []remote.ConfigOption
	if mc.Advertise != "" {
		ropts = append(ropts, remote.WithAdvertisedHost(mc.Advertise))
	}
	config := pcluster.Configure(mc.Name, mc.Provider, dir, remote.Configure(mc.Host, mc.Port, ropts...),
		pcluster.WithKinds(host.Kind()), pcluster.WithRequestLog(false))
	c := pcluster.New(system, config)
	m = NewManager(host, c, dir)
	m.members = mc.Membership
	c.StartMember()
	return newLocal(m, c), nil
}

// Directory returns the member's activation directory.
func (l *Local) Directory() *cluster.Directory { return l.dir }

// Shutdown stops the member: its activations, membership, gossip and
// remoting. Sandboxes passivate first, so their state is in the store. It
// stops nothing it did not start: not the actor system it was given (the
// caller shuts that down, before or after) and not the store. Calling it
// again does nothing.
func (l *Local) Shutdown() {
	l.once.Do(func() {
		l.hub.Close()
		l.dir.StopWarm()
		if l.Cluster.ActorSystem.IsStopped() {
			// Its owner stopped the system first: the activations are
			// gone with it (and every execution was journaled).
			stopCluster(l.Cluster)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.host.reqTimeout)
		defer cancel()
		if l.members != nil && len(l.dir.Active(Kind)) > 0 {
			// Hand the sandboxes to the other members before leaving.
			if n, err := l.DrainNode(ctx, l.host.node); err != nil {
				l.host.log.Warn("sandbox drain to other members", "moved", n, "error", err)
			}
		}
		if err := l.Drain(ctx); err != nil {
			l.host.log.Warn("sandbox drain", "error", err)
		}
		if l.members != nil {
			// Leave at once (protoactor's graceful shutdown sleeps 2 s and
			// skips neither): deregister, then stop answering members.
			if err := l.Cluster.Config.ClusterProvider.Shutdown(true); err != nil {
				l.host.log.Warn("leave the cluster", "error", err)
			}
			l.dir.Shutdown()
		} else {
			_ = l.Cluster.Config.ClusterProvider.Shutdown(true)
		}
		stopCluster(l.Cluster)
	})
}

// stopCluster is protoactor's Cluster.Shutdown without its first step,
// which shuts the whole actor system down (and panics if its owner
// already did): the member says it left, then stops its identity lookup,
// gossip and remoting, each of which ends its own goroutines.
func stopCluster(c *pcluster.Cluster) {
	if c.ActorSystem.IsStopped() {
		c.Remote.Shutdown(false)
		return
	}
	c.Gossip.SetState(pcluster.GracefullyLeftKey, &emptypb.Empty{})
	c.IdentityLookup.Shutdown()
	c.Gossip.Shutdown()
	c.Remote.Shutdown(false)
}
