package cluster_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
)

// testRegistry is the conformance test every Registry passes.
func testRegistry(t *testing.T, r cluster.Registry) {
	ctx := context.Background()
	none := cluster.Placement{}
	p, err := r.Lookup(ctx, "k", "a")
	require.NoError(t, err)
	assert.True(t, p.IsZero())

	n1 := cluster.Placement{Node: "n1", Epoch: 1}
	cur, won, err := r.Claim(ctx, "k", "a", none, n1)
	require.NoError(t, err)
	assert.True(t, won)
	assert.Equal(t, n1, cur)

	// A claim from an outdated placement loses and sees the winner.
	cur, won, err = r.Claim(ctx, "k", "a", none, cluster.Placement{Node: "n2", Epoch: 1})
	require.NoError(t, err)
	assert.False(t, won)
	assert.Equal(t, n1, cur)

	n3 := cluster.Placement{Node: "n3", Epoch: 2}
	cur, won, err = r.Claim(ctx, "k", "a", n1, n3)
	require.NoError(t, err)
	assert.True(t, won)
	assert.Equal(t, n3, cur)

	// Kinds and identities are separate.
	p, err = r.Lookup(ctx, "other", "a")
	require.NoError(t, err)
	assert.True(t, p.IsZero())

	// Remove removes whatever placement there is, and removing none is
	// no error.
	require.NoError(t, r.Remove(ctx, "k", "a"))
	p, _ = r.Lookup(ctx, "k", "a")
	assert.True(t, p.IsZero())
	require.NoError(t, r.Remove(ctx, "k", "a"))
	p, _ = r.Lookup(ctx, "k", "a")
	assert.True(t, p.IsZero())

	// Concurrent first claims: exactly one wins, everyone sees it.
	var wg sync.WaitGroup
	wins := make(chan cluster.Placement, 16)
	seen := make(chan cluster.Placement, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur, won, err := r.Claim(ctx, "k", "race", none, cluster.Placement{Node: string(rune('a' + i)), Epoch: 1})
			assert.NoError(t, err)
			if won {
				wins <- cur
			}
			seen <- cur
		}()
	}
	wg.Wait()
	close(wins)
	close(seen)
	require.Len(t, wins, 1)
	winner := <-wins
	for p := range seen {
		assert.Equal(t, winner, p)
	}
}

func TestMemRegistry(t *testing.T) { testRegistry(t, cluster.NewMemRegistry()) }

func TestRedisRegistry(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client()
	testRegistry(t, cluster.NewRedisRegistry(client, "test:"))
}
