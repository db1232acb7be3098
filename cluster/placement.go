package cluster

import (
	"context"
	"errors"
	"sync/atomic"
)

// ErrNoMembers means no alive member accepts new sandboxes.
var ErrNoMembers = errors.New("cluster: no member accepts new activations")

// Placer picks the member that hosts a new activation. The LoadBalancer's
// strategies implement it; RoundRobin is the default until one is set.
type Placer interface {
	// Place returns the name of one of candidates (alive members that
	// accept activations, sorted by name, never empty) to host the
	// activation of identity.
	Place(ctx context.Context, identity string, candidates []Member) (string, error)
}

// PlacerFunc adapts a function to Placer.
type PlacerFunc func(ctx context.Context, identity string, candidates []Member) (string, error)

// Place implements Placer.
func (f PlacerFunc) Place(ctx context.Context, identity string, candidates []Member) (string, error) {
	return f(ctx, identity, candidates)
}

// RoundRobin places activations on the candidates in turn.
type RoundRobin struct{ n atomic.Uint64 }

// Place implements Placer.
func (r *RoundRobin) Place(_ context.Context, _ string, candidates []Member) (string, error) {
	if len(candidates) == 0 {
		return "", ErrNoMembers
	}
	return candidates[(r.n.Add(1)-1)%uint64(len(candidates))].Name, nil
}

// Migrator moves sandboxes between members: the cluster's migration, used
// by the LoadBalancer's rebalancing and the ScalabilityManager's scale-in.
type Migrator interface {
	// Placed returns the identities of the sandboxes active on node.
	Placed(ctx context.Context, node string) ([]string, error)
	// Migrate moves the sandbox identity, with its state, to node.
	Migrate(ctx context.Context, identity, node string) error
	// Drain moves every sandbox of node to other members and marks node
	// draining, so it takes no new ones.
	Drain(ctx context.Context, node string) error
}
