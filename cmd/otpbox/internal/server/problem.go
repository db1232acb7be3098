package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/sandbox"
)

// ErrNotImplemented reports an endpoint whose subsystem is not part of
// this node (yet): the cache.
var ErrNotImplemented = errors.New("server: not implemented")

// ErrNotReady reports a subsystem that is not running yet, or not any
// more: 503 not_ready with Retry-After.
var ErrNotReady = errors.New("server: not ready")

// ProblemTypePrefix prefixes every problem type: the type of a missing
// sandbox is "urn:otpbox:problem:not_found". The part after the prefix is
// the problem's Kind.
const ProblemTypePrefix = "urn:otpbox:problem:"

// Problem is an RFC 9457 problem detail, the body of every error response
// (Content-Type application/problem+json).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Limit names the exceeded limit of a limit_exceeded problem, or the
	// requirement above the node's ceiling of an invalid_requirements one.
	Limit string `json:"limit,omitempty"`
	// Ceiling is the node's ceiling of that requirement.
	Ceiling string `json:"ceiling,omitempty"`
	// Line and Col locate a syntax_error in the submitted code.
	Line int `json:"line,omitempty"`
	Col  int `json:"col,omitempty"`
	// Backtrace is the Starlark traceback of a runtime_error.
	Backtrace string `json:"backtrace,omitempty"`
	// RetryAfter is sent as the Retry-After header (whole seconds).
	RetryAfter time.Duration `json:"-"`
}

// Kind returns the problem's type without ProblemTypePrefix, e.g.
// "not_found". It is one of a small fixed set, fit for a metric label.
func (p *Problem) Kind() string { return strings.TrimPrefix(p.Type, ProblemTypePrefix) }

func problem(status int, kind, title, detail string) *Problem {
	return &Problem{Type: ProblemTypePrefix + kind, Title: title, Status: status, Detail: detail}
}

func (p *Problem) retry(d time.Duration) *Problem {
	p.RetryAfter = d
	return p
}

// problemFor maps an error of the sandbox host (or of a request's
// context) to its problem. retry is the Retry-After of 429 and 503.
func problemFor(err error, retry time.Duration) *Problem {
	var (
		limit *LimitError
		syn   *SyntaxError
		rt    *RuntimeError
		store *StoreError
		ceil  *CeilingError
		th    *ThrottledError
	)
	var open *breaker.OpenError
	switch {
	case errors.As(err, &open):
		return problem(http.StatusServiceUnavailable, "circuit_open", "Circuit open",
			fmt.Sprintf("calls to %s fail fast after %d consecutive failures; the node probes it again in %v",
				breakerNames(open.Name), open.Failures, open.RetryAfter.Round(time.Second))).retry(max(open.RetryAfter, time.Second))
	case errors.As(err, &ceil):
		p := problem(http.StatusBadRequest, "invalid_requirements", "Invalid requirements", err.Error())
		p.Limit, p.Ceiling = ceil.Field, ceil.Ceiling
		return p
	case errors.As(err, &th):
		return problem(http.StatusTooManyRequests, "throttled", "Sandbox throttled", err.Error()).retry(th.RetryAfter)
	case errors.As(err, &limit):
		p := problem(http.StatusUnprocessableEntity, "limit_exceeded", "Execution limit exceeded", err.Error())
		p.Limit = limit.Limit
		return p
	case errors.As(err, &syn):
		p := problem(http.StatusUnprocessableEntity, "syntax_error", "Syntax error", syn.Msg)
		p.Line, p.Col = syn.Line, syn.Col
		return p
	case errors.As(err, &rt):
		p := problem(http.StatusUnprocessableEntity, "runtime_error", "Runtime error", rt.Msg)
		p.Backtrace = rt.Backtrace
		return p
	case errors.Is(err, ErrKeyReused):
		return keyReused()
	case errors.Is(err, ErrAlreadyApplied):
		return problem(http.StatusConflict, "already_applied", "Already applied",
			"the request with this Idempotency-Key was applied once; its answer is no longer kept, and it is not applied again")
	case errors.Is(err, ErrInvalidID):
		return problem(http.StatusBadRequest, "invalid_id", "Invalid sandbox id", err.Error())
	case errors.Is(err, ErrInvalidRequirements):
		return problem(http.StatusBadRequest, "invalid_requirements", "Invalid requirements", err.Error())
	case errors.Is(err, sandbox.ErrNoProcess):
		return problem(http.StatusNotFound, "process_not_found", "Process not found", strings.TrimPrefix(err.Error(), "sandbox: "))
	case errors.Is(err, sandbox.ErrInvalidProcess):
		return problem(http.StatusBadRequest, "invalid_process", "Invalid process request", strings.TrimPrefix(err.Error(), "sandbox: "))
	case errors.Is(err, ErrNotFound):
		return problem(http.StatusNotFound, "not_found", "Sandbox not found", err.Error())
	case errors.Is(err, ErrAlreadyExists):
		return problem(http.StatusConflict, "already_exists", "Sandbox already exists", err.Error())
	case errors.Is(err, ErrUnknownNode):
		return problem(http.StatusUnprocessableEntity, "unknown_node", "Unknown node", err.Error())
	case errors.Is(err, ErrOverloaded):
		return problem(http.StatusTooManyRequests, "overloaded", "Overloaded", err.Error()).retry(retry)
	case errors.Is(err, ErrShuttingDown):
		return problem(http.StatusServiceUnavailable, "shutting_down", "Shutting down", err.Error()).retry(retry)
	case errors.As(err, &store), errors.Is(err, ErrStoreClosed):
		return problem(http.StatusServiceUnavailable, "store_unavailable", "Store unavailable", err.Error()).retry(retry)
	case errors.Is(err, ErrNotReady):
		return problem(http.StatusServiceUnavailable, "not_ready", "Not ready", err.Error()).retry(retry)
	case errors.Is(err, ErrNotImplemented):
		return problem(http.StatusNotImplemented, "not_implemented", "Not implemented", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return problem(http.StatusServiceUnavailable, "timeout", "Request timed out", "the request did not finish within the node's request timeout").retry(retry)
	case errors.Is(err, context.Canceled):
		return problem(http.StatusServiceUnavailable, "cancelled", "Request cancelled", "the request was cancelled").retry(retry)
	case errors.Is(err, ErrUnavailable):
		return problem(http.StatusServiceUnavailable, "unavailable", "Sandbox unavailable", err.Error()).retry(retry)
	}
	return problem(http.StatusInternalServerError, "internal", "Internal error", "internal error; see the node's log")
}

// breakerNames says what a breaker guards, in words.
func breakerNames(name string) string {
	switch {
	case name == "store":
		return "the sandbox store"
	case name == "cache_l3":
		return "the cache's Redis tier"
	case strings.HasPrefix(name, "member/"):
		return "cluster member " + strings.TrimPrefix(name, "member/")
	}
	return name
}

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	if p.RetryAfter > 0 {
		secs := int64((p.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON sends v as application/json with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
