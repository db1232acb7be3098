// Package ask is the typed request every actor client of actors/ makes.
package ask

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Request sends msg to pid and waits for its answer, which must be an R:
// up to timeout, or ctx's deadline when that comes first. A request to a
// stopped actor, or one that does not answer in time, fails with
// protoactor's error; an answer of another type wraps unexpected.
func Request[R any](ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any, timeout time.Duration, unexpected error) (R, error) {
	var zero R
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	res, err := root.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		return zero, fmt.Errorf("%T: %w", msg, err)
	}
	r, ok := res.(R)
	if !ok {
		return zero, fmt.Errorf("%w: %T", unexpected, res)
	}
	return r, nil
}
