package consul

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/otpbox/otpbox/cluster"
)

// Defaults of Config. Consul does not deregister a critical service sooner
// than MinDeregisterAfter, and runs checks no more often than
// MinCheckInterval.
const (
	DefaultTTL             = 3 * time.Second
	DefaultCheckInterval   = time.Second
	DefaultDeregisterAfter = time.Minute
	MinDeregisterAfter     = time.Minute
	MinCheckInterval       = time.Second
)

// Config configures a Provider. Agent, Cluster and Node are required; every
// other field has a documented default.
type Config struct {
	// Agent is the host:port of the local Consul agent's HTTP API, for
	// example "127.0.0.1:8500". Required.
	Agent string
	// Cluster is the Consul service name every member registers under.
	// Letters, digits, '.', '_' and '-'. Required.
	Cluster string
	// Node is this member's name and its Consul service id. It must stay the
	// same across restarts of the node, so a restarted node replaces its
	// own entry. Letters, digits, '.', '_' and '-'. Required.
	Node string
	// API is the base URL of the node's HTTP API, for example
	// "http://127.0.0.1:4000". Consul probes GET <API>/v1/health/ready as
	// the readiness check, and members read it from the service meta.
	// Empty: no readiness check.
	API string
	// Capacity is what the node offers, published in the service meta.
	Capacity cluster.Capacity
	// Load returns the node's current load. It is called on the heartbeat
	// goroutine before every registration and heartbeat, never
	// concurrently with itself, and must return quickly. Nil: a zero Load.
	Load func() cluster.Load
	// TTL is the heartbeat check's TTL: the member turns critical when no
	// heartbeat reached the agent for this long. Default DefaultTTL (3 s);
	// 1 s detects a dead member within about a second.
	TTL time.Duration
	// Heartbeat is the interval between heartbeats. Default TTL/3; it must
	// be shorter than TTL.
	Heartbeat time.Duration
	// CheckInterval is how often Consul probes the readiness URL. Default
	// DefaultCheckInterval (1 s), at least MinCheckInterval (1 s).
	CheckInterval time.Duration
	// DeregisterAfter is how long the heartbeat check may stay critical
	// before Consul removes the member. Default and minimum 1 minute.
	DeregisterAfter time.Duration
	// Version is published in the service meta. Default: the main
	// module's version from the build info ("devel" when unknown).
	Version string
	// Zone, published in the service meta, says where the node runs (a
	// rack, zone or region); "" for none.
	Zone string
	// Token is the ACL token sent with every request to the agent ("":
	// none, for an agent without ACLs). It needs service:write on the
	// cluster's service and read on the service's health.
	Token string
	// Logger receives the provider's logs: one line per state change, never
	// one per retry. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for Member.Since. Default time.Now.
	Now func() time.Time
}

// ConfigError reports an invalid Config field.
type ConfigError struct {
	Field string // the Config field, such as "Node"
	Value any    // its invalid value
	Err   error  // why it is invalid
}

// Error implements error: "consul: config <Field> <Value>: <Err>".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("consul: config %s %v: %v", e.Field, e.Value, e.Err)
}

// Unwrap returns the reason the field is invalid.
func (e *ConfigError) Unwrap() error { return e.Err }

var (
	errRequired = errors.New("is required")
	errName     = errors.New("may only hold letters, digits, '.', '_' and '-'")
)

// withDefaults returns c with the defaults filled in, or a *ConfigError.
func (c Config) withDefaults() (Config, error) {
	if c.Agent == "" {
		return c, &ConfigError{"Agent", `""`, errRequired}
	}
	if _, _, err := net.SplitHostPort(c.Agent); err != nil {
		return c, &ConfigError{"Agent", c.Agent, fmt.Errorf("want host:port: %w", err)}
	}
	for _, f := range []struct{ name, value string }{{"Cluster", c.Cluster}, {"Node", c.Node}} {
		if f.value == "" {
			return c, &ConfigError{f.name, `""`, errRequired}
		}
		if !validName(f.value) {
			return c, &ConfigError{f.name, f.value, errName}
		}
	}
	if c.API != "" {
		u, err := url.Parse(c.API)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, &ConfigError{"API", c.API, errors.New("want an http(s) base URL such as http://127.0.0.1:4000")}
		}
	}
	if c.Capacity.Slots < 0 || c.Capacity.CPUs < 0 {
		return c, &ConfigError{"Capacity", c.Capacity, errors.New("must not be negative")}
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.TTL < 0 {
		return c, &ConfigError{"TTL", c.TTL, errors.New("must be positive")}
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = c.TTL / 3
	}
	if c.Heartbeat <= 0 || c.Heartbeat >= c.TTL {
		return c, &ConfigError{"Heartbeat", c.Heartbeat, fmt.Errorf("must be positive and shorter than TTL %v", c.TTL)}
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.CheckInterval < MinCheckInterval {
		return c, &ConfigError{"CheckInterval", c.CheckInterval, fmt.Errorf("is below Consul's minimum %v", MinCheckInterval)}
	}
	if c.DeregisterAfter == 0 {
		c.DeregisterAfter = DefaultDeregisterAfter
	}
	if c.DeregisterAfter < MinDeregisterAfter {
		return c, &ConfigError{"DeregisterAfter", c.DeregisterAfter, fmt.Errorf("is below Consul's minimum %v", MinDeregisterAfter)}
	}
	if c.Version == "" {
		c.Version = buildVersion()
	}
	if c.Load == nil {
		c.Load = func() cluster.Load { return cluster.Load{} }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// validName reports whether s is usable as a Consul service name or id
// and inside a check id in a URL path.
func validName(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
