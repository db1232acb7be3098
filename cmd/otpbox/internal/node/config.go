package node

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Config is the node's configuration. Layer it as
// DefaultConfig().Merge(file).Merge(env).Merge(flags): a zero field
// leaves the one below it in place. The zero Config is not usable on its
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
	// Consul is the Consul agent to join a cluster through; Cluster the
	// cluster's name (default otpbox). Not available until the cluster
	// package lands.
	Consul  string `json:"consul"`
	Cluster string `json:"cluster"`
	// Redis is the URL of the Redis that keeps the sandboxes' journals
	// and metadata (redis://[user:password@]host:port[/db], or rediss://);
	// without it they are kept in DataDir/sandboxes.db.
	Redis string `json:"redis"`
	// Token, when set, is required as a bearer token on mutating requests.
	Token string `json:"token"`
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
	// LogLevel is debug, info, warn or error (default info); LogFormat is
	// text or json (default text).
	LogLevel  string `json:"log_level"`
	LogFormat string `json:"log_format"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "otpbox"
	}
	return Config{
		HTTPAddr:       "127.0.0.1:4000",
		AdminAddr:      "127.0.0.1:4001",
		DataDir:        "./data",
		Node:           host,
		Cluster:        "otpbox",
		DrainTimeout:   Duration{30 * time.Second},
		RequestTimeout: Duration{30 * time.Second},
		MaxBody:        1 << 20,
		MaxInFlight:    4096,
		LogLevel:       "info",
		LogFormat:      "text",
	}
}

// setting is one configuration field: its flag, environment variable and
// help, and where it lives in a Config.
type setting struct {
	flag, env, json, help string
	field                 func(*Config) flag.Value
}

// settings lists every field; flags, environment, Merge and the
// documentation come from it.
var settings = []setting{
	{"http", "OTPBOX_HTTP", "http", "API listen `address`", func(c *Config) flag.Value { return (*str)(&c.HTTPAddr) }},
	{"admin", "OTPBOX_ADMIN", "admin", "pprof listen `address`, loopback only, or \"off\"", func(c *Config) flag.Value { return (*str)(&c.AdminAddr) }},
	{"data-dir", "OTPBOX_DATA_DIR", "data_dir", "data `directory`", func(c *Config) flag.Value { return (*str)(&c.DataDir) }},
	{"node", "OTPBOX_NODE", "node", "node `name`", func(c *Config) flag.Value { return (*str)(&c.Node) }},
	{"consul", "OTPBOX_CONSUL", "consul", "Consul agent `address` (cluster mode; not yet available)", func(c *Config) flag.Value { return (*str)(&c.Consul) }},
	{"cluster", "OTPBOX_CLUSTER", "cluster", "cluster `name`", func(c *Config) flag.Value { return (*str)(&c.Cluster) }},
	{"redis", "OTPBOX_REDIS", "redis", "Redis `URL` of the sandbox store (default: a bolt file in the data directory)", func(c *Config) flag.Value { return (*str)(&c.Redis) }},
	{"token", "OTPBOX_TOKEN", "token", "bearer `token` required on mutating requests", func(c *Config) flag.Value { return (*str)(&c.Token) }},
	{"drain-timeout", "OTPBOX_DRAIN_TIMEOUT", "drain_timeout", "graceful shutdown `deadline`", func(c *Config) flag.Value { return &c.DrainTimeout }},
	{"request-timeout", "OTPBOX_REQUEST_TIMEOUT", "request_timeout", "`deadline` of each API request", func(c *Config) flag.Value { return &c.RequestTimeout }},
	{"max-body", "OTPBOX_MAX_BODY", "max_body", "largest request body in `bytes` (or with KiB/MiB)", func(c *Config) flag.Value { return &c.MaxBody }},
	{"max-inflight", "OTPBOX_MAX_INFLIGHT", "max_inflight", "most sandbox calls in progress before 429 (`count`)", func(c *Config) flag.Value { return &c.MaxInFlight }},
	{"log-level", "OTPBOX_LOG_LEVEL", "log_level", "`level`: debug, info, warn or error", func(c *Config) flag.Value { return (*str)(&c.LogLevel) }},
	{"log-format", "OTPBOX_LOG_FORMAT", "log_format", "`format`: text or json", func(c *Config) flag.Value { return (*str)(&c.LogFormat) }},
}

// Merge returns c with every non-zero field of o laid over it.
func (c Config) Merge(o Config) Config {
	for _, s := range settings {
		if v := s.field(&o).String(); v != "" {
			_ = s.field(&c).Set(v) // a value printed by String parses back
		}
	}
	return c
}

// FromEnv reads the OTPBOX_* variables through getenv.
func FromEnv(getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.field(&c).Set(v); err != nil {
				return Config{}, &ConfigError{Field: s.env, Value: v, Err: err}
			}
		}
	}
	return c, nil
}

// LoadFile reads a JSON configuration file; unknown fields are errors.
func LoadFile(path string) (Config, error) {
	var c Config
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	return c, nil
}

// Flags registers a flag for every field on fs, writing into the returned
// Config, whose unset fields stay zero for Merge.
func Flags(fs *flag.FlagSet) *Config {
	c := new(Config)
	def := DefaultConfig()
	for _, s := range settings {
		help := s.help
		if d := s.field(&def).String(); d != "" {
			help += " (default " + d + ")"
		}
		fs.Var(s.field(c), s.flag, help+"; env "+s.env)
	}
	return c
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
		return &ConfigError{Field: "consul", Value: c.Consul, Err: fmt.Errorf("%w: clustering lands with the cluster package", ErrNotAvailable)}
	}
	if c.Redis != "" {
		if _, err := goredis.ParseURL(c.Redis); err != nil {
			return &ConfigError{Field: "redis", Value: redactURL(c.Redis), Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
		}
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
	if c.MaxInFlight <= 0 {
		return &ConfigError{Field: "max_inflight", Value: c.MaxInFlight.String(), Err: ErrInvalid}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return &ConfigError{Field: "log_level", Value: c.LogLevel, Err: err}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return &ConfigError{Field: "log_format", Value: c.LogFormat, Err: ErrInvalid}
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

// Count is a positive number of things.
type Count int

// String returns "" for zero, so that Merge skips it.
func (n *Count) String() string {
	if *n == 0 {
		return ""
	}
	return strconv.Itoa(int(*n))
}

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

// Duration is a time.Duration written as "30s" in JSON and flags.
type Duration struct{ time.Duration }

// String returns "" for zero, so that Merge skips it.
func (d *Duration) String() string {
	if d.Duration == 0 {
		return ""
	}
	return d.Duration.String()
}

// Set parses a Go duration.
func (d *Duration) Set(v string) error {
	p, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	d.Duration = p
	return nil
}

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

// Size is a byte count: a number, or one with a KiB, MiB or GiB suffix.
type Size int64

// String returns "" for zero, so that Merge skips it.
func (s *Size) String() string {
	if *s == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*s), 10)
}

// Set parses "1048576" or "1MiB".
func (s *Size) Set(v string) error {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(v, suffix) {
			v, mult = strings.TrimSuffix(v, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	*s = Size(n * mult)
	return nil
}
