package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/overload"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/units"
	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/wal"
)

// Config is the node's configuration. Load layers it: DefaultConfig, then
// a JSON file, then OTPBOX_* variables, then flags; a layer sets a value
// by naming its key, zero included. The zero Config is not usable on its
// own; DefaultConfig documents every default.
type Config struct {
	// HTTPAddr is the API's listen address (default 127.0.0.1:4000).
	HTTPAddr string `json:"http"`
	// AdminAddr is the pprof listener, loopback only; "off" disables it
	// (default 127.0.0.1:4001).
	AdminAddr string `json:"admin"`
	// DataDir holds the node's data (default ./data).
	DataDir string `json:"data_dir"`
	// Node names this node (default the host name).
	Node string `json:"node"`
	// Consul is the Consul agent (host:port of its HTTP API) to join a
	// cluster through; Cluster the cluster's name and Consul service
	// (default otpbox). A member needs Redis, which all members share.
	Consul  string `json:"consul"`
	Cluster string `json:"cluster"`
	// ClusterAddr is where the member's protoactor remote listens, for
	// the other members (default 127.0.0.1:0, a free port).
	ClusterAddr string `json:"cluster_addr"`
	// ClusterAdvertise is the address the other members reach this
	// member's remote at, when it is not ClusterAddr (a NAT, a proxy, a
	// container's published port); it is what Consul lists.
	ClusterAdvertise string `json:"cluster_advertise"`
	// ConsulToken is the ACL token for the Consul agent ("" without ACLs).
	ConsulToken string `json:"consul_token"`
	// Zone says where this node runs (a rack, zone or region), published
	// in Consul for the ScalabilityManager's locality; "" for none.
	Zone string `json:"zone"`
	// ConsulTTL is the TTL of the member's heartbeat check (default 3s;
	// 1s detects a dead member in about a second). Heartbeats go every
	// third of it.
	ConsulTTL Duration `json:"consul_ttl"`
	// Redis is the URL of the Redis that keeps the sandboxes' journals
	// and metadata (redis://[user:password@]host:port[/db], or rediss://);
	// without it they are kept in DataDir by the embedded Journal.
	Redis string `json:"redis"`
	// Journal is the embedded store of the sandboxes' journals: "wal"
	// (the default: a segmented log with group commit, in
	// DataDir/journal) or "bolt" (the bbolt file DataDir/sandboxes.db).
	Journal string `json:"journal"`
	// JournalSync says when an execution journaled by the wal store is
	// answered: "always" (the default: once it is on disk, after
	// fdatasync) or "interval" (once the operating system has it; the
	// journal is synced every JournalSyncInterval, default 50ms). A crash
	// of the node loses nothing answered in either mode; a crash of the
	// machine may lose up to one interval of executions with "interval".
	JournalSync         string   `json:"journal_sync"`
	JournalSyncInterval Duration `json:"journal_sync_interval"`
	// JournalSnapshotEvery is how many executions a sandbox's journal
	// holds before they are replaced by a snapshot of the sandbox's
	// state, so that rebuilding a long-lived sandbox stays quick (default
	// 1000; 0: never). Only a sandbox whose state a snapshot rebuilds
	// exactly (data, functions, workers' lambdas, OTP processes) is
	// snapshotted (README, "Snapshots of long-lived sandboxes").
	JournalSnapshotEvery Count `json:"journal_snapshot_every"`
	// WarmActivations is how many sandbox activations the node keeps
	// spawned ahead of need (sandbox.Config.WarmActivations; default 0:
	// none, which measured faster on protoactor).
	WarmActivations Count `json:"warm_activations"`
	// Token, when set, is required as a bearer token on every request
	// but liveness, readiness and (with MetricsPublic) /metrics; it
	// allows everything. ReadToken, when set (needs Token), allows GET
	// and HEAD only (docs/security.md).
	Token     string `json:"token"`
	ReadToken string `json:"read_token"`
	// MetricsPublic serves /metrics without a token (default false).
	MetricsPublic Bool `json:"metrics_public"`
	// AllowedHosts are the Host names the API answers besides the node's
	// own addresses and the loopback names ("*": any); AllowedOrigins the
	// browser origins allowed to change state cross-origin (default
	// none: same-origin only).
	AllowedHosts   List `json:"allowed_hosts"`
	AllowedOrigins List `json:"allowed_origins"`
	// BodyTimeout bounds the reading of a request's body (default 10s).
	BodyTimeout Duration `json:"body_timeout"`
	// BreakerFailures is how many consecutive failures open a circuit
	// breaker (the shared store, the cache's L3, each remote member;
	// default 5); BreakerOpenFor how long it stays open before it probes
	// (default 5s).
	BreakerFailures Count    `json:"breaker_failures"`
	BreakerOpenFor  Duration `json:"breaker_open_for"`
	// DrainTimeout bounds the graceful shutdown (default 30s).
	DrainTimeout Duration `json:"drain_timeout"`
	// RequestTimeout bounds each API request (default 30s).
	RequestTimeout Duration `json:"request_timeout"`
	// MaxBody is the largest request body in bytes (default 1 MiB).
	MaxBody Size `json:"max_body"`
	// MaxInFlight bounds the sandbox calls in progress; one more that
	// would start or change a sandbox is refused with 429 and Retry-After
	// (default 4096).
	MaxInFlight Count `json:"max_inflight"`
	// OverloadLatency is the p99 of the Go scheduler's latency (how long
	// runnable goroutines wait for a CPU) past which the node's CPU is
	// saturated: new work (creates, executions, process actions,
	// restarts) is then refused in part with 429 and Retry-After, before
	// any of its work is done, so that what is admitted stays fast
	// (default 10ms; 0 turns it off). See docs/performance.md.
	OverloadLatency Duration `json:"overload_latency"`
	// LogLevel is debug, info, warn or error (default info); LogFormat is
	// text or json (default text).
	LogLevel  string `json:"log_level"`
	LogFormat string `json:"log_format"`
	// Sandbox is the operator's policy for sandboxes' requirements: the
	// defaults of what a create leaves out, and the ceilings a create may
	// not exceed (default sandbox.DefaultCeilings). Config file only:
	// "sandbox": {"defaults": {...}, "ceilings": {...}}, each shaped like
	// a create's requirements.
	Sandbox sandbox.Policy `json:"sandbox"`

	// The design's performance configuration, under its names, with its
	// defaults (docs/configuration.md).

	// AutoScalingEnabled, MinNodes, MaxNodes, ScaleOutThreshold and
	// ScaleInThreshold are the ScalabilityManager's settings (defaults
	// true, 2, 20, 0.8, 0.3). Thresholds
	// are fractions of capacity with 0 < in < out <= 1, and
	// 1 <= min <= max.
	AutoScalingEnabled Bool  `json:"auto_scaling_enabled"`
	MinNodes           Count `json:"min_nodes"`
	MaxNodes           Count `json:"max_nodes"`
	ScaleOutThreshold  Ratio `json:"scale_out_threshold"`
	ScaleInThreshold   Ratio `json:"scale_in_threshold"`
	// ScalingProvider is how the ScalabilityManager adds and removes
	// nodes: "none" (the default: it reports and decides, but does not
	// act), "process" (otpbox node processes on this host joining the
	// same Consul) or "command" (ScalingCommand, run with scale-out N or
	// scale-in NAME). ScalingInterval is the time between capacity checks
	// (default 30s) and ScalingCooldown the least time between two
	// operations (default 5m).
	ScalingProvider string   `json:"scaling_provider"`
	ScalingCommand  string   `json:"scaling_command"`
	ScalingInterval Duration `json:"scaling_interval"`
	ScalingCooldown Duration `json:"scaling_cooldown"`
	// LoadBalancingStrategy (one of LoadBalancingStrategies, default
	// weighted_round_robin), HealthCheckInterval (default 5s) and
	// RebalancingEnabled (default true) are the LoadBalancer's settings;
	// they place new sandboxes and rebalance.
	LoadBalancingStrategy string   `json:"load_balancing_strategy"`
	HealthCheckInterval   Duration `json:"health_check_interval"`
	RebalancingEnabled    Bool     `json:"rebalancing_enabled"`
	// L1CacheSize is the node's in-memory cache (freecache) in bytes
	// (default cache.DefaultL1Size, 64 MiB; freecache raises anything
	// under 512 KiB to 512 KiB). L2CacheSize is this node's share of the
	// cluster tier (L2, on cluster members) in bytes (default 64 MiB).
	// L3CacheEnabled puts Redis under the cache as L3 when Redis is set
	// (default true). DefaultCacheTTL is the TTL of entries stored
	// without one (default 1h).
	L1CacheSize     Size     `json:"l1_cache_size"`
	L2CacheSize     Size     `json:"l2_cache_size"`
	L3CacheEnabled  Bool     `json:"l3_cache_enabled"`
	DefaultCacheTTL Duration `json:"default_cache_ttl"`
	// MemoryGCThreshold is the utilization above which the
	// MemoryOptimizer's check runs a pass (default 0.8, in (0, 1]);
	// MemoryCheckInterval the time between checks (default 10s);
	// MemoryOptimizationEnabled turns the periodic checks on (default
	// true; POST /v1/memory/optimize works either way). MemoryLimit is the
	// memory utilization is measured against, in bytes; 0 (the default)
	// means the cgroup's limit, else GOMEMLIMIT, else the host's memory.
	MemoryGCThreshold         Ratio    `json:"memory_gc_threshold"`
	MemoryCheckInterval       Duration `json:"memory_check_interval"`
	MemoryOptimizationEnabled Bool     `json:"memory_optimization_enabled"`
	MemoryLimit               Size     `json:"memory_limit"`
	// MaxConnectionsPerNode is the LoadBalancer's capacity of a node
	// (default 1000); this node's own admission bound is MaxInFlight.
	MaxConnectionsPerNode Count `json:"max_connections_per_node"`
	// ConnectionTimeout is the longest a Redis command waits for a free
	// connection of the pool (go-redis PoolTimeout, default 30s); PoolSize
	// is the pool's size per Redis client (default 50). A pool_size or
	// pool_timeout in the Redis URL wins.
	ConnectionTimeout Duration `json:"connection_timeout"`
	PoolSize          Count    `json:"pool_size"`
	// MetricsCollectionEnabled, MetricsRetentionDays and
	// PerformanceAlertsEnabled (defaults true, 30, true) are accepted and
	// validated; the node always serves /metrics and stores no metrics
	// itself, so retention is advice for Prometheus
	// (--storage.tsdb.retention.time), and alerts are Prometheus rules.
	MetricsCollectionEnabled Bool  `json:"metrics_collection_enabled"`
	MetricsRetentionDays     Count `json:"metrics_retention_days"`
	PerformanceAlertsEnabled Bool  `json:"performance_alerts_enabled"`
}

// LoadBalancingStrategies are the values of load_balancing_strategy.
var LoadBalancingStrategies = []string{
	"round_robin", "weighted_round_robin", "least_connections",
	"least_response_time", "resource_based", "consistent_hash",
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "otpbox"
	}
	return Config{
		HTTPAddr:             "127.0.0.1:4000",
		AdminAddr:            "127.0.0.1:4001",
		DataDir:              "./data",
		Node:                 host,
		Cluster:              "otpbox",
		ClusterAddr:          "127.0.0.1:0",
		ConsulTTL:            Duration{3 * time.Second},
		DrainTimeout:         Duration{30 * time.Second},
		RequestTimeout:       Duration{30 * time.Second},
		BodyTimeout:          Duration{10 * time.Second},
		BreakerFailures:      5,
		BreakerOpenFor:       Duration{5 * time.Second},
		MetricsPublic:        False,
		MaxBody:              1 << 20,
		MaxInFlight:          4096,
		OverloadLatency:      Duration{overload.DefaultTarget},
		LogLevel:             "info",
		LogFormat:            "text",
		Journal:              "wal",
		JournalSync:          "always",
		JournalSyncInterval:  Duration{50 * time.Millisecond},
		JournalSnapshotEvery: sandbox.DefaultSnapshotEvery,

		AutoScalingEnabled:        True,
		MinNodes:                  2,
		MaxNodes:                  20,
		ScaleOutThreshold:         0.8,
		ScaleInThreshold:          0.3,
		LoadBalancingStrategy:     "weighted_round_robin",
		HealthCheckInterval:       Duration{5 * time.Second},
		RebalancingEnabled:        True,
		L1CacheSize:               cache.DefaultL1Size,
		L2CacheSize:               cache.DefaultL1Size,
		L3CacheEnabled:            True,
		DefaultCacheTTL:           Duration{cache.DefaultTTL},
		MemoryGCThreshold:         0.8,
		MemoryCheckInterval:       Duration{10 * time.Second},
		MemoryOptimizationEnabled: True,
		MaxConnectionsPerNode:     1000,
		ScalingProvider:           "none",
		ScalingInterval:           Duration{30 * time.Second},
		ScalingCooldown:           Duration{5 * time.Minute},
		ConnectionTimeout:         Duration{30 * time.Second},
		PoolSize:                  50,
		MetricsCollectionEnabled:  True,
		MetricsRetentionDays:      30,
		PerformanceAlertsEnabled:  True,
	}
}

// value is a configuration field as flags and layers set it: a
// pflag.Value.
type value interface {
	String() string
	Set(string) error
	Type() string
}

// setting is one configuration field: its flag, environment variable and
// help, and where it lives in a Config.
type setting struct {
	flag, env, json, help string
	field                 func(*Config) value
}

// settings lists every field; flags, environment, Merge and the
// documentation come from it.
var settings = []setting{
	{"http", "OTPBOX_HTTP", "http", "API listen `address`", func(c *Config) value { return (*str)(&c.HTTPAddr) }},
	{"admin", "OTPBOX_ADMIN", "admin", "pprof listen `address`, loopback only, or \"off\"", func(c *Config) value { return (*str)(&c.AdminAddr) }},
	{"data-dir", "OTPBOX_DATA_DIR", "data_dir", "data `directory`", func(c *Config) value { return (*str)(&c.DataDir) }},
	{"node", "OTPBOX_NODE", "node", "node `name`", func(c *Config) value { return (*str)(&c.Node) }},
	{"consul", "OTPBOX_CONSUL", "consul", "Consul agent `address` (host:port): join the cluster through it (needs redis)", func(c *Config) value { return (*str)(&c.Consul) }},
	{"cluster", "OTPBOX_CLUSTER", "cluster", "cluster `name`", func(c *Config) value { return (*str)(&c.Cluster) }},
	{"cluster-addr", "OTPBOX_CLUSTER_ADDR", "cluster_addr", "`address` of the member's protoactor remote (port 0: a free one)", func(c *Config) value { return (*str)(&c.ClusterAddr) }},
	{"cluster-advertise", "OTPBOX_CLUSTER_ADVERTISE", "cluster_advertise", "`address` (host:port) the other members reach this member's remote at, when not --cluster-addr (NAT, proxy)", func(c *Config) value { return (*str)(&c.ClusterAdvertise) }},
	{"consul-token", "OTPBOX_CONSUL_TOKEN", "consul_token", "ACL `token` for the Consul agent (service:write on the cluster's service)", func(c *Config) value { return (*str)(&c.ConsulToken) }},
	{"zone", "OTPBOX_ZONE", "zone", "where this node runs (`zone`: a rack, zone or region), for placement locality", func(c *Config) value { return (*str)(&c.Zone) }},
	{"consul-ttl", "OTPBOX_CONSUL_TTL", "consul_ttl", "heartbeat TTL in Consul (`duration`): a member missing it is down", func(c *Config) value { return &c.ConsulTTL }},
	{"redis", "OTPBOX_REDIS", "redis", "Redis `URL` of the sandbox store (default: the embedded --journal in the data directory)", func(c *Config) value { return (*str)(&c.Redis) }},
	{"journal", "OTPBOX_JOURNAL", "journal", "embedded journal `store`: wal (a log with group commit, in <data-dir>/journal) or bolt (<data-dir>/sandboxes.db)", func(c *Config) value { return (*str)(&c.Journal) }},
	{"journal-sync", "OTPBOX_JOURNAL_SYNC", "journal_sync", "when an execution is answered (`mode`): always (after fdatasync) or interval (once written; synced every --journal-sync-interval)", func(c *Config) value { return (*str)(&c.JournalSync) }},
	{"journal-sync-interval", "OTPBOX_JOURNAL_SYNC_INTERVAL", "journal_sync_interval", "how often --journal-sync interval syncs the journal (`duration`)", func(c *Config) value { return &c.JournalSyncInterval }},
	{"journal-snapshot-every", "OTPBOX_JOURNAL_SNAPSHOT_EVERY", "journal_snapshot_every", "executions a sandbox's journal holds before they are replaced by a snapshot of its state (`count`; 0: never)", func(c *Config) value { return &c.JournalSnapshotEvery }},
	{"warm-activations", "OTPBOX_WARM_ACTIVATIONS", "warm_activations", "sandbox activations kept spawned ahead of need (`count`; 0: none)", func(c *Config) value { return &c.WarmActivations }},
	{"token", "OTPBOX_TOKEN", "token", "bearer `token` required on every request but health (and --metrics-public); allows everything", func(c *Config) value { return (*str)(&c.Token) }},
	{"read-token", "OTPBOX_READ_TOKEN", "read_token", "bearer `token` that allows GET and HEAD only (needs --token)", func(c *Config) value { return (*str)(&c.ReadToken) }},
	{"metrics-public", "OTPBOX_METRICS_PUBLIC", "metrics_public", "serve /metrics without a token", func(c *Config) value { return &c.MetricsPublic }},
	{"allowed-hosts", "OTPBOX_ALLOWED_HOSTS", "allowed_hosts", "Host `names` the API answers besides its own address and loopback names (comma-separated; * any)", func(c *Config) value { return &c.AllowedHosts }},
	{"allowed-origins", "OTPBOX_ALLOWED_ORIGINS", "allowed_origins", "browser `origins` (scheme://host[:port], comma-separated) allowed to change state cross-origin", func(c *Config) value { return &c.AllowedOrigins }},
	{"body-timeout", "OTPBOX_BODY_TIMEOUT", "body_timeout", "`deadline` to receive a request's body (408 after it)", func(c *Config) value { return &c.BodyTimeout }},
	{"breaker-failures", "OTPBOX_BREAKER_FAILURES", "breaker_failures", "consecutive failures that open a circuit breaker (`count`): the shared store, the cache's L3, each remote member", func(c *Config) value { return &c.BreakerFailures }},
	{"breaker-open-for", "OTPBOX_BREAKER_OPEN_FOR", "breaker_open_for", "how long an open circuit breaker fails calls fast before it probes (`duration`)", func(c *Config) value { return &c.BreakerOpenFor }},
	{"drain-timeout", "OTPBOX_DRAIN_TIMEOUT", "drain_timeout", "graceful shutdown `deadline`", func(c *Config) value { return &c.DrainTimeout }},
	{"request-timeout", "OTPBOX_REQUEST_TIMEOUT", "request_timeout", "`deadline` of each API request", func(c *Config) value { return &c.RequestTimeout }},
	{"max-body", "OTPBOX_MAX_BODY", "max_body", "largest request body (a `size`: 1MiB, 1048576)", func(c *Config) value { return &c.MaxBody }},
	{"max-inflight", "OTPBOX_MAX_INFLIGHT", "max_inflight", "most sandbox calls in progress before 429 (`count`)", func(c *Config) value { return &c.MaxInFlight }},
	{"overload-latency", "OTPBOX_OVERLOAD_LATENCY", "overload_latency", "p99 Go scheduling latency past which part of the new work is refused with 429 (`duration`; 0: never)", func(c *Config) value { return &c.OverloadLatency }},
	{"log-level", "OTPBOX_LOG_LEVEL", "log_level", "`level`: debug, info, warn or error", func(c *Config) value { return (*str)(&c.LogLevel) }},
	{"log-format", "OTPBOX_LOG_FORMAT", "log_format", "`format`: text or json", func(c *Config) value { return (*str)(&c.LogFormat) }},
	// The design's performance configuration.
	{"auto-scaling-enabled", "OTPBOX_AUTO_SCALING_ENABLED", "auto_scaling_enabled", "let the ScalabilityManager act on its capacity checks", func(c *Config) value { return &c.AutoScalingEnabled }},
	{"min-nodes", "OTPBOX_MIN_NODES", "min_nodes", "fewest nodes auto-scaling keeps (`count`)", func(c *Config) value { return &c.MinNodes }},
	{"max-nodes", "OTPBOX_MAX_NODES", "max_nodes", "most nodes auto-scaling starts (`count`)", func(c *Config) value { return &c.MaxNodes }},
	{"scale-out-threshold", "OTPBOX_SCALE_OUT_THRESHOLD", "scale_out_threshold", "load `fraction` above which the cluster grows", func(c *Config) value { return &c.ScaleOutThreshold }},
	{"scale-in-threshold", "OTPBOX_SCALE_IN_THRESHOLD", "scale_in_threshold", "load `fraction` below which the cluster shrinks", func(c *Config) value { return &c.ScaleInThreshold }},
	{"scaling-provider", "OTPBOX_SCALING_PROVIDER", "scaling_provider", "how auto-scaling adds and removes nodes: none, process or command", func(c *Config) value { return (*str)(&c.ScalingProvider) }},
	{"scaling-command", "OTPBOX_SCALING_COMMAND", "scaling_command", "the `command` of the command provider (split on spaces), run with scale-out N or scale-in NAME", func(c *Config) value { return (*str)(&c.ScalingCommand) }},
	{"scaling-interval", "OTPBOX_SCALING_INTERVAL", "scaling_interval", "time between capacity checks (`duration`)", func(c *Config) value { return &c.ScalingInterval }},
	{"scaling-cooldown", "OTPBOX_SCALING_COOLDOWN", "scaling_cooldown", "least time between two scaling operations (`duration`)", func(c *Config) value { return &c.ScalingCooldown }},
	{"load-balancing-strategy", "OTPBOX_LOAD_BALANCING_STRATEGY", "load_balancing_strategy", "`strategy`: " + strings.Join(LoadBalancingStrategies, ", "), func(c *Config) value { return (*str)(&c.LoadBalancingStrategy) }},
	{"health-check-interval", "OTPBOX_HEALTH_CHECK_INTERVAL", "health_check_interval", "`interval` of the load balancer's node health checks", func(c *Config) value { return &c.HealthCheckInterval }},
	{"rebalancing-enabled", "OTPBOX_REBALANCING_ENABLED", "rebalancing_enabled", "let the LoadBalancer move sandboxes off overloaded nodes", func(c *Config) value { return &c.RebalancingEnabled }},
	{"l1-cache-size", "OTPBOX_L1_CACHE_SIZE", "l1_cache_size", "in-memory cache size (a `size`: 64MiB)", func(c *Config) value { return &c.L1CacheSize }},
	{"l2-cache-size", "OTPBOX_L2_CACHE_SIZE", "l2_cache_size", "this node's share of the cluster cache (a `size`: 64MiB)", func(c *Config) value { return &c.L2CacheSize }},
	{"l3-cache-enabled", "OTPBOX_L3_CACHE_ENABLED", "l3_cache_enabled", "cache in Redis (L3) when --redis is set", func(c *Config) value { return &c.L3CacheEnabled }},
	{"default-cache-ttl", "OTPBOX_DEFAULT_CACHE_TTL", "default_cache_ttl", "`TTL` of cache entries stored without one", func(c *Config) value { return &c.DefaultCacheTTL }},
	{"memory-gc-threshold", "OTPBOX_MEMORY_GC_THRESHOLD", "memory_gc_threshold", "memory utilization `fraction` above which the optimizer acts", func(c *Config) value { return &c.MemoryGCThreshold }},
	{"memory-check-interval", "OTPBOX_MEMORY_CHECK_INTERVAL", "memory_check_interval", "`interval` of the memory optimizer's checks", func(c *Config) value { return &c.MemoryCheckInterval }},
	{"memory-optimization-enabled", "OTPBOX_MEMORY_OPTIMIZATION_ENABLED", "memory_optimization_enabled", "check memory periodically and optimize above the threshold", func(c *Config) value { return &c.MemoryOptimizationEnabled }},
	{"memory-limit", "OTPBOX_MEMORY_LIMIT", "memory_limit", "the memory utilization is measured against (a `size`: 2GiB; 0: the cgroup's limit, GOMEMLIMIT or the host's memory)", func(c *Config) value { return &c.MemoryLimit }},
	{"max-connections-per-node", "OTPBOX_MAX_CONNECTIONS_PER_NODE", "max_connections_per_node", "the load balancer's capacity of a node, in connections (`count`)", func(c *Config) value { return &c.MaxConnectionsPerNode }},
	{"connection-timeout", "OTPBOX_CONNECTION_TIMEOUT", "connection_timeout", "`deadline` to get a free connection from a Redis pool", func(c *Config) value { return &c.ConnectionTimeout }},
	{"pool-size", "OTPBOX_POOL_SIZE", "pool_size", "Redis connection pool size (`count`)", func(c *Config) value { return &c.PoolSize }},
	{"metrics-collection-enabled", "OTPBOX_METRICS_COLLECTION_ENABLED", "metrics_collection_enabled", "collect metrics (accepted; /metrics is always served)", func(c *Config) value { return &c.MetricsCollectionEnabled }},
	{"metrics-retention-days", "OTPBOX_METRICS_RETENTION_DAYS", "metrics_retention_days", "advised Prometheus retention (`days`); the node stores no metrics", func(c *Config) value { return &c.MetricsRetentionDays }},
	{"performance-alerts-enabled", "OTPBOX_PERFORMANCE_ALERTS_ENABLED", "performance_alerts_enabled", "performance alerts (accepted; alerting is Prometheus rules)", func(c *Config) value { return &c.PerformanceAlertsEnabled }},
}

// Settings describes the configuration for documentation: flag,
// environment variable, JSON key, default and help of each field.
func Settings() [][5]string {
	def := DefaultConfig()
	out := make([][5]string, len(settings))
	for i, s := range settings {
		out[i] = [5]string{"--" + s.flag, s.env, s.json, s.field(&def).String(), s.help}
	}
	return out
}

// Errors of Validate.
var (
	// ErrNotLoopback reports an admin address that is not on loopback.
	ErrNotLoopback = errors.New("node: admin address must be on loopback (127.0.0.1, ::1 or localhost)")
	// ErrNotAvailable reports a setting whose subsystem is not part of
	// this build yet.
	ErrNotAvailable = errors.New("node: not available in this build yet")
	// ErrInvalid reports a value out of range.
	ErrInvalid = errors.New("node: invalid value")
)

// ConfigError is an invalid configuration field.
type ConfigError struct {
	Field string
	Value string
	Err   error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s=%q: %v", e.Field, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks a merged configuration.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return &ConfigError{Field: "http", Value: c.HTTPAddr, Err: err}
	}
	if c.AdminAddr != "off" {
		host, _, err := net.SplitHostPort(c.AdminAddr)
		if err != nil {
			return &ConfigError{Field: "admin", Value: c.AdminAddr, Err: err}
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return &ConfigError{Field: "admin", Value: c.AdminAddr, Err: ErrNotLoopback}
		}
	}
	if c.Consul != "" {
		if _, _, err := net.SplitHostPort(c.Consul); err != nil {
			return &ConfigError{Field: "consul", Value: c.Consul, Err: fmt.Errorf("%w: want host:port of the agent's HTTP API: %w", ErrInvalid, err)}
		}
		if c.Redis == "" {
			return &ConfigError{Field: "consul", Value: c.Consul, Err: fmt.Errorf("%w: a cluster keeps its sandboxes in a shared store: set redis too", ErrInvalid)}
		}
		if !validClusterName(c.Cluster) {
			return &ConfigError{Field: "cluster", Value: c.Cluster, Err: fmt.Errorf("%w: letters, digits, '.', '_' and '-'", ErrInvalid)}
		}
		if _, _, err := net.SplitHostPort(c.ClusterAddr); err != nil {
			return &ConfigError{Field: "cluster_addr", Value: c.ClusterAddr, Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
		}
		if c.ClusterAdvertise != "" {
			if host, port, err := net.SplitHostPort(c.ClusterAdvertise); err != nil || host == "" || port == "" || port == "0" {
				return &ConfigError{Field: "cluster_advertise", Value: c.ClusterAdvertise, Err: fmt.Errorf("%w: want host:port with a port", ErrInvalid)}
			}
		}
		if c.ConsulTTL.Duration < 100*time.Millisecond {
			return &ConfigError{Field: "consul_ttl", Value: c.ConsulTTL.String(), Err: fmt.Errorf("%w: at least 100ms", ErrInvalid)}
		}
		if _, port, err := net.SplitHostPort(c.HTTPAddr); err == nil && port == "0" {
			return &ConfigError{Field: "http", Value: c.HTTPAddr, Err: fmt.Errorf("%w: a cluster member needs a fixed API port (Consul checks it)", ErrInvalid)}
		}
	}
	if c.Redis != "" {
		if _, err := goredis.ParseURL(c.Redis); err != nil {
			return &ConfigError{Field: "redis", Value: redactURL(c.Redis), Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
		}
	}
	if c.Journal != "wal" && c.Journal != "bolt" {
		return &ConfigError{Field: "journal", Value: c.Journal, Err: fmt.Errorf("%w: wal or bolt", ErrInvalid)}
	}
	if _, err := wal.ParseSyncMode(c.JournalSync); err != nil {
		return &ConfigError{Field: "journal_sync", Value: c.JournalSync, Err: fmt.Errorf("%w: always or interval", ErrInvalid)}
	}
	if c.JournalSync == "interval" && c.Journal != "wal" {
		return &ConfigError{Field: "journal_sync", Value: c.JournalSync, Err: fmt.Errorf("%w: interval needs journal wal", ErrInvalid)}
	}
	if c.OverloadLatency.Duration < 0 {
		return &ConfigError{Field: "overload_latency", Value: c.OverloadLatency.String(), Err: fmt.Errorf("%w: 0 (off) or more", ErrInvalid)}
	}
	if c.JournalSyncInterval.Duration <= 0 {
		return &ConfigError{Field: "journal_sync_interval", Value: c.JournalSyncInterval.String(), Err: fmt.Errorf("%w: a positive duration", ErrInvalid)}
	}
	if c.DrainTimeout.Duration <= 0 {
		return &ConfigError{Field: "drain_timeout", Value: c.DrainTimeout.String(), Err: ErrInvalid}
	}
	if c.RequestTimeout.Duration <= 0 {
		return &ConfigError{Field: "request_timeout", Value: c.RequestTimeout.String(), Err: ErrInvalid}
	}
	if c.MaxBody <= 0 {
		return &ConfigError{Field: "max_body", Value: c.MaxBody.String(), Err: ErrInvalid}
	}
	if c.ReadToken != "" && c.Token == "" {
		return &ConfigError{Field: "read_token", Value: "(hidden)", Err: fmt.Errorf("%w: a read token needs a write token (token)", ErrInvalid)}
	}
	if c.ReadToken != "" && c.ReadToken == c.Token {
		return &ConfigError{Field: "read_token", Value: "(hidden)", Err: fmt.Errorf("%w: the same as token", ErrInvalid)}
	}
	for _, o := range c.AllowedOrigins {
		if err := server.ValidOrigin(o); err != nil {
			return &ConfigError{Field: "allowed_origins", Value: o, Err: fmt.Errorf("%w: want scheme://host[:port]: %w", ErrInvalid, err)}
		}
	}
	if c.BodyTimeout.Duration <= 0 {
		return &ConfigError{Field: "body_timeout", Value: c.BodyTimeout.String(), Err: ErrInvalid}
	}
	if c.JournalSnapshotEvery < 0 {
		return &ConfigError{Field: "journal_snapshot_every", Value: c.JournalSnapshotEvery.String(), Err: fmt.Errorf("%w: a count, 0 for never", ErrInvalid)}
	}
	if c.WarmActivations < 0 {
		return &ConfigError{Field: "warm_activations", Value: c.WarmActivations.String(), Err: fmt.Errorf("%w: a count, 0 for none", ErrInvalid)}
	}
	if c.BreakerFailures <= 0 {
		return &ConfigError{Field: "breaker_failures", Value: c.BreakerFailures.String(), Err: ErrInvalid}
	}
	if c.BreakerOpenFor.Duration <= 0 {
		return &ConfigError{Field: "breaker_open_for", Value: c.BreakerOpenFor.String(), Err: ErrInvalid}
	}
	if c.MaxInFlight <= 0 {
		return &ConfigError{Field: "max_inflight", Value: c.MaxInFlight.String(), Err: ErrInvalid}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return &ConfigError{Field: "log_level", Value: c.LogLevel, Err: err}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return &ConfigError{Field: "log_format", Value: c.LogFormat, Err: ErrInvalid}
	}
	return c.validatePerformance()
}

// validatePerformance checks the design's performance configuration.
func (c Config) validatePerformance() error {
	bad := func(field string, v value, why string) error {
		return &ConfigError{Field: field, Value: v.String(), Err: fmt.Errorf("%w: %s", ErrInvalid, why)}
	}
	switch {
	case c.MinNodes < 1:
		return bad("min_nodes", &c.MinNodes, "at least 1")
	case c.MaxNodes < c.MinNodes:
		return bad("max_nodes", &c.MaxNodes, fmt.Sprintf("below min_nodes %d", c.MinNodes))
	case !c.ScaleOutThreshold.fraction():
		return bad("scale_out_threshold", &c.ScaleOutThreshold, "a fraction in (0, 1]")
	case !c.ScaleInThreshold.fraction():
		return bad("scale_in_threshold", &c.ScaleInThreshold, "a fraction in (0, 1]")
	case c.ScaleInThreshold >= c.ScaleOutThreshold:
		return bad("scale_in_threshold", &c.ScaleInThreshold, "not below scale_out_threshold "+c.ScaleOutThreshold.String())
	case !slices.Contains([]string{"none", "process", "command"}, c.ScalingProvider):
		return bad("scaling_provider", (*str)(&c.ScalingProvider), "not one of none, process, command")
	case c.ScalingProvider == "command" && strings.TrimSpace(c.ScalingCommand) == "":
		return bad("scaling_command", (*str)(&c.ScalingCommand), "the command provider needs scaling_command")
	case c.ScalingProvider == "process" && c.Consul == "":
		return bad("scaling_provider", (*str)(&c.ScalingProvider), "the process provider starts nodes that join through Consul: set consul")
	case c.ScalingInterval.Duration <= 0:
		return bad("scaling_interval", &c.ScalingInterval, "must be positive")
	case c.ScalingCooldown.Duration < 0:
		return bad("scaling_cooldown", &c.ScalingCooldown, "must not be negative")
	case !slices.Contains(LoadBalancingStrategies, c.LoadBalancingStrategy):
		return bad("load_balancing_strategy", (*str)(&c.LoadBalancingStrategy), "not one of "+strings.Join(LoadBalancingStrategies, ", "))
	case c.HealthCheckInterval.Duration <= 0:
		return bad("health_check_interval", &c.HealthCheckInterval, "not positive")
	case c.L1CacheSize <= 0:
		return bad("l1_cache_size", &c.L1CacheSize, "not positive")
	case c.L2CacheSize <= 0:
		return bad("l2_cache_size", &c.L2CacheSize, "not positive")
	case c.DefaultCacheTTL.Duration <= 0:
		return bad("default_cache_ttl", &c.DefaultCacheTTL, "not positive")
	case !c.MemoryGCThreshold.fraction():
		return bad("memory_gc_threshold", &c.MemoryGCThreshold, "a fraction in (0, 1]")
	case c.MemoryCheckInterval.Duration <= 0:
		return bad("memory_check_interval", &c.MemoryCheckInterval, "not positive")
	case c.MemoryLimit < 0:
		return bad("memory_limit", &c.MemoryLimit, "negative")
	case c.MaxConnectionsPerNode <= 0:
		return bad("max_connections_per_node", &c.MaxConnectionsPerNode, "not positive")
	case c.ConnectionTimeout.Duration <= 0:
		return bad("connection_timeout", &c.ConnectionTimeout, "not positive")
	case c.PoolSize <= 0:
		return bad("pool_size", &c.PoolSize, "not positive")
	case c.MetricsRetentionDays <= 0:
		return bad("metrics_retention_days", &c.MetricsRetentionDays, "not positive")
	}
	return nil
}

// redactURL hides the password of a URL, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// str is a string flag.Value.
type str string

// List is a comma-separated list of strings ("a,b"); empty items are
// dropped. In a JSON file it is a string or an array of strings.
type List []string

// String joins the list with commas.
func (l *List) String() string { return strings.Join(*l, ",") }

// Type names the value in help.
func (l *List) Type() string { return "list" }

// Set parses a comma-separated list, replacing the value.
func (l *List) Set(v string) error {
	var out List
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	*l = out
	return nil
}

// Count is a positive number of things.
type Count int

// String prints the count.
func (n *Count) String() string { return strconv.Itoa(int(*n)) }

// Type names the value in help.
func (n *Count) Type() string { return "count" }

// Set parses a decimal count.
func (n *Count) Set(v string) error {
	i, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%w: not a count: %q", ErrInvalid, v)
	}
	*n = Count(i)
	return nil
}

// UnmarshalJSON reads a JSON number.
func (n *Count) UnmarshalJSON(b []byte) error { return n.Set(string(b)) }

func (s *str) String() string     { return string(*s) }
func (s *str) Set(v string) error { *s = str(v); return nil }
func (s *str) Type() string       { return "string" }

// Duration is a time.Duration written as "30s" in JSON and flags.
type Duration struct{ time.Duration }

// String prints the duration as Go does ("30s").
func (d *Duration) String() string { return d.Duration.String() }

// Set parses a duration with its unit ("30s", "1m30s", "250ms"; "0").
func (d *Duration) Set(v string) error {
	p, err := units.ParseDuration(v)
	if err != nil {
		return err
	}
	d.Duration = p
	return nil
}

// Type names the value in help.
func (d *Duration) Type() string { return "duration" }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string such as "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	return d.Set(s)
}

// Size is a byte count: a number of bytes, or a number with a unit
// (KiB, MiB, GiB, TiB: powers of 1024; kB, MB, GB, TB: of 1000).
type Size int64

// String prints the size in bytes.
func (s *Size) String() string { return strconv.FormatInt(int64(*s), 10) }

// Set parses "1048576", "1MiB" or "1.5 GiB".
func (s *Size) Set(v string) error {
	n, err := units.ParseSize(v)
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}

// Type names the value in help.
func (s *Size) Type() string { return "size" }

// UnmarshalJSON reads a JSON number of bytes, or a string such as "64MiB".
func (s *Size) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		return s.Set(str)
	}
	return s.Set(string(b))
}

// Ratio is a fraction such as a threshold, written 0.8.
type Ratio float64

// String prints the fraction.
func (r *Ratio) String() string { return strconv.FormatFloat(float64(*r), 'g', -1, 64) }

// Type names the value in help.
func (r *Ratio) Type() string { return "fraction" }

// Set parses a decimal fraction.
func (r *Ratio) Set(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) {
		return fmt.Errorf("%w: not a number: %q", ErrInvalid, v)
	}
	*r = Ratio(f)
	return nil
}

// fraction reports whether r is in (0, 1].
func (r Ratio) fraction() bool { return r > 0 && r <= 1 }

// Bool is a setting that is on, off or unset (the zero value, which
// counts as off and marshals as null); set it to True or False.
type Bool uint8

// The values of a Bool besides the zero value, unset.
const (
	unset Bool = iota
	False
	True
)

// BoolOf returns True or False.
func BoolOf(b bool) Bool {
	if b {
		return True
	}
	return False
}

// Value reports whether b is True; unset counts as false.
func (b Bool) Value() bool { return b == True }

// Type names the value in help.
func (b *Bool) Type() string { return "bool" }

// String returns "true", "false", or "" when unset.
func (b *Bool) String() string {
	switch *b {
	case True:
		return "true"
	case False:
		return "false"
	}
	return ""
}

// Set parses a boolean as strconv.ParseBool does (true, false, 1, 0, …).
func (b *Bool) Set(v string) error {
	p, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%w: not a boolean: %q", ErrInvalid, v)
	}
	*b = BoolOf(p)
	return nil
}

// MarshalJSON writes true, false, or null when unset.
func (b Bool) MarshalJSON() ([]byte, error) {
	if b == unset {
		return []byte("null"), nil
	}
	return json.Marshal(b == True)
}

// UnmarshalJSON reads true or false; null leaves b unset.
func (b *Bool) UnmarshalJSON(data []byte) error {
	var p *bool
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("boolean: %w", err)
	}
	*b = unset
	if p != nil {
		*b = BoolOf(*p)
	}
	return nil
}

// validClusterName reports a name Consul accepts as a service name.
func validClusterName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
