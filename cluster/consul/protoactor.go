package consul

import (
	pcluster "github.com/asynkron/protoactor-go/cluster"
)

var _ pcluster.ClusterProvider = (*Provider)(nil)

// StartMember implements protoactor's ClusterProvider: it starts the
// provider as a member at the actor system's address (Start) and reports
// to protoactor's member list this member only, with its kinds. otpbox
// places activations with Members instead; see the package documentation
// for why protoactor never sees the other members.
func (p *Provider) StartMember(c *pcluster.Cluster) error {
	host, port, err := splitAddress(c.ActorSystem.Address())
	if err != nil {
		return err
	}
	if err := p.start(true, host, port); err != nil {
		return err
	}
	c.MemberList.UpdateClusterTopology(pcluster.Members{{
		Id:    c.ActorSystem.ID,
		Host:  host,
		Port:  int32(port),
		Kinds: c.GetClusterKinds(),
	}})
	return nil
}

// StartClient implements protoactor's ClusterProvider: it starts only the
// watch, so Members and Subscribe follow the cluster; nothing registers.
func (p *Provider) StartClient(*pcluster.Cluster) error {
	return p.start(false, "", 0)
}

// Shutdown implements protoactor's ClusterProvider: it is Stop(graceful).
// Note that protoactor's Cluster.Shutdown calls it only when graceful; after
// Cluster.Shutdown(false) call Stop(false) yourself.
func (p *Provider) Shutdown(graceful bool) error { return p.Stop(graceful) }
