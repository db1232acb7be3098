package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/testkit"
)

// A cluster directory with a single member: placements go through the
// registry and the placer, and the member's own drain has nowhere to go.
func TestClusterDirectoryOneMember(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var placed []string
	var deactivated []string
	dir := startDirectory(t, cluster.DirectoryConfig{
		Membership: cluster.NewStatic(cluster.Member{Name: "n1"}),
		Registry:   cluster.NewMemRegistry(),
		Placer: cluster.PlacerFunc(func(_ context.Context, id string, cands []cluster.Member) (string, error) {
			placed = append(placed, id)
			return cands[0].Name, nil
		}),
		Deactivate: func(_ context.Context, _, id string) error {
			deactivated = append(deactivated, id)
			return nil
		},
	})
	pid, err := dir.Resolve(ctx, "echo", "a")
	require.NoError(t, err)
	again, err := dir.Resolve(ctx, "echo", "a")
	require.NoError(t, err)
	assert.True(t, pid.Equal(again))
	assert.Equal(t, []string{"a"}, placed, "placed once")
	owner, err := dir.Owner(ctx, "echo", "a")
	require.NoError(t, err)
	assert.Equal(t, "n1", owner)
	assert.True(t, dir.Known("echo", "a"))

	_, err = dir.Move(ctx, "echo", "a", "n9")
	assert.ErrorIs(t, err, cluster.ErrUnknownMember)
	_, err = dir.Resolve(ctx, "nokind", "a")
	assert.Error(t, err)

	// Draining the only member moves nothing and loses nothing.
	n, err := dir.Drain(ctx, "echo", "n1")
	assert.ErrorIs(t, err, cluster.ErrNoMembers)
	assert.Zero(t, n)
	assert.True(t, dir.Draining())
	assert.Equal(t, []string{"a"}, dir.Active("echo"))
	assert.Empty(t, deactivated)
	// A draining member takes no new activations.
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	_, err = dir.Resolve(short, "echo", "b")
	assert.ErrorIs(t, err, cluster.ErrNoMembers)
	dir.Undrain()
	_, err = dir.Resolve(ctx, "echo", "b")
	require.NoError(t, err)

	require.NoError(t, dir.Forget(ctx, "echo", "a"))
	owner, _ = dir.Owner(ctx, "echo", "a")
	assert.Empty(t, owner)
}

// startDirectory starts a cluster member on a new actor system with the
// kind "echo" and a cluster directory configured by cfg.
func startDirectory(t *testing.T, cfg cluster.DirectoryConfig) *cluster.Directory {
	t.Helper()
	dir, err := cluster.NewClusterDirectory(cfg)
	require.NoError(t, err)
	startEcho(t, dir)
	return dir
}

// startEcho starts a cluster member on a new actor system with dir as its
// identity lookup and the kind "echo", whose grains answer strings with
// themselves; it stops in t.Cleanup.
func startEcho(t *testing.T, dir *cluster.Directory) *actor.ActorSystem {
	t.Helper()
	kit := testkit.New(t)
	kind := pcluster.NewKind("echo", actor.PropsFromFunc(func(ctx actor.Context) {
		if s, ok := ctx.Message().(string); ok {
			ctx.Respond(s)
		}
	}))
	c := pcluster.New(kit.System(), pcluster.Configure("dir", test.NewTestProvider(test.NewInMemAgent()), dir,
		remote.Configure("127.0.0.1", 0), pcluster.WithKinds(kind)))
	c.StartMember()
	t.Cleanup(func() {
		dir.Shutdown()
		c.Shutdown(false)
	})
	return kit.System()
}

// With no member passing, a busy one (Consul's warning) takes new
// activations rather than none.
func TestClusterDirectoryPlacesOnBusyMembers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dir := startDirectory(t, cluster.DirectoryConfig{
		Membership: cluster.NewStatic(cluster.Member{Name: "n1", Health: cluster.Warning}),
		Registry:   cluster.NewMemRegistry(),
	})
	_, err := dir.Resolve(ctx, "echo", "a")
	require.NoError(t, err)
	owner, err := dir.Owner(ctx, "echo", "a")
	require.NoError(t, err)
	assert.Equal(t, "n1", owner)
}

// A new identity (WithNewIdentity) is claimed at once; one placed
// already keeps its placement when its member is alive, and is placed
// anew when its member is gone, as a lookup would have done.
func TestClusterDirectoryNewIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg := cluster.NewMemRegistry()
	dir := startDirectory(t, cluster.DirectoryConfig{
		Membership: cluster.NewStatic(cluster.Member{Name: "n1"}),
		Registry:   reg,
	})
	_, won, err := reg.Claim(ctx, "echo", "placed", cluster.Placement{}, cluster.Placement{Node: "n1", Epoch: 1})
	require.NoError(t, err)
	require.True(t, won)
	_, won, err = reg.Claim(ctx, "echo", "orphan", cluster.Placement{}, cluster.Placement{Node: "gone", Epoch: 3})
	require.NoError(t, err)
	require.True(t, won)

	fresh := cluster.WithNewIdentity(ctx)
	for _, id := range []string{"new", "placed", "orphan"} {
		pid, err := dir.Resolve(fresh, "echo", id)
		require.NoError(t, err, id)
		assert.True(t, dir.Known("echo", id), id)
		again, err := dir.Resolve(ctx, "echo", id)
		require.NoError(t, err, id)
		assert.True(t, pid.Equal(again), "%s: one activation", id)
	}
	for id, want := range map[string]cluster.Placement{
		"new":    {Node: "n1", Epoch: 1},
		"placed": {Node: "n1", Epoch: 1}, // kept, not claimed again
		"orphan": {Node: "n1", Epoch: 4}, // its member is gone: placed anew
	} {
		got, err := reg.Lookup(ctx, "echo", id)
		require.NoError(t, err)
		assert.Equal(t, want, got, id)
	}
}
