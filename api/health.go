package api

import (
	"context"
	"errors"
	"net/http"
)

// The readiness of a node, in Readiness.Status.
const (
	Ready    = "ready"     // 200: the node takes work
	Degraded = "degraded"  // 429: it takes work, but something is wrong
	NotReady = "not_ready" // 503: starting, draining, or part of its tree down
)

// Readiness is a node's answer to GET /v1/health/ready.
type Readiness struct {
	// Status is Ready, Degraded or NotReady; Reason says why when it is
	// not Ready.
	Status string
	Reason string
	// StatusCode is the HTTP status: 200, 429 or 503.
	StatusCode int
}

// Health is the /v1/health endpoints. Health calls are never retried:
// they report the node's state as it is. It is safe for concurrent use.
type Health struct{ c *Client }

// Health returns the health endpoints.
func (c *Client) Health() *Health { return &Health{c} }

// Live checks that the node's process answers (GET /v1/health/live).
func (h *Health) Live(ctx context.Context) error {
	return h.c.call(ctx, request{method: http.MethodGet, path: "/v1/health/live", noRetry: true}, nil)
}

// Ready returns the node's readiness (GET /v1/health/ready). A degraded or
// not ready node is an answer, not an error; the error is for a failed
// request.
func (h *Health) Ready(ctx context.Context) (*Readiness, error) {
	var ok struct {
		Status string `json:"status"`
	}
	err := h.c.call(ctx, request{method: http.MethodGet, path: "/v1/health/ready", noRetry: true}, &ok)
	var e *Error
	switch {
	case err == nil:
		return &Readiness{Status: Ready, StatusCode: http.StatusOK}, nil
	case errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests:
		return &Readiness{Status: Degraded, Reason: e.Detail, StatusCode: e.StatusCode}, nil
	case errors.As(err, &e) && e.StatusCode == http.StatusServiceUnavailable:
		return &Readiness{Status: NotReady, Reason: e.Detail, StatusCode: e.StatusCode}, nil
	}
	return nil, err
}
