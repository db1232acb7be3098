package cluster_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cluster"
)

func TestDirectoryOneActivationPerIdentity(t *testing.T) {
	dir := cluster.NewDirectory()
	startEcho(t, dir)

	ci := pcluster.NewClusterIdentity("a", "echo")
	first := dir.Get(ci)
	require.NotNil(t, first)
	assert.True(t, first.Equal(dir.Get(ci)), "the same activation while it lives")
	assert.Equal(t, 1, dir.Count("echo"))
	assert.Equal(t, []string{"a"}, dir.Active("echo"))

	dir.RemovePid(ci, first)
	assert.Zero(t, dir.Count("echo"))
	second := dir.Get(ci)
	assert.False(t, first.Equal(second), "a new activation never reuses a pid")
	dir.RemovePid(ci, first) // a late removal of the old one
	got, ok := dir.Lookup("echo", "a")
	require.True(t, ok, "a stale removal keeps the current activation")
	assert.True(t, second.Equal(got))
	assert.Nil(t, dir.Get(pcluster.NewClusterIdentity("a", "nokind")))

	dir.Get(pcluster.NewClusterIdentity("b", "echo"))
	dir.Get(pcluster.NewClusterIdentity("c", "echo"))
	dir.Get(ci) // a is now the most recent
	assert.Equal(t, []string{"b", "c"}, dir.LeastRecent("echo", 2))
	assert.Equal(t, []string{"b", "c", "a"}, dir.LeastRecent("echo", 10))
}

// TestDirectoryNamed: a named kind's activations are spawned from the
// props given, without a cluster identity in their context, and find
// their identity in their pid, whatever characters it holds.
func TestDirectoryNamed(t *testing.T) {
	dir := cluster.NewDirectory()
	got := make(chan string, 1)
	dir.Named("echo", actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			id, _ := cluster.IdentityOf(ctx.Self(), "echo")
			got <- id
		}
	}))
	startEcho(t, dir)
	pid := dir.Get(pcluster.NewClusterIdentity("a$b/c", "echo"))
	require.NotNil(t, pid)
	assert.Equal(t, "a$b/c", <-got)
	_, ok := cluster.IdentityOf(pid, "other")
	assert.False(t, ok, "another kind's name")
	_, ok = cluster.IdentityOf(actor.NewPID("nonhost", "echo/plain"), "echo")
	assert.False(t, ok, "not an activation's name")
}

// TestDirectoryWarm: a warm activation is spawned ahead of need, gets
// Bind before anything sent to the identity it is given, and is replaced
// by Replenish; StopWarm stops the pool, not the activations taken from
// it.
func TestDirectoryWarm(t *testing.T) {
	dir := cluster.NewDirectory()
	seen := make(chan string, 64)
	dir.Named("echo", actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			id, _ := cluster.IdentityOf(ctx.Self(), "echo")
			seen <- "started " + id
		case *cluster.Bind:
			seen <- "bind " + m.Identity
		case string:
			seen <- "got " + m
			ctx.Respond(m)
		case *actor.Stopped:
			seen <- "stopped"
		}
	}))
	dir.Warm("echo", 3)
	dir.Warm("unnamed", 3) // not a named kind: nothing to spawn
	system := startEcho(t, dir)
	assert.Equal(t, 3, dir.WarmCount("echo"), "filled when the member started")
	assert.Zero(t, dir.WarmCount("unnamed"))
	for range 3 {
		assert.Equal(t, "started ", <-seen, "no identity until bound")
	}

	pid := dir.Get(pcluster.NewClusterIdentity("a", "echo"))
	require.NotNil(t, pid)
	res, err := system.Root.RequestFuture(pid, "hello", 5*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, "hello", res)
	assert.Equal(t, "bind a", <-seen, "Bind comes first")
	assert.Equal(t, "got hello", <-seen)
	assert.Equal(t, 2, dir.WarmCount("echo"))
	assert.Equal(t, 1, dir.Count("echo"), "a bound warm activation counts as any other")
	assert.True(t, pid.Equal(dir.Get(pcluster.NewClusterIdentity("a", "echo"))), "and stays the identity's")

	assert.True(t, dir.Replenish("echo"))
	assert.Equal(t, "started ", <-seen)
	assert.False(t, dir.Replenish("echo"), "full")
	assert.Equal(t, 3, dir.WarmCount("echo"))
	taken, spawned := dir.WarmStats()
	assert.Equal(t, uint64(1), taken)
	assert.Equal(t, uint64(4), spawned)

	dir.StopWarm()
	for range 3 {
		assert.Equal(t, "stopped", <-seen)
	}
	assert.Zero(t, dir.WarmCount("echo"))
	assert.False(t, dir.Replenish("echo"), "stopped")
	res, err = system.Root.RequestFuture(pid, "still", 5*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, "still", res, "the bound activation goes on")

	before := dir.Get(pcluster.NewClusterIdentity("b", "echo"))
	id, ok := cluster.IdentityOf(before, "echo")
	assert.True(t, ok && id == "b", "spawned with its identity in its name when the pool is stopped")
}
