// Package api is the Go client of an otpbox node's HTTP API (/v1), as
// github.com/hashicorp/consul/api is to a Consul agent.
//
// A Client talks to one node. Its endpoints are grouped as the API's
// paths are: Sandboxes (create, exec, list, restart, migrate, tree, …),
// Cluster (status, nodes, load, drain, rebalance, scaling), Cache,
// Memory and Health. Every method takes a context and honours its
// deadline and cancellation.
//
//	c, err := api.NewClient(api.DefaultConfig()) // OTPBOX_ADDR, OTPBOX_TOKEN
//	info, err := c.Sandboxes().Create(ctx, "demo", api.Requirements{})
//	res, err := c.Sandboxes().Exec(ctx, "demo", "x = 20\nx + 22") // res.Value == "42"
//
// # Event streams
//
// Sandboxes.Events and Client.NodeEvents read the node's event streams
// (Server-Sent Events) as iterators; they reconnect by themselves with the
// last event's id, and end when the context does:
//
//	for e, err := range c.Sandboxes().Events(ctx, "demo", &api.WatchOptions{Viewer: "ann"}) {
//		if err != nil { … } // the node refused the stream
//		fmt.Println(e.Type, e.Code, e.Value)
//	}
//
// Sandboxes.Process and Sandboxes.Act describe a sandbox's process and
// kill, exit, crash, terminate or restart it.
//
// # Errors
//
// A node answers every failure with an RFC 9457 problem detail
// (application/problem+json). The client returns it as an *Error, which
// carries the status, the problem's kind and the extra members of the
// problem (the exceeded limit, the line and column of a syntax error, the
// backtrace of a runtime error). Match it with errors.As, or match its
// kind with errors.Is and the Kind constants:
//
//	var perr *api.Error
//	if errors.As(err, &perr) && perr.Kind == api.ErrLimitExceeded {
//		fmt.Println("limit", perr.Limit)
//	}
//	if errors.Is(err, api.ErrNotFound) { … }
//
// Failures before an answer (no node listening, a cancelled context) are
// returned as the transport's errors, wrapped.
//
// # Retries
//
// An answer of 429 (overloaded, degraded) or 503 (draining, not ready,
// timeout, store unavailable) says the node refuses work for now; its
// Retry-After says when to come back. The client waits that long and
// tries again, within Config.Retry (by default 3 attempts in all, waits of
// at most 5 s, never past the context's deadline). Every POST carries an
// Idempotency-Key header, one random key per call reused by its retries,
// so that a node that remembers keys applies a retried call once;
// WithIdempotencyKey sets the key of a call.
//
// # Concurrency
//
// A Client and the endpoint groups it returns are safe for concurrent use
// by many goroutines; share one per node.
package api
