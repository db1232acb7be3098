package testkit

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

// DefaultTimeout is how long an expectation waits when no WithTimeout
// option is given.
const DefaultTimeout = 3 * time.Second

// Kit owns one actor system for the duration of a test. Its methods may be
// called from any goroutine; the probes and recorders it hands out document
// their own contracts.
type Kit struct {
	t       testing.TB
	system  *actor.ActorSystem
	timeout time.Duration
}

// Option configures New.
type Option func(*config)

type config struct {
	leakCheck bool
	timeout   time.Duration
	system    []actor.ConfigOption
}

// WithoutLeakCheck turns off the goroutine-leak check New runs in Cleanup.
// Use it in parallel tests, where other tests' goroutines would be reported,
// and check the whole package with goleak.VerifyTestMain(m, LeakOptions()...).
func WithoutLeakCheck() Option { return func(c *config) { c.leakCheck = false } }

// WithTimeout sets how long the Kit's probes wait for an expectation
// (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithActorSystemOptions passes options to actor.NewActorSystem. They are
// applied after the Kit's own default, a logger that discards everything, so
// actor.WithLoggerFactory here brings protoactor's logs back.
func WithActorSystemOptions(opts ...actor.ConfigOption) Option {
	return func(c *config) { c.system = append(c.system, opts...) }
}

// New starts an actor system for t. In t.Cleanup it shuts the system down
// and, unless WithoutLeakCheck is given, fails t if goroutines started after
// New are still running (protoactor's own leftovers, see LeakOptions, are
// ignored). Create the Kit inside Virtual to run it on the virtual clock.
// New must be called from the test goroutine.
func New(t testing.TB, opts ...Option) *Kit {
	t.Helper()
	cfg := config{leakCheck: true, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	var before goleak.Option
	if cfg.leakCheck {
		before = goleak.IgnoreCurrent()
	}
	quiet := actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	})
	k := &Kit{t: t, timeout: cfg.timeout, system: actor.NewActorSystem(append([]actor.ConfigOption{quiet}, cfg.system...)...)}
	t.Cleanup(func() {
		if !k.system.IsStopped() { // cluster.Shutdown also shuts the system down
			k.system.Shutdown()
		}
		if before != nil {
			if err := goleak.Find(append(LeakOptions(), before)...); err != nil {
				t.Errorf("testkit: goroutines leaked by the test: %v", err)
			}
		}
	})
	return k
}

// System returns the Kit's actor system.
func (k *Kit) System() *actor.ActorSystem { return k.system }

// Root returns the actor system's root context.
func (k *Kit) Root() *actor.RootContext { return k.system.Root }

// Timeout returns how long the Kit's probes wait for an expectation.
func (k *Kit) Timeout() time.Duration { return k.timeout }

// Spawn spawns props from the root context and stops the actor in t.Cleanup,
// waiting until it has stopped, so the actor's Stopping handler runs before
// the leak check.
func (k *Kit) Spawn(props *actor.Props) *actor.PID {
	k.t.Helper()
	pid := k.system.Root.Spawn(props)
	k.t.Cleanup(func() { _ = k.system.Root.StopFuture(pid).Wait() })
	return pid
}
