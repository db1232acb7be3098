//go:build !race

// Two protoactor remotes alive in one process race in grpc's global
// logger (see replay_fuzz_test.go): this test runs without -race.

package sandbox_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/redis"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/testkit"
)

// TestSnapshotAcrossHosts: random programs of data and functions run on
// member a, which snapshots their journals in Redis every third
// execution; member b, activating each sandbox from the shared journal
// (a snapshot and the entries after it), finds the same state.
func TestSnapshotAcrossHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hosts on a real Redis")
	}
	srv := redistest.Start(t)
	cfg := sandbox.Config{SnapshotEvery: 3}
	a, b := startOnRedis(t, srv, "a", cfg), startOnRedis(t, srv, "b", cfg)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 5))
	const observe = "repr((x, a, b, d, sorted(s), t, f == None, y, z, c, w))"
	for p := range 8 {
		id := fmt.Sprintf("h%d", p)
		_, err := a.Create(ctx, id, sandbox.Requirements{})
		require.NoError(t, err)
		for _, code := range randomProgram(rng, 30) {
			_, _ = a.Execute(ctx, id, code) // failures are part of the programs
		}
		here, err := a.Execute(ctx, id, observe)
		require.NoError(t, err)
		require.NoError(t, a.Passivate(ctx, id))
		waitPassivated(t, a, id)
		there, err := b.Execute(ctx, id, observe)
		require.NoError(t, err)
		require.Equal(t, here.Value, there.Value, "%s on another member", id)
	}
	taken, _ := a.Snapshots()
	require.NotZero(t, taken)
}

// startOnRedis starts a member named name whose store is srv's Redis.
func startOnRedis(t *testing.T, srv *redistest.Server, name string, cfg sandbox.Config) *sandbox.Local {
	t.Helper()
	kit := testkit.New(t)
	store := redis.New(srv.Client())
	cfg.Store, cfg.Node = store, name
	local, err := sandbox.StartLocal(kit.System(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { local.Shutdown(); _ = store.Close() })
	return local
}
