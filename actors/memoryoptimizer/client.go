package memoryoptimizer

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/actors/internal/ask"
)

// DefaultTimeout bounds a request to the optimizer when ctx has no earlier
// deadline. An optimization pass calls its dependencies, so it is longer.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultOptimizeTimeout = time.Minute
)

// Client is the typed API of the design's MemoryOptimizer. A Client is safe
// for concurrent use.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewClient returns a client of the optimizer at pid (for a supervised
// optimizer, the stable Supervisor.Whereis(ChildID)).
func NewClient(root *actor.RootContext, pid *actor.PID) *Client {
	return &Client{root: root, pid: pid}
}

// GetMemoryStats returns the current figures (design: get_memory_stats/0).
func (cl *Client) GetMemoryStats(ctx context.Context) (*MemoryStats, error) {
	return request[*MemoryStats](ctx, cl, &GetMemoryStats{}, DefaultTimeout)
}

// OptimizeMemory runs an optimization pass and waits for its result.
func (cl *Client) OptimizeMemory(ctx context.Context) (*Optimized, error) {
	return request[*Optimized](ctx, cl, &Optimize{}, DefaultOptimizeTimeout)
}

// Trigger asks for an optimization pass and returns at once (design:
// optimize_memory_usage/0, a cast).
func (cl *Client) Trigger() { cl.root.Send(cl.pid, &Optimize{}) }

// Configure sets the threshold and the check interval; zero keeps a value,
// a negative interval stops periodic checks.
func (cl *Client) Configure(ctx context.Context, threshold float64, interval time.Duration) error {
	d, err := request[*Done](ctx, cl, &Configure{Threshold: threshold, Interval: interval}, DefaultTimeout)
	if err != nil {
		return err
	}
	return d.Err
}

func request[R message](ctx context.Context, cl *Client, msg message, timeout time.Duration) (R, error) {
	return ask.Request[R](ctx, cl.root, cl.pid, msg, timeout, ErrUnexpectedReply)
}
