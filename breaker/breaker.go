package breaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Defaults of Config.
const (
	DefaultFailures = 5
	DefaultOpenFor  = 5 * time.Second
	DefaultProbes   = 1
)

// ErrOpen is wrapped by every *OpenError.
var ErrOpen = errors.New("breaker: circuit open")

// OpenError reports a call refused by an open (or probing) breaker: the
// dependency Name failed Failures times in a row; try again after
// RetryAfter.
type OpenError struct {
	Name       string
	Failures   uint32
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("breaker: circuit %s open after %d consecutive failures; retry in %v", e.Name, e.Failures, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// State is a breaker's state.
type State string

// The states.
const (
	Closed   State = "closed"    // calls go through
	Open     State = "open"      // calls fail fast
	HalfOpen State = "half_open" // Probes calls go through to test the dependency
)

func stateOf(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return Open
	case gobreaker.StateHalfOpen:
		return HalfOpen
	}
	return Closed
}

// Config configures a Breaker; zero fields take the defaults.
type Config struct {
	// Name names the dependency: "store", "cache_l3", "member/n2".
	Name string
	// Failures is how many consecutive failures open the breaker
	// (default 5).
	Failures uint32
	// OpenFor is how long the breaker stays open before it probes
	// (default 5 s).
	OpenFor time.Duration
	// Probes is how many calls go through while half-open (default 1).
	Probes uint32
	// Success reports whether a call's error means the dependency
	// answered (default: err == nil). A caller's cancellation counts
	// neither way.
	Success func(error) bool
	// OnChange hears of every change of state (after the log line).
	OnChange func(name string, from, to State)
	// Logger logs the changes of state (default slog.Default()).
	Logger *slog.Logger
}

// Breaker is a circuit breaker around one dependency. It is safe for
// concurrent use.
type Breaker struct {
	cfg      Config
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	openedAt atomic.Int64 // UnixNano of the last opening
	failures atomic.Uint32
	rejected atomic.Uint64
	opened   atomic.Uint64
	lastErr  atomic.Pointer[string]
}

// New returns a closed breaker.
func New(cfg Config) *Breaker {
	if cfg.Failures == 0 {
		cfg.Failures = DefaultFailures
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = DefaultOpenFor
	}
	if cfg.Probes == 0 {
		cfg.Probes = DefaultProbes
	}
	if cfg.Success == nil {
		cfg.Success = func(err error) bool { return err == nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Breaker{cfg: cfg}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: cfg.Probes,
		Timeout:     cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			b.failures.Store(c.ConsecutiveFailures)
			return c.ConsecutiveFailures >= cfg.Failures
		},
		IsSuccessful:  cfg.Success,
		IsExcluded:    func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) { b.changed(stateOf(from), stateOf(to)) },
	})
	return b
}

func (b *Breaker) changed(from, to State) {
	log := b.cfg.Logger.With("breaker", b.cfg.Name, "from", string(from), "to", string(to))
	switch to {
	case Open:
		b.openedAt.Store(time.Now().UnixNano())
		b.opened.Add(1)
		last := ""
		if p := b.lastErr.Load(); p != nil {
			last = *p
		}
		log.Warn("circuit breaker open: calls fail fast", "failures", b.failures.Load(), "retry_in", b.cfg.OpenFor.String(), "last_error", last)
	case HalfOpen:
		log.Info("circuit breaker half-open: probing")
	case Closed:
		b.failures.Store(0)
		log.Info("circuit breaker closed: the dependency answers again")
	}
	if b.cfg.OnChange != nil {
		b.cfg.OnChange(b.cfg.Name, from, to)
	}
}

// Name returns the dependency's name.
func (b *Breaker) Name() string { return b.cfg.Name }

// Allow admits one call, or refuses it with an *OpenError. The caller
// must report the call's outcome with done.
func (b *Breaker) Allow() (done func(error), err error) {
	d, err := b.cb.Allow()
	if err != nil {
		b.rejected.Add(1)
		return nil, b.openError()
	}
	return func(err error) {
		if err != nil && !b.cfg.Success(err) && !errors.Is(err, context.Canceled) {
			msg := err.Error()
			b.lastErr.Store(&msg)
		}
		d(err)
	}, nil
}

// Do runs fn unless the breaker refuses it, and counts its outcome.
func (b *Breaker) Do(fn func() error) error {
	done, err := b.Allow()
	if err != nil {
		return err
	}
	err = fn()
	done(err)
	return err
}

// Check refuses with an *OpenError while the breaker is open, without
// taking a probe's place: for callers that fail fast before work that
// goes through the breaker later.
func (b *Breaker) Check() error {
	if b.cb.State() == gobreaker.StateOpen {
		b.rejected.Add(1)
		return b.openError()
	}
	return nil
}

func (b *Breaker) openError() *OpenError {
	wait := b.cfg.OpenFor / 5 // half-open and busy with probes: soon
	if b.cb.State() == gobreaker.StateOpen {
		wait = time.Until(time.Unix(0, b.openedAt.Load()).Add(b.cfg.OpenFor))
	}
	return &OpenError{Name: b.cfg.Name, Failures: b.cfg.Failures, RetryAfter: max(wait, 0)}
}

// State returns the breaker's state now.
func (b *Breaker) State() State { return stateOf(b.cb.State()) }

// Status is a breaker's state as the API shows it.
type Status struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Failures is the consecutive failures counted while closed.
	Failures uint32 `json:"consecutive_failures"`
	// OpenedAt is when it last opened (zero: never).
	OpenedAt time.Time `json:"opened_at,omitzero"`
	// Rejected counts the calls it refused.
	Rejected uint64 `json:"rejected"`
}

// Status returns the breaker's state and counters.
func (b *Breaker) Status() Status {
	s := Status{Name: b.cfg.Name, State: b.State(), Failures: b.cb.Counts().ConsecutiveFailures, Rejected: b.rejected.Load()}
	if at := b.openedAt.Load(); at != 0 {
		s.OpenedAt = time.Unix(0, at).UTC()
	}
	return s
}
