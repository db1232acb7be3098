package engine

import (
	"math"
	"time"
)

// Default limits. Each is what a zero field of [Limits] means.
const (
	// DefaultMaxSteps is the step budget of one execution: about 20–50 ms
	// of interpreter time. Operations that allocate in proportion to their
	// operands are charged for it in steps (see [Charge]), so it also
	// bounds what one execution can allocate, to roughly 64 MiB.
	DefaultMaxSteps uint64 = 1_000_000
	// DefaultMaxDuration is the wall-clock limit of one execution.
	DefaultMaxDuration = 5 * time.Second
	// DefaultMaxCodeBytes is the largest source accepted by one execution.
	DefaultMaxCodeBytes = 64 << 10
	// DefaultMaxOutputBytes bounds what one execution prints plus the repr
	// of its result value.
	DefaultMaxOutputBytes = 64 << 10
	// DefaultMaxGlobals is the number of global names a session may hold.
	DefaultMaxGlobals = 1024
	// DefaultMaxHeapBytes bounds the approximate size of everything
	// reachable from a session's globals.
	DefaultMaxHeapBytes int64 = 1 << 20
	// DefaultMaxActors is the number of actors a sandbox may run at once.
	DefaultMaxActors = 64
	// DefaultMaxMailbox is the mailbox length of each actor of a sandbox.
	DefaultMaxMailbox = 1024
)

// Limits bound what a sandbox may consume. The zero value of every field
// means its default (the Default* constants); use [DefaultLimits] to see
// them all. Limits is a plain value: copy it freely.
type Limits struct {
	// MaxSteps is the Starlark step budget of one execution (default 1e6).
	MaxSteps uint64 `json:"max_steps,omitempty"`
	// MaxDuration is the wall-clock limit of one execution (default 5s).
	MaxDuration time.Duration `json:"max_duration,omitempty"`
	// MaxCodeBytes is the largest source of one execution (default 64 KiB).
	MaxCodeBytes int `json:"max_code_bytes,omitempty"`
	// MaxOutputBytes bounds print output plus the result repr of one
	// execution (default 64 KiB).
	MaxOutputBytes int `json:"max_output_bytes,omitempty"`
	// MaxGlobals is the number of global names of a session (default 1024).
	MaxGlobals int `json:"max_globals,omitempty"`
	// MaxHeapBytes bounds the approximate size of the values reachable from
	// a session's globals, checked after each execution (default 1 MiB).
	MaxHeapBytes int64 `json:"max_heap_bytes,omitempty"`
	// MaxActors is the number of live actors of a sandbox (default 64).
	MaxActors int `json:"max_actors,omitempty"`
	// MaxMailbox is the mailbox length of each actor (default 1024).
	MaxMailbox int `json:"max_mailbox,omitempty"`
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxSteps:       DefaultMaxSteps,
		MaxDuration:    DefaultMaxDuration,
		MaxCodeBytes:   DefaultMaxCodeBytes,
		MaxOutputBytes: DefaultMaxOutputBytes,
		MaxGlobals:     DefaultMaxGlobals,
		MaxHeapBytes:   DefaultMaxHeapBytes,
		MaxActors:      DefaultMaxActors,
		MaxMailbox:     DefaultMaxMailbox,
	}
}

// MaxMaxSteps is the largest step limit; larger values are lowered to it.
const MaxMaxSteps = math.MaxUint64 / 2

// WithDefaults returns l with every zero (or negative) field replaced by
// its default, and MaxSteps at most MaxMaxSteps.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxSteps == 0 {
		l.MaxSteps = d.MaxSteps
	}
	l.MaxSteps = min(l.MaxSteps, MaxMaxSteps)
	if l.MaxDuration <= 0 {
		l.MaxDuration = d.MaxDuration
	}
	if l.MaxCodeBytes <= 0 {
		l.MaxCodeBytes = d.MaxCodeBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxGlobals <= 0 {
		l.MaxGlobals = d.MaxGlobals
	}
	if l.MaxHeapBytes <= 0 {
		l.MaxHeapBytes = d.MaxHeapBytes
	}
	if l.MaxActors <= 0 {
		l.MaxActors = d.MaxActors
	}
	if l.MaxMailbox <= 0 {
		l.MaxMailbox = d.MaxMailbox
	}
	return l
}
