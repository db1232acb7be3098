package loadbalancer

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrUnknownStrategy means a strategy name that is none of Strategies.
	ErrUnknownStrategy = errors.New("loadbalancer: unknown strategy")
	// ErrBadThreshold means a rebalance threshold outside (0, 1].
	ErrBadThreshold = errors.New("loadbalancer: rebalance threshold must be in (0, 1]")
	// ErrBadLoadFactor means a consistent-hash load factor below 1.
	ErrBadLoadFactor = errors.New("loadbalancer: hash load factor must be at least 1")
	// ErrNegative means a count or a timeout below zero.
	ErrNegative = errors.New("loadbalancer: must not be negative")
	// ErrNoNodes means no node may take an activation: there were no
	// candidates, or every one is known to be down, overloaded or
	// draining. Errors wrapping it wrap cluster.ErrNoMembers too.
	ErrNoNodes = errors.New("loadbalancer: no healthy node")
	// ErrUnexpectedReply means the actor answered with a message of the
	// wrong type.
	ErrUnexpectedReply = errors.New("loadbalancer: unexpected reply")
)

// ConfigError is a Config field that fails validation. Err is one of the
// sentinels above (errors.Is works through it).
type ConfigError struct {
	Field string
	Value any
	Err   error
}

// Error implements error: "loadbalancer: config Field = value: what is wrong".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("loadbalancer: config %s = %v: %s", e.Field, e.Value,
		strings.TrimPrefix(e.Err.Error(), "loadbalancer: "))
}

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }
