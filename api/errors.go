package api

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ProblemTypePrefix prefixes the type of every problem a node sends: the
// type of a missing sandbox is "urn:otpbox:problem:not_found", whose Kind
// is "not_found".
const ProblemTypePrefix = "urn:otpbox:problem:"

// Kind is the kind of a problem: its type without ProblemTypePrefix. A
// Kind is an error, so that errors.Is(err, api.ErrNotFound) matches an
// *Error of that kind.
type Kind string

// Error returns the kind.
func (k Kind) Error() string { return string(k) }

// The kinds of problem a node answers with.
const (
	ErrMalformedJSON       Kind = "malformed_json"          // 400: the body is not one JSON object of the right types
	ErrUnknownField        Kind = "unknown_field"           // 400: a field the endpoint does not take
	ErrMissingField        Kind = "missing_field"           // 400: code or node absent
	ErrInvalidID           Kind = "invalid_id"              // 400: sandbox id empty or malformed
	ErrInvalidRequirements Kind = "invalid_requirements"    // 400: negative values, hint above limit
	ErrInvalidTier         Kind = "invalid_tier"            // 400: a cache tier other than l1, l2, l3
	ErrUnauthorized        Kind = "unauthorized"            // 401: token missing or wrong
	ErrNotFound            Kind = "not_found"               // 404: unknown sandbox, or no such route
	ErrTierNotConfigured   Kind = "tier_not_configured"     // 404: a cache tier this node lacks
	ErrMethodNotAllowed    Kind = "method_not_allowed"      // 405
	ErrAlreadyExists       Kind = "already_exists"          // 409: create with an id in use
	ErrBodyTooLarge        Kind = "body_too_large"          // 413
	ErrLimitExceeded       Kind = "limit_exceeded"          // 422: an execution limit; Error.Limit names it
	ErrSyntax              Kind = "syntax_error"            // 422: code does not parse; Error.Line, Error.Col
	ErrRuntime             Kind = "runtime_error"           // 422: code raised an error; Error.Backtrace
	ErrUnknownNode         Kind = "unknown_node"            // 404 or 422: not a member of the cluster
	ErrOverloaded          Kind = "overloaded"              // 429: the node refuses work for now
	ErrDegraded            Kind = "degraded"                // 429: readiness degraded
	ErrNotImplemented      Kind = "not_implemented"         // 501: a subsystem this node does not run
	ErrShuttingDown        Kind = "shutting_down"           // 503: the node is draining
	ErrNotReady            Kind = "not_ready"               // 503
	ErrTimeout             Kind = "timeout"                 // 503: the node's request timeout passed
	ErrUnavailable         Kind = "unavailable"             // 503: the sandbox did not answer in time
	ErrStoreUnavailable    Kind = "store_unavailable"       // 503: the journal store failed; the request had no effect
	ErrInternal            Kind = "internal"                // 500
	ErrInvalidPath         Kind = "invalid_path"            // 400: a path that is not canonical (double slashes, dot segments); never a redirect
	ErrBadRequest          Kind = "bad_request"             // 400: not valid HTTP (request line, header, Host)
	ErrInvalidKey          Kind = "invalid_idempotency_key" // 400: an Idempotency-Key that is not 1 to 255 visible ASCII characters
	ErrBodyReadFailed      Kind = "body_read_failed"        // 400: the body could not be read
	ErrForbidden           Kind = "forbidden"               // 403: the read token on a request that changes state
	ErrCrossOrigin         Kind = "cross_origin"            // 403: a browser's state-changing request from an origin not allowed
	ErrRequestTimeout      Kind = "request_timeout"         // 408: the body did not arrive within the node's body timeout
	ErrAlreadyApplied      Kind = "already_applied"         // 409: a retried execution applied once whose answer is no longer kept
	ErrUnsupportedMedia    Kind = "unsupported_media_type"  // 415: a body not sent as application/json
	ErrMisdirected         Kind = "misdirected_request"     // 421: a Host this node does not answer for
	ErrKeyReused           Kind = "idempotency_key_reused"  // 422: an Idempotency-Key reused with another request
	ErrHeadersTooLarge     Kind = "headers_too_large"       // 431
	ErrCircuitOpen         Kind = "circuit_open"            // 503: a dependency's circuit breaker is open; Retry-After says when it probes
	ErrProcessNotFound     Kind = "process_not_found"       // 404: no live process has that pid or path
	ErrInvalidProcess      Kind = "invalid_process"         // 400: neither or both of pid and path, an unknown action, a reason missing or not taken
	ErrInvalidViewer       Kind = "invalid_viewer"          // 400: a viewer name over 64 characters or with control characters
)

// Error is a node's answer outside 2xx, with its problem detail (RFC
// 9457) when the node sent one.
type Error struct {
	// Method and Path are the request's.
	Method, Path string
	// StatusCode is the HTTP status.
	StatusCode int
	// Type is the problem's type URI; Kind is Type without
	// ProblemTypePrefix ("" when the answer had no problem).
	Type string
	Kind Kind
	// Title is short and fixed per kind; Detail explains this occurrence.
	Title, Detail string
	// Limit names the exceeded limit of a limit_exceeded problem
	// ("steps", "duration", "output_size", …).
	Limit string
	// Line and Col locate a syntax_error in the code (1-based).
	Line, Col int
	// Backtrace is the Starlark traceback of a runtime_error.
	Backtrace string
	// RetryAfter is the answer's Retry-After (0 without one).
	RetryAfter time.Duration
	// Extra holds the problem's members that have no field above.
	Extra map[string]json.RawMessage
}

// Error returns "Sandbox not found (404): sandbox: not found: \"s1\"": the
// title, status and detail, then the problem's extra facts.
func (e *Error) Error() string {
	title := e.Title
	if title == "" {
		title = http.StatusText(e.StatusCode)
	}
	msg := fmt.Sprintf("%s (%d)", title, e.StatusCode)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	switch {
	case e.Limit != "":
		msg += " [limit " + e.Limit + "]"
	case e.Line > 0:
		msg += fmt.Sprintf(" [line %d, col %d]", e.Line, e.Col)
	}
	return msg
}

// Is reports whether target is the error's Kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k != "" && k == e.Kind
}

// problem is a problem detail's members the client knows.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Limit     string `json:"limit"`
	Line      int    `json:"line"`
	Col       int    `json:"col"`
	Backtrace string `json:"backtrace"`
}

var knownMembers = map[string]bool{"type": true, "title": true, "status": true, "detail": true,
	"limit": true, "line": true, "col": true, "backtrace": true}

// maxProblem bounds the problem body read.
const maxProblem = 64 << 10

// DecodeError reads a non-2xx answer of the API (at most 64 KiB of its
// body) into an *Error, for callers that send requests of their own (the
// load generator of otpbox bench does).
func DecodeError(resp *http.Response, method, path string) *Error {
	e := &Error{Method: method, Path: path, StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblem))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/problem+json" && mt != "application/json" {
		if text := strings.TrimSpace(string(b)); text != "" && len(text) < 512 {
			e.Detail = text
		}
		return e
	}
	var p problem
	if json.Unmarshal(b, &p) != nil {
		return e
	}
	e.Type, e.Title, e.Detail = p.Type, p.Title, p.Detail
	e.Kind = Kind(strings.TrimPrefix(p.Type, ProblemTypePrefix))
	e.Limit, e.Line, e.Col, e.Backtrace = p.Limit, p.Line, p.Col, p.Backtrace
	var all map[string]json.RawMessage
	if json.Unmarshal(b, &all) == nil {
		for k, v := range all {
			if !knownMembers[k] {
				if e.Extra == nil {
					e.Extra = make(map[string]json.RawMessage)
				}
				e.Extra[k] = v
			}
		}
	}
	return e
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
