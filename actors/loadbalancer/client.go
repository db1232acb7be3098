package loadbalancer

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/actors/internal/ask"
	"github.com/otpbox/otpbox/cluster"
)

// Request timeouts used when ctx has no earlier deadline. A rebalancing
// round calls the Migrator, so it gets longer.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultRebalanceTimeout = 5 * time.Minute
)

// Client is the typed API of the design's LoadBalancer. Every method goes
// through the actor's mailbox; on the hot path, place with the Balancer
// itself. A Client is safe for concurrent use.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewClient returns a client of the actor at pid (for a supervised actor,
// the stable Supervisor.Whereis(ChildID)).
func NewClient(root *actor.RootContext, pid *actor.PID) *Client {
	return &Client{root: root, pid: pid}
}

// ReportNodeMetrics records node's load and returns at once (design:
// report_node_metrics/2, a cast).
func (cl *Client) ReportNodeMetrics(node string, metrics cluster.Load) {
	cl.root.Send(cl.pid, &ReportNodeMetrics{Node: node, Metrics: metrics})
}

// GetBestNode returns the node to place key on and counts the placement
// (design: get_best_node/2). With no healthy node the error wraps
// ErrNoNodes and cluster.ErrNoMembers.
func (cl *Client) GetBestNode(ctx context.Context, key string) (string, error) {
	r, err := request[*BestNode](ctx, cl, &GetBestNode{Key: key}, DefaultTimeout)
	if err != nil {
		return "", err
	}
	return r.Node, r.Err
}

// GetLoadDistribution returns the load per node and the spread (design:
// get_load_distribution/0).
func (cl *Client) GetLoadDistribution(ctx context.Context) (*Distribution, error) {
	return request[*Distribution](ctx, cl, &GetLoadDistribution{}, DefaultTimeout)
}

// TriggerRebalancing runs a rebalancing round and returns what it moved
// (design: trigger_rebalancing/0, which is a cast; send TriggerRebalancing
// without waiting for that).
func (cl *Client) TriggerRebalancing(ctx context.Context) (*Rebalanced, error) {
	return request[*Rebalanced](ctx, cl, &TriggerRebalancing{}, DefaultRebalanceTimeout)
}

// SetStrategy switches the placement strategy.
func (cl *Client) SetStrategy(ctx context.Context, s Strategy) error {
	return done(request[*Done](ctx, cl, &SetStrategy{Strategy: s}, DefaultTimeout))
}

// SetRebalancing switches rebalancing on or off.
func (cl *Client) SetRebalancing(ctx context.Context, enabled bool) error {
	return done(request[*Done](ctx, cl, &SetRebalancing{Enabled: enabled}, DefaultTimeout))
}

// NodeUp says m is up (design: node_up); see Balancer.NodeUp.
func (cl *Client) NodeUp(ctx context.Context, m cluster.Member) error {
	return done(request[*Done](ctx, cl, &NodeUp{Member: m}, DefaultTimeout))
}

// NodeDown says node is down (design: node_down); see Balancer.NodeDown.
func (cl *Client) NodeDown(ctx context.Context, node string) error {
	return done(request[*Done](ctx, cl, &NodeDown{Node: node}, DefaultTimeout))
}

func request[R message](ctx context.Context, cl *Client, msg message, timeout time.Duration) (R, error) {
	return ask.Request[R](ctx, cl.root, cl.pid, msg, timeout, ErrUnexpectedReply)
}

func done(d *Done, err error) error {
	if err != nil {
		return err
	}
	return d.Err
}
