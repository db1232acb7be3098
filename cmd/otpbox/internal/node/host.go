package node

import (
	"context"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/metrics"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/supervision"
)

// Host is the sandbox host as the node needs it: the API's Sandboxes, its
// sandbox counts for the metrics and the cluster endpoints, its subtree in
// the node's supervision tree, its drain and its release. The node's
// default is the SandboxHost; tests inject others with WithHost.
type Host interface {
	server.Sandboxes
	metrics.SandboxCounter
	// ChildSpec is the host's child in the node's application supervisor
	// (a worker, or a supervisor over the sandboxes). Its ID must be
	// HostChildID.
	ChildSpec() supervision.ChildSpec
	// Drain passivates every sandbox, flushing its journal, and refuses
	// new work with server.ErrShuttingDown. It returns once all are
	// passivated or ctx is done.
	Drain(ctx context.Context) error
	// Close releases what the host holds (its cluster member, its store).
	// The node calls it once, after its tree stopped (or failed to
	// start), before it shuts the actor system down; Close may shut the
	// actor system down itself.
	Close() error
}

// HostChildID is the sandbox host's child id in the node's tree.
const HostChildID = "sandbox_host"
