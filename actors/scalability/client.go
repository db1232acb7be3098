package scalability

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/actors/internal/ask"
)

// DefaultTimeout bounds a request to the manager when ctx has no earlier
// deadline. No request waits for an operation: operations run off the
// mailbox.
const DefaultTimeout = 5 * time.Second

// Client is the typed API of the design's ScalabilityManager. A Client is
// safe for concurrent use.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewClient returns a client of the manager at pid (for a supervised
// manager, the stable Supervisor.Whereis(ChildID)).
func NewClient(root *actor.RootContext, pid *actor.PID) *Client {
	return &Client{root: root, pid: pid}
}

// GetClusterStatus returns the cluster's figures and the pending operations
// (design: get_cluster_status/0).
func (cl *Client) GetClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	return request[*ClusterStatus](ctx, cl, &GetClusterStatus{})
}

// GetOptimalNodeForSandbox returns the name of the member to place a
// sandbox with requirements r on (design: get_optimal_node_for_sandbox/1):
// among the alive members that accept sandboxes and fit r, the one with
// the highest score (free memory, idle CPU and free slots as fractions,
// 0.3 each; locality 0.1), the smallest name among equals. When none fits,
// the error is a *NoNodeError (errors.Is ErrNoSuitableNode); if the
// cluster is full rather than r too big for any member, and auto-scaling
// is on, the manager also tries a scale-out.
func (cl *Client) GetOptimalNodeForSandbox(ctx context.Context, r Requirements) (string, error) {
	res, err := request[*OptimalNode](ctx, cl, &GetOptimalNode{Requirements: r})
	if err != nil {
		return "", err
	}
	return res.Node, res.Err
}

// TriggerScaleCheck runs a capacity check now and returns its decision
// (design: the :check_capacity tick). The decision's Operation is the
// operation it started, if any; Skipped says why a wanted one did not
// start.
func (cl *Client) TriggerScaleCheck(ctx context.Context) (*Decision, error) {
	return request[*Decision](ctx, cl, &TriggerScaleCheck{})
}

// TriggerScaleOut starts a scale-out of Config.ScaleOutStep nodes whatever
// the utilization (design: trigger_scale_out/1) and returns it; the error
// says why it did not start (ErrCooldown, ErrPending, ErrMaxNodes, …).
func (cl *Client) TriggerScaleOut(ctx context.Context, reason string) (*Operation, error) {
	return triggered(request[*Decision](ctx, cl, &TriggerScaleOut{Reason: reason}))
}

// TriggerScaleIn starts a scale-in of Config.ScaleInStep nodes whatever the
// utilization (design: trigger_scale_in/1) and returns it; the error says
// why it did not start (ErrCooldown, ErrPending, ErrMinNodes, …).
func (cl *Client) TriggerScaleIn(ctx context.Context, reason string) (*Operation, error) {
	return triggered(request[*Decision](ctx, cl, &TriggerScaleIn{Reason: reason}))
}

func triggered(d *Decision, err error) (*Operation, error) {
	if err != nil {
		return nil, err
	}
	return d.Operation, d.Skipped
}

// SetConfig replaces the whole policy (zero numeric fields take their
// defaults, Self defaults to the membership's): read it with GetConfig,
// change it, set it. A config that makes no sense is a *ConfigError and
// changes nothing.
func (cl *Client) SetConfig(ctx context.Context, cfg Config) error {
	d, err := request[*Done](ctx, cl, &SetConfig{Config: cfg})
	if err != nil {
		return err
	}
	return d.Err
}

// GetConfig returns the policy in force, with defaults applied.
func (cl *Client) GetConfig(ctx context.Context) (Config, error) {
	res, err := request[*ConfigResult](ctx, cl, &GetConfig{})
	if err != nil {
		return Config{}, err
	}
	return res.Config, nil
}

// History returns the finished operations, oldest first, with their
// timings and results.
func (cl *Client) History(ctx context.Context) ([]Operation, error) {
	res, err := request[*HistoryResult](ctx, cl, &GetHistory{})
	if err != nil {
		return nil, err
	}
	return res.Operations, nil
}

func request[R message](ctx context.Context, cl *Client, msg message) (R, error) {
	return ask.Request[R](ctx, cl.root, cl.pid, msg, DefaultTimeout, ErrUnexpectedReply)
}
