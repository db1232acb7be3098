package scalability

import (
	"context"
	"time"

	"github.com/otpbox/otpbox/cluster"
	"github.com/prometheus/client_golang/prometheus"
)

// Provider adds and removes otpbox nodes: the design's CloudProvider.
// ProcessProvider starts processes on this host; CommandProvider runs an
// operator's command (Nomad, Kubernetes, cloud autoscaling groups).
//
// The manager calls a Provider from its operations' goroutines, never from
// its mailbox: one scale-out and one scale-in may run at once, so
// implementations must be safe for concurrent use. Both methods must return
// promptly once ctx is done.
type Provider interface {
	// AddNodes starts n nodes and returns the names of those that started
	// (their membership names), even with an error for the others. It may
	// return before they joined the membership: the manager waits for that.
	AddNodes(ctx context.Context, n int) ([]string, error)
	// RemoveNode stops the node name, which the manager drained first.
	RemoveNode(ctx context.Context, name string) error
}

// Deps are the manager's collaborators.
type Deps struct {
	// Membership is the cluster's view of its members, with their
	// capacity and load. Required.
	Membership cluster.Membership
	// Migrator drains nodes before a scale-in removes them; nil skips
	// every scale-in with ErrNoMigrator.
	Migrator cluster.Migrator
	// Provider adds and removes nodes; nil skips every operation with
	// ErrNoProvider (status and placement still work).
	Provider Provider
	// Registerer registers the manager's metrics; nil keeps them private.
	// A restarted manager adopts the collectors already registered.
	Registerer prometheus.Registerer
	// Clock timestamps operations and runs the cooldown; default time.Now.
	// It is called from the manager's goroutine only.
	Clock func() time.Time
	// Zone returns a member's zone for Requirements.Locality (for example
	// from its name); nil: locality matches member names only. Called from
	// the manager's goroutine only.
	Zone func(cluster.Member) string
}
