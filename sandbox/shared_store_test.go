package sandbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/redis"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/testkit"
)

// TestSharedStoreAcrossNodes: a sandbox journaled to Redis on one node is
// rebuilt, state intact, by another node that reads the same Redis.
func TestSharedStoreAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	start := func(name string) *sandbox.Local {
		kit := testkit.New(t)
		client := srv.Client()
		store := redis.New(client)
		local, err := sandbox.StartLocal(kit.System(), sandbox.Config{Store: store, Node: name})
		require.NoError(t, err)
		t.Cleanup(func() { local.Shutdown(); _ = store.Close() })
		return local
	}
	ctx := t.Context()
	a := start("a")
	_, err := a.Create(ctx, "shared", sandbox.Requirements{})
	require.NoError(t, err)
	_, err = a.Execute(ctx, "shared", "xs = [1]\nxs.append(2)")
	require.NoError(t, err)
	a.Shutdown() // node a goes away; its state is in Redis

	b := start("b")
	res, err := b.Execute(ctx, "shared", "xs")
	require.NoError(t, err)
	assert.Equal(t, "[1, 2]", res.Value)
}

// failingStore is a working store whose appends can be made to fail, as a
// disk or Redis failure would.
type failingStore struct {
	sandbox.Store
	fail bool
}

var errDisk = errors.New("disk on fire")

func (s *failingStore) Append(ctx context.Context, id string, e sandbox.Entry) (uint64, error) {
	if s.fail {
		return 0, errDisk
	}
	return s.Store.Append(ctx, id, e)
}

// TestJournalWriteFailureIsAnError: an execution that cannot be journaled
// is an error to the caller and leaves no state behind.
func TestJournalWriteFailureIsAnError(t *testing.T) {
	kit := testkit.New(t)
	store := &failingStore{Store: openStore(t, t.TempDir())}
	local, err := sandbox.StartLocal(kit.System(), sandbox.Config{Store: store})
	require.NoError(t, err)
	t.Cleanup(func() { local.Shutdown(); _ = store.Close() })
	ctx := t.Context()
	_, err = local.Create(ctx, "f", sandbox.Requirements{})
	require.NoError(t, err)
	_, err = local.Execute(ctx, "f", "a = 1")
	require.NoError(t, err)

	store.fail = true
	_, err = local.Execute(ctx, "f", "b = 2")
	var se *sandbox.StoreError
	require.ErrorAs(t, err, &se)

	store.fail = false
	_, err = local.Execute(ctx, "f", "b")
	var syn *sandbox.SyntaxError
	assert.ErrorAs(t, err, &syn, "b was not kept: it was never journaled")
	res, err := local.Execute(ctx, "f", "a")
	require.NoError(t, err)
	assert.Equal(t, "1", res.Value)
}

// TestTerminateRemovesPlacement: a terminated sandbox leaves no
// placement in the cluster's directory when the Redis store deletes it
// with the journal (WithPlacements, as a node does: the manager then
// leaves the directory alone), and the id can be created again.
func TestTerminateRemovesPlacement(t *testing.T) {
	srv := redistest.Start(t)
	reg := cluster.NewRedisRegistry(srv.Client(), "place:")
	store := redis.New(srv.Client(), redis.WithPrefix("place:"),
		redis.WithPlacements(func(id string) string { return reg.Key(sandbox.Kind, id) }))
	require.True(t, store.DeletesPlacement())
	list := &memberList{addr: make(map[string]string)}
	l, err := sandbox.StartMember(quietSystem(), sandbox.Config{Store: store},
		sandbox.MemberConfig{Name: "place", Provider: test.NewTestProvider(test.NewInMemAgent()),
			Membership: twoMembers{self: "a", list: list}, Registry: reg})
	require.NoError(t, err)
	list.mu.Lock()
	list.addr["a"] = l.Cluster.ActorSystem.Address()
	list.mu.Unlock()
	t.Cleanup(func() { l.Shutdown(); _ = store.Close() })

	ctx := t.Context()
	placed := func() cluster.Placement {
		p, err := reg.Lookup(ctx, sandbox.Kind, "t1")
		require.NoError(t, err)
		return p
	}
	for range 2 {
		_, err = l.Create(ctx, "t1", sandbox.Requirements{})
		require.NoError(t, err)
		assert.Equal(t, "a", placed().Node)
		_, err = l.Execute(ctx, "t1", "n = 1")
		require.NoError(t, err)
		require.NoError(t, l.Terminate(ctx, "t1"))
		assert.True(t, placed().IsZero(), "placement left after terminate: %+v", placed())
		_, err = l.Execute(ctx, "t1", "n")
		require.ErrorIs(t, err, sandbox.ErrNotFound)
	}
}

// TestCreateInOneStep: on the Redis store a create stores the metadata
// in one step (sandbox.MetaCreator) without reading first; a create of
// a sandbox that exists but is not active here still finds it: a retry
// is answered, another create refused, and nothing is overwritten.
func TestCreateInOneStep(t *testing.T) {
	srv := redistest.Start(t)
	kit := testkit.New(t)
	store := redis.New(srv.Client(), redis.WithPrefix("once:"))
	local, err := sandbox.StartLocal(kit.System(), sandbox.Config{Store: store})
	require.NoError(t, err)
	t.Cleanup(func() { local.Shutdown(); _ = store.Close() })
	ctx := t.Context()
	req := sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 5000}}
	_, err = local.Create(sandbox.WithRequestID(ctx, "c1"), "s", req)
	require.NoError(t, err)
	_, err = local.Execute(ctx, "s", "n = 7")
	require.NoError(t, err)
	require.NoError(t, local.Passivate(ctx, "s"))

	info, err := local.Create(sandbox.WithRequestID(ctx, "c1"), "s", req)
	require.NoError(t, err, "a retry of the create, the sandbox passivated")
	assert.Equal(t, uint64(5000), info.Requirements.Limits.MaxSteps)
	require.NoError(t, local.Passivate(ctx, "s"))
	_, err = local.Create(sandbox.WithRequestID(ctx, "c2"), "s", sandbox.Requirements{})
	require.ErrorIs(t, err, sandbox.ErrAlreadyExists)
	require.NoError(t, local.Passivate(ctx, "s"))
	_, err = local.Create(ctx, "s", sandbox.Requirements{})
	require.ErrorIs(t, err, sandbox.ErrAlreadyExists)

	res, err := local.Execute(ctx, "s", "n")
	require.NoError(t, err)
	assert.Equal(t, "7", res.Value, "the sandbox's journal is intact")
	info, err = local.Info(ctx, "s")
	require.NoError(t, err)
	assert.Equal(t, uint64(5000), info.Requirements.Limits.MaxSteps, "its metadata is not overwritten")
}
