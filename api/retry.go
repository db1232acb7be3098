package api

import (
	"errors"
	"net/http"
	"time"
)

// Defaults of RetryPolicy.
const (
	// DefaultMaxAttempts is the most attempts of one call, the first
	// included.
	DefaultMaxAttempts = 3
	// DefaultMaxWait is the longest wait before a retry.
	DefaultMaxWait = 5 * time.Second
	// DefaultBackoff is the first wait after an answer without
	// Retry-After; it doubles with each retry.
	DefaultBackoff = 100 * time.Millisecond
)

// RetryPolicy bounds how a Client retries a call that the node refused
// for now: an answer 429 Too Many Requests or 503 Service Unavailable.
// Nothing else is retried (not a 4xx about the request, not a failure
// to connect). The wait before a retry is the answer's Retry-After, else
// Backoff × 2^(retry−1); a wait over MaxWait, or one that would end after
// the context's deadline, ends the retries and the call returns the
// refusal. The zero value means the defaults.
type RetryPolicy struct {
	// MaxAttempts is the most attempts of one call, the first included
	// (default DefaultMaxAttempts; 1 turns retries off).
	MaxAttempts int
	// MaxWait is the longest wait before one retry (default
	// DefaultMaxWait).
	MaxWait time.Duration
	// Backoff is the wait before the first retry of an answer without
	// Retry-After (default DefaultBackoff).
	Backoff time.Duration
}

// NoRetry is a RetryPolicy that sends every call once.
var NoRetry = RetryPolicy{MaxAttempts: 1}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	return p
}

// next says whether attempt (1-based), which failed with err, is retried
// (attempts in all), and after which wait.
func (p RetryPolicy) next(attempt, attempts int, err error) (time.Duration, bool) {
	var e *Error
	if err == nil || attempt >= attempts || !errors.As(err, &e) || !e.Temporary() {
		return 0, false
	}
	wait := e.RetryAfter
	if wait <= 0 {
		wait = p.Backoff << (attempt - 1)
	}
	if wait > p.MaxWait {
		return 0, false
	}
	return wait, true
}

// Temporary reports whether the node refused the request for now (429 or
// 503): the same request may succeed later, after RetryAfter.
func (e *Error) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusServiceUnavailable
}
