package server

import (
	"fmt"
	"net/http"
)

// ReadyStatus is the node's readiness.
type ReadyStatus uint8

const (
	// Ready: the node takes work (200).
	Ready ReadyStatus = iota
	// Degraded: the node takes work but something is wrong (429, which
	// Consul shows as warning).
	Degraded
	// NotReady: the node takes no work (503): starting, draining, or a
	// part of its tree is down.
	NotReady
)

// String returns "ready", "degraded" or "not_ready".
func (s ReadyStatus) String() string {
	switch s {
	case Ready:
		return "ready"
	case Degraded:
		return "degraded"
	case NotReady:
		return "not_ready"
	}
	return fmt.Sprintf("ReadyStatus(%d)", s)
}

// Readiness is the answer of /v1/health/ready: a status and why.
type Readiness struct {
	Status ReadyStatus
	Reason string
}

// HealthStatus is the body of a successful health check.
type HealthStatus struct {
	Status string `json:"status"`
}

func (s *Server) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, HealthStatus{Status: "ok"})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	rd := Readiness{Status: NotReady, Reason: "draining"}
	if !s.draining.Load() {
		rd = s.cfg.Ready(r.Context())
	}
	switch rd.Status {
	case Ready:
		writeJSON(w, http.StatusOK, HealthStatus{Status: Ready.String()})
	case Degraded:
		writeProblem(w, problem(http.StatusTooManyRequests, "degraded", "Degraded", rd.Reason).retry(s.cfg.RetryAfter))
	default:
		writeProblem(w, problem(http.StatusServiceUnavailable, "not_ready", "Not ready", rd.Reason).retry(s.cfg.RetryAfter))
	}
}
