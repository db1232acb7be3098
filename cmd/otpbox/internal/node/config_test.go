package node_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

func TestConfigLayers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "otpbox.json")
	if err := os.WriteFile(file, []byte(`{"http":"127.0.0.1:5000","data_dir":"/file","token":"from-file","drain_timeout":"5s","max_body":2048}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := node.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OTPBOX_DATA_DIR": "/env", "OTPBOX_TOKEN": "from-env", "OTPBOX_MAX_BODY": "1MiB"}
	fromEnv, err := node.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	flags := node.Flags(fs)
	if err := fs.Parse([]string{"--token", "from-flag", "--request-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	got := node.DefaultConfig().Merge(fromFile).Merge(fromEnv).Merge(*flags)
	want := node.DefaultConfig()
	want.HTTPAddr = "127.0.0.1:5000"                             // file
	want.DrainTimeout = node.Duration{Duration: 5 * time.Second} // file
	want.DataDir = "/env"                                        // env over file
	want.MaxBody = 1 << 20                                       // env over file
	want.Token = "from-flag"                                     // flag over env and file
	want.RequestTimeout = node.Duration{Duration: 2 * time.Second}
	if got != want {
		t.Errorf("layered config =\n %+v\nwant\n %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := node.FromEnv(func(k string) string {
		if k == "OTPBOX_DRAIN_TIMEOUT" {
			return "soon"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "OTPBOX_DRAIN_TIMEOUT") {
		t.Errorf("bad env duration = %v", err)
	}
	file := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(file, []byte(`{"htpp":"typo"}`), 0o600)
	if _, err := node.LoadFile(file); err == nil || !strings.Contains(err.Error(), "htpp") {
		t.Errorf("unknown field in file = %v", err)
	}
	if _, err := node.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*node.Config)
		want   error // nil: valid
	}{
		{"defaults", func(*node.Config) {}, nil},
		{"admin on localhost", func(c *node.Config) { c.AdminAddr = "localhost:4001" }, nil},
		{"admin on ::1", func(c *node.Config) { c.AdminAddr = "[::1]:4001" }, nil},
		{"admin off", func(c *node.Config) { c.AdminAddr = "off" }, nil},
		{"admin on all interfaces", func(c *node.Config) { c.AdminAddr = ":4001" }, node.ErrNotLoopback},
		{"admin on 0.0.0.0", func(c *node.Config) { c.AdminAddr = "0.0.0.0:4001" }, node.ErrNotLoopback},
		{"admin on a LAN address", func(c *node.Config) { c.AdminAddr = "10.0.0.7:4001" }, node.ErrNotLoopback},
		{"consul without redis", func(c *node.Config) { c.Consul = "127.0.0.1:8500" }, node.ErrInvalid},
		{"consul", func(c *node.Config) { c.Consul = "127.0.0.1:8500"; c.Redis = "redis://127.0.0.1:6379" }, nil},
		{"consul not host:port", func(c *node.Config) { c.Consul = "consul"; c.Redis = "redis://127.0.0.1:6379" }, node.ErrInvalid},
		{"consul bad cluster name", func(c *node.Config) {
			c.Consul, c.Redis, c.Cluster = "127.0.0.1:8500", "redis://127.0.0.1:6379", "my cluster"
		}, node.ErrInvalid},
		{"consul with a free API port", func(c *node.Config) {
			c.Consul, c.Redis, c.HTTPAddr = "127.0.0.1:8500", "redis://127.0.0.1:6379", "127.0.0.1:0"
		}, node.ErrInvalid},
		{"redis", func(c *node.Config) { c.Redis = "redis://user:pw@127.0.0.1:6379/2" }, nil},
		{"redis not a redis URL", func(c *node.Config) { c.Redis = "http://127.0.0.1:6379" }, node.ErrInvalid},
		{"redis bad db", func(c *node.Config) { c.Redis = "redis://127.0.0.1:6379/x" }, node.ErrInvalid},
		{"journal bolt", func(c *node.Config) { c.Journal = "bolt" }, nil},
		{"journal unknown", func(c *node.Config) { c.Journal = "sqlite" }, node.ErrInvalid},
		{"journal sync interval", func(c *node.Config) { c.JournalSync = "interval" }, nil},
		{"journal sync unknown", func(c *node.Config) { c.JournalSync = "everysec" }, node.ErrInvalid},
		{"journal sync interval on bolt", func(c *node.Config) { c.Journal, c.JournalSync = "bolt", "interval" }, node.ErrInvalid},
		{"journal sync interval zero", func(c *node.Config) { c.JournalSyncInterval = node.Duration{} }, node.ErrInvalid},
		{"zero max body", func(c *node.Config) { c.MaxBody = -1 }, node.ErrInvalid},
		{"bad log level", func(c *node.Config) { c.LogLevel = "loud" }, node.ErrInvalid},
		{"bad log format", func(c *node.Config) { c.LogFormat = "xml" }, node.ErrInvalid},
		// The design's performance configuration.
		{"one node", func(c *node.Config) { c.MinNodes, c.MaxNodes = 1, 1 }, nil},
		{"negative min nodes", func(c *node.Config) { c.MinNodes = -1 }, node.ErrInvalid},
		{"max nodes below min", func(c *node.Config) { c.MinNodes, c.MaxNodes = 5, 4 }, node.ErrInvalid},
		{"scale out above 1", func(c *node.Config) { c.ScaleOutThreshold = 1.5 }, node.ErrInvalid},
		{"negative scale in", func(c *node.Config) { c.ScaleInThreshold = -0.1 }, node.ErrInvalid},
		{"scale in above scale out", func(c *node.Config) { c.ScaleInThreshold, c.ScaleOutThreshold = 0.9, 0.8 }, node.ErrInvalid},
		{"every strategy", func(c *node.Config) { c.LoadBalancingStrategy = "consistent_hash" }, nil},
		{"unknown strategy", func(c *node.Config) { c.LoadBalancingStrategy = "random" }, node.ErrInvalid},
		{"negative health check interval", func(c *node.Config) { c.HealthCheckInterval.Duration = -time.Second }, node.ErrInvalid},
		{"negative l1 size", func(c *node.Config) { c.L1CacheSize = -1 }, node.ErrInvalid},
		{"negative l2 size", func(c *node.Config) { c.L2CacheSize = -1 }, node.ErrInvalid},
		{"negative ttl", func(c *node.Config) { c.DefaultCacheTTL.Duration = -time.Minute }, node.ErrInvalid},
		{"gc threshold 1", func(c *node.Config) { c.MemoryGCThreshold = 1 }, nil},
		{"gc threshold above 1", func(c *node.Config) { c.MemoryGCThreshold = 80 }, node.ErrInvalid},
		{"negative memory check interval", func(c *node.Config) { c.MemoryCheckInterval.Duration = -1 }, node.ErrInvalid},
		{"memory limit", func(c *node.Config) { c.MemoryLimit = 512 << 20 }, nil},
		{"negative memory limit", func(c *node.Config) { c.MemoryLimit = -1 }, node.ErrInvalid},
		{"negative max connections", func(c *node.Config) { c.MaxConnectionsPerNode = -1 }, node.ErrInvalid},
		{"negative connection timeout", func(c *node.Config) { c.ConnectionTimeout.Duration = -1 }, node.ErrInvalid},
		{"negative pool size", func(c *node.Config) { c.PoolSize = -5 }, node.ErrInvalid},
		{"negative retention", func(c *node.Config) { c.MetricsRetentionDays = -30 }, node.ErrInvalid},
		{"everything off", func(c *node.Config) {
			c.AutoScalingEnabled, c.RebalancingEnabled, c.L3CacheEnabled = node.False, node.False, node.False
			c.MemoryOptimizationEnabled, c.MetricsCollectionEnabled, c.PerformanceAlertsEnabled = node.False, node.False, node.False
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := node.DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Validate = %v, want %v", err, tc.want)
			}
			var ce *node.ConfigError
			if tc.want != nil && !errors.As(err, &ce) {
				t.Errorf("error %v is not a *ConfigError", err)
			}
		})
	}
	bad := node.DefaultConfig()
	bad.HTTPAddr = "no-port"
	if err := bad.Validate(); err == nil {
		t.Error("http address without a port accepted")
	}
}

// TestSettingsMatchJSON checks that every setting names its field's JSON
// key, so the file, the flags and the documentation agree.
func TestSettingsMatchJSON(t *testing.T) {
	b, err := json.Marshal(node.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	_ = json.Unmarshal(b, &keys)
	settings := node.Settings()
	if len(settings) != len(keys) {
		t.Errorf("%d settings for %d config keys", len(settings), len(keys))
	}
	for _, s := range settings {
		if _, ok := keys[s[2]]; !ok {
			t.Errorf("setting %s names JSON key %q, which Config lacks", s[0], s[2])
		}
		if !strings.HasPrefix(s[1], "OTPBOX_") {
			t.Errorf("setting %s has environment variable %q", s[0], s[1])
		}
	}
}

// TestSettingsDocumented checks that the README lists every setting.
func TestSettingsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range node.Settings() {
		row := "| `" + s[0] + "` | `" + s[1] + "` | `" + s[2] + "` |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("README.md lacks the row %s", row)
		}
	}
}

// TestPerformanceConfig layers the design's settings: an explicit false in
// a higher layer turns off what a lower one turned on, and a layer that
// leaves a boolean out changes nothing.
func TestPerformanceConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "otpbox.json")
	if err := os.WriteFile(file, []byte(`{"auto_scaling_enabled":false,"rebalancing_enabled":true,"min_nodes":3,
		"scale_out_threshold":0.9,"load_balancing_strategy":"least_connections","health_check_interval":"2s",
		"l1_cache_size":"8MiB","l2_cache_size":1048576,"l3_cache_enabled":null,"memory_limit":"1GiB",
		"memory_optimization_enabled":true,"pool_size":10}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := node.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OTPBOX_MEMORY_GC_THRESHOLD": "0.75", "OTPBOX_MEMORY_OPTIMIZATION_ENABLED": "false",
		"OTPBOX_AUTO_SCALING_ENABLED": "1", "OTPBOX_DEFAULT_CACHE_TTL": "10m"}
	fromEnv, err := node.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	flags := node.Flags(fs)
	if err := fs.Parse([]string{"--memory-optimization-enabled", "--l3-cache-enabled=false",
		"--memory-check-interval", "100ms", "--max-nodes", "7"}); err != nil {
		t.Fatal(err)
	}
	got := node.DefaultConfig().Merge(fromFile).Merge(fromEnv).Merge(*flags)
	want := node.DefaultConfig()
	want.AutoScalingEnabled = node.True // env "1" over file false
	want.MinNodes, want.ScaleOutThreshold = 3, 0.9
	want.LoadBalancingStrategy = "least_connections"
	want.HealthCheckInterval = node.Duration{Duration: 2 * time.Second}
	want.L1CacheSize, want.L2CacheSize = 8<<20, 1<<20
	want.MemoryLimit = 1 << 30
	want.PoolSize = 10
	want.MemoryGCThreshold = 0.75
	want.DefaultCacheTTL = node.Duration{Duration: 10 * time.Minute}
	want.MemoryOptimizationEnabled = node.True // the bare flag over env false over file true
	want.L3CacheEnabled = node.False           // flag =false over the default (file null: unset)
	want.MemoryCheckInterval = node.Duration{Duration: 100 * time.Millisecond}
	want.MaxNodes = 7
	if got != want {
		t.Errorf("layered config =\n %+v\nwant\n %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	// Defaults are the design's.
	def := node.DefaultConfig()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"auto_scaling_enabled", def.AutoScalingEnabled.Value(), true},
		{"min_nodes", def.MinNodes, node.Count(2)},
		{"max_nodes", def.MaxNodes, node.Count(20)},
		{"scale_out_threshold", def.ScaleOutThreshold, node.Ratio(0.8)},
		{"scale_in_threshold", def.ScaleInThreshold, node.Ratio(0.3)},
		{"load_balancing_strategy", def.LoadBalancingStrategy, "weighted_round_robin"},
		{"health_check_interval", def.HealthCheckInterval.Duration, 5 * time.Second},
		{"rebalancing_enabled", def.RebalancingEnabled.Value(), true},
		{"l3_cache_enabled", def.L3CacheEnabled.Value(), true},
		{"default_cache_ttl", def.DefaultCacheTTL.Duration, time.Hour},
		{"memory_gc_threshold", def.MemoryGCThreshold, node.Ratio(0.8)},
		{"memory_check_interval", def.MemoryCheckInterval.Duration, 10 * time.Second},
		{"memory_optimization_enabled", def.MemoryOptimizationEnabled.Value(), true},
		{"memory_limit", def.MemoryLimit, node.Size(0)},
		{"max_connections_per_node", def.MaxConnectionsPerNode, node.Count(1000)},
		{"connection_timeout", def.ConnectionTimeout.Duration, 30 * time.Second},
		{"pool_size", def.PoolSize, node.Count(50)},
		{"metrics_collection_enabled", def.MetricsCollectionEnabled.Value(), true},
		{"metrics_retention_days", def.MetricsRetentionDays, node.Count(30)},
		{"performance_alerts_enabled", def.PerformanceAlertsEnabled.Value(), true},
	} {
		if c.got != c.want {
			t.Errorf("default %s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestPerformanceConfigErrors(t *testing.T) {
	for name, env := range map[string]string{
		"OTPBOX_L3_CACHE_ENABLED":      "maybe",
		"OTPBOX_MEMORY_GC_THRESHOLD":   "high",
		"OTPBOX_MEMORY_LIMIT":          "lots",
		"OTPBOX_POOL_SIZE":             "fifty",
		"OTPBOX_MEMORY_CHECK_INTERVAL": "10000", // a duration needs its unit
	} {
		if _, err := node.FromEnv(func(k string) string {
			if k == name {
				return env
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, env, err)
		}
	}
	file := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(file, []byte(`{"rebalancing_enabled":"yes"}`), 0o600)
	if _, err := node.LoadFile(file); err == nil {
		t.Error(`"rebalancing_enabled":"yes" accepted`)
	}
}

func TestBool(t *testing.T) {
	var b node.Bool
	if b.String() != "" || b.Value() {
		t.Errorf("zero Bool = %q, %v; want unset", b.String(), b.Value())
	}
	for _, c := range []struct {
		in   string
		want node.Bool
	}{{"true", node.True}, {"false", node.False}, {"1", node.True}, {"0", node.False}} {
		if err := b.Set(c.in); err != nil || b != c.want {
			t.Errorf("Set(%q) = %v, %v", c.in, b, err)
		}
	}
	for _, c := range []struct {
		b    node.Bool
		json string
	}{{node.True, "true"}, {node.False, "false"}, {node.Bool(0), "null"}} {
		out, err := json.Marshal(c.b)
		if err != nil || string(out) != c.json {
			t.Errorf("Marshal(%v) = %s, %v", c.b, out, err)
		}
		var back node.Bool
		if err := json.Unmarshal(out, &back); err != nil || back != c.b {
			t.Errorf("Unmarshal(%s) = %v, %v", out, back, err)
		}
	}
}
