package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

func sandbox(id string, rest ...string) string {
	p := "/v1/sandboxes/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Create creates a sandbox.
func (c *Client) Create(ctx context.Context, id string, req server.Requirements) (*server.Info, error) {
	var info server.Info
	err := c.do(ctx, http.MethodPost, "/v1/sandboxes", nil, server.CreateRequest{ID: id, Requirements: req}, &info)
	return &info, err
}

// Execute runs code in a sandbox.
func (c *Client) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	var res server.Result
	err := c.do(ctx, http.MethodPost, sandbox(id, "exec"), nil, server.ExecRequest{Code: &code}, &res)
	return &res, err
}

// Terminate removes a sandbox.
func (c *Client) Terminate(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, sandbox(id), nil, nil, nil)
}

// Restart restarts a sandbox.
func (c *Client) Restart(ctx context.Context, id string) (*server.Info, error) {
	var info server.Info
	err := c.do(ctx, http.MethodPost, sandbox(id, "restart"), nil, nil, &info)
	return &info, err
}

// Info describes a sandbox.
func (c *Client) Info(ctx context.Context, id string) (*server.Info, error) {
	var info server.Info
	err := c.do(ctx, http.MethodGet, sandbox(id), nil, nil, &info)
	return &info, err
}

// List lists sandboxes, on one node when node is set.
func (c *Client) List(ctx context.Context, node string) ([]*server.Info, error) {
	var q url.Values
	if node != "" {
		q = url.Values{"node": {node}}
	}
	var l server.SandboxList
	err := c.do(ctx, http.MethodGet, "/v1/sandboxes", q, nil, &l)
	return l.Sandboxes, err
}

// Migrate moves a sandbox to node.
func (c *Client) Migrate(ctx context.Context, id, node string) (*server.Info, error) {
	var info server.Info
	err := c.do(ctx, http.MethodPost, sandbox(id, "migrate"), nil, server.MigrateRequest{Node: &node}, &info)
	return &info, err
}

// Tree returns a sandbox's supervision tree.
func (c *Client) Tree(ctx context.Context, id string) (*server.Tree, error) {
	var t server.Tree
	err := c.do(ctx, http.MethodGet, sandbox(id, "tree"), nil, nil, &t)
	return &t, err
}

// Restarts returns a sandbox's restart history.
func (c *Client) Restarts(ctx context.Context, id string) ([]server.RestartRecord, error) {
	var l server.RestartList
	err := c.do(ctx, http.MethodGet, sandbox(id, "restarts"), nil, nil, &l)
	return l.Restarts, err
}

// Trace returns a sandbox's supervision trace.
func (c *Client) Trace(ctx context.Context, id string) ([]server.TraceEntry, error) {
	var l server.TraceList
	err := c.do(ctx, http.MethodGet, sandbox(id, "trace"), nil, nil, &l)
	return l.Trace, err
}

// CacheStats returns the cache statistics as the node sent them.
func (c *Client) CacheStats(ctx context.Context) (map[string]any, error) {
	var m map[string]any
	err := c.do(ctx, http.MethodGet, "/v1/cache/stats", nil, nil, &m)
	return m, err
}

// Get answers a GET of path (an API path such as /v1/cluster/status) as
// the node sent it, for output that keeps every field.
func (c *Client) Get(ctx context.Context, path string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, path, nil, nil, &raw)
	return raw, err
}

// DrainNode moves every sandbox of node to the other members.
func (c *Client) DrainNode(ctx context.Context, node string) (*server.DrainResult, error) {
	var r server.DrainResult
	err := c.do(ctx, http.MethodPost, "/v1/cluster/nodes/"+url.PathEscape(node)+"/drain", nil, nil, &r)
	return &r, err
}
