package cluster_test

import (
	"testing"

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
