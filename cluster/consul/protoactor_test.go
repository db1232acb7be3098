package consul

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/cluster/consul/consultest"
	"github.com/otpbox/otpbox/testkit"
)

func TestStartMemberReportsOnlySelfToProtoactor(t *testing.T) {
	agent := consultest.Start(t) // before the kit, whose leak check ignores what runs before it
	kit := testkit.New(t)
	startNode(t, agent.Addr, "proto", "other", 1) // a member protoactor must not see

	p, err := New(Config{Agent: agent.Addr, Cluster: "proto", Node: "self", TTL: testTTL, Heartbeat: testHeartbeat, Logger: testLogger(t)})
	require.NoError(t, err)
	kind := pcluster.NewKind("echo", actor.PropsFromFunc(func(actor.Context) {}))
	c := pcluster.New(kit.System(), pcluster.Configure("proto", p, cluster.NewDirectory(),
		remote.Configure("127.0.0.1", 0), pcluster.WithKinds(kind)))
	c.StartMember()
	t.Cleanup(func() {
		c.Shutdown(false)
		assert.NoError(t, p.Stop(true)) // Cluster.Shutdown(false) does not stop the provider
	})

	awaitMembers(t, p, map[string]cluster.Health{"self": cluster.Passing, "other": cluster.Passing})
	self := p.Members()[1]
	assert.Equal(t, kit.System().Address(), self.Address, "registered at the actor system's address")

	ms := c.MemberList.Members().Members()
	require.Len(t, ms, 1, "protoactor sees only this member")
	assert.Equal(t, kit.System().ID, ms[0].Id)
	assert.Equal(t, kit.System().Address(), ms[0].Address())
	assert.Contains(t, ms[0].Kinds, "echo")
	assert.ErrorIs(t, p.StartMember(c), ErrStarted)
}
