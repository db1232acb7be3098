package node_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

// load layers a file with content file (none when ""), env and args.
func load(t *testing.T, file string, env map[string]string, args ...string) (node.Config, error) {
	t.Helper()
	src := node.Sources{Getenv: func(k string) string { return env[k] }}
	if file != "" {
		src.File = filepath.Join(t.TempDir(), "otpbox.json")
		if err := os.WriteFile(src.File, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
	node.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return node.Config{}, err
	}
	src.Flags = fs
	return node.Load(src)
}

func TestConfigLayers(t *testing.T) {
	got, err := load(t, `{"http":"127.0.0.1:5000","data_dir":"/file","token":"from-file","drain_timeout":"5s","max_body":2048}`,
		map[string]string{"OTPBOX_DATA_DIR": "/env", "OTPBOX_TOKEN": "from-env", "OTPBOX_MAX_BODY": "1MiB"},
		"--token", "from-flag", "--request-timeout", "2s")
	if err != nil {
		t.Fatal(err)
	}
	want := node.DefaultConfig()
	want.HTTPAddr = "127.0.0.1:5000"                             // file
	want.DrainTimeout = node.Duration{Duration: 5 * time.Second} // file
	want.DataDir = "/env"                                        // env over file
	want.MaxBody = 1 << 20                                       // env over file
	want.Token = "from-flag"                                     // flag over env and file
	want.RequestTimeout = node.Duration{Duration: 2 * time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layered config =\n %+v\nwant\n %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestConfigZeroWins: every layer can set a value back to zero, and a
// flag's default is not a layer.
func TestConfigZeroWins(t *testing.T) {
	file := `{"memory_limit":"1GiB","token":"t","min_nodes":3,"scaling_cooldown":"1m","rebalancing_enabled":true,"zone":"east"}`
	got, err := load(t, file, nil, "--memory-limit", "0", "--token", "", "--rebalancing-enabled=false", "--scaling-cooldown", "0")
	if err != nil {
		t.Fatal(err)
	}
	if got.MemoryLimit != 0 || got.Token != "" || got.RebalancingEnabled != node.False || got.ScalingCooldown.Duration != 0 {
		t.Errorf("flags set to zero kept %v %q %v %v", got.MemoryLimit, got.Token, got.RebalancingEnabled, got.ScalingCooldown)
	}
	if got.MinNodes != 3 || got.Zone != "east" {
		t.Errorf("keys no flag named changed: min_nodes %v, zone %q", got.MinNodes, got.Zone)
	}
	got, err = load(t, file, map[string]string{"OTPBOX_MEMORY_LIMIT": "0", "OTPBOX_SCALING_COOLDOWN": "0s"})
	if err != nil {
		t.Fatal(err)
	}
	if got.MemoryLimit != 0 || got.ScalingCooldown.Duration != 0 {
		t.Errorf("env set to zero kept memory_limit %v, scaling_cooldown %v", got.MemoryLimit, got.ScalingCooldown)
	}
	// A file can set a default value to zero too; null leaves it alone.
	got, err = load(t, `{"max_connections_per_node":0,"l3_cache_enabled":null}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxConnectionsPerNode != 0 || got.L3CacheEnabled != node.True {
		t.Errorf("file: max_connections_per_node %v, l3_cache_enabled %v", got.MaxConnectionsPerNode, got.L3CacheEnabled)
	}
	if err := got.Validate(); !errors.Is(err, node.ErrInvalid) {
		t.Errorf("a zero capacity passed Validate: %v", err)
	}
}

// TestConfigHumanUnits: sizes and durations in human units in every layer.
func TestConfigHumanUnits(t *testing.T) {
	got, err := load(t, `{"l1_cache_size":"128MiB","l2_cache_size":"1GB","max_body":4096}`,
		map[string]string{"OTPBOX_MEMORY_LIMIT": "1.5GiB"}, "--max-body", "2MiB", "--consul-ttl", "1500ms")
	if err != nil {
		t.Fatal(err)
	}
	if got.L1CacheSize != 128<<20 || got.L2CacheSize != 1e9 || got.MemoryLimit != 3<<29 || got.MaxBody != 2<<20 ||
		got.ConsulTTL.Duration != 1500*time.Millisecond {
		t.Errorf("units: %+v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := load(t, "", map[string]string{"OTPBOX_DRAIN_TIMEOUT": "soon"}); err == nil || !strings.Contains(err.Error(), "OTPBOX_DRAIN_TIMEOUT") {
		t.Errorf("bad env duration = %v", err)
	}
	if _, err := load(t, `{"htpp":"typo"}`, nil); !errors.Is(err, node.ErrUnknownKey) || !strings.Contains(err.Error(), "htpp") {
		t.Errorf("unknown key in file = %v", err)
	}
	if _, err := load(t, `{"drain_timeout":30}`, nil); err == nil || !strings.Contains(err.Error(), `"30s"`) {
		t.Errorf("bare number as a duration = %v", err)
	}
	if _, err := load(t, `{"memory_limit":"lots"}`, nil); err == nil || !strings.Contains(err.Error(), "memory_limit") {
		t.Errorf("bad size in file = %v", err)
	}
	if _, err := load(t, "", nil, "--memory-limit", "-1GiB"); err == nil {
		t.Error("negative size flag accepted")
	}
	if _, err := node.Load(node.Sources{File: filepath.Join(t.TempDir(), "missing.json")}); err == nil {
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

// TestConfigSandboxPolicy: the file's "sandbox" object sets the defaults
// and ceilings of sandboxes' requirements, in human units.
func TestConfigSandboxPolicy(t *testing.T) {
	got, err := load(t, `{"http":"127.0.0.1:5000","sandbox":{"defaults":{"cpu_limit":"250m","limits":{"max_steps":5000}},
		"ceilings":{"memory_limit":"16MiB","limits":{"max_duration":"10s","max_actors":100}}}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Sandbox
	if p.Defaults.CPULimit != 250 || p.Defaults.Limits.MaxSteps != 5000 || p.Ceilings.MemoryLimit != 16<<20 ||
		p.Ceilings.Limits.MaxDuration != 10*time.Second || p.Ceilings.Limits.MaxActors != 100 {
		t.Errorf("sandbox policy = %+v", p)
	}
	for _, bad := range []string{`{"sandbox":{"ceiling":{}}}`, `{"sandbox":{"ceilings":{"limits":{"max_steps":"many"}}}}`, `{"sandbox":[]}`} {
		if _, err := load(t, bad, nil); !errors.Is(err, node.ErrInvalid) {
			t.Errorf("load %s = %v, want ErrInvalid", bad, err)
		}
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
	delete(keys, "sandbox") // an object, file only: see TestConfigSandboxPolicy
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

// TestSettingsDocumented checks that docs/configuration.md lists every
// setting.
func TestSettingsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range node.Settings() {
		row := "| `" + s[0] + "` | `" + s[1] + "` | `" + s[2] + "` |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md lacks the row %s", row)
		}
	}
}

// TestPerformanceConfig layers the design's settings: an explicit false in
// a higher layer turns off what a lower one turned on, and a layer that
// leaves a boolean out changes nothing.
func TestPerformanceConfig(t *testing.T) {
	got, err := load(t, `{"auto_scaling_enabled":false,"rebalancing_enabled":true,"min_nodes":3,
		"scale_out_threshold":0.9,"load_balancing_strategy":"least_connections","health_check_interval":"2s",
		"l1_cache_size":"8MiB","l2_cache_size":1048576,"l3_cache_enabled":null,"memory_limit":"1GiB",
		"memory_optimization_enabled":true,"pool_size":10}`,
		map[string]string{"OTPBOX_MEMORY_GC_THRESHOLD": "0.75", "OTPBOX_MEMORY_OPTIMIZATION_ENABLED": "false",
			"OTPBOX_AUTO_SCALING_ENABLED": "1", "OTPBOX_DEFAULT_CACHE_TTL": "10m"},
		"--memory-optimization-enabled", "--l3-cache-enabled=false", "--memory-check-interval", "100ms", "--max-nodes", "7")
	if err != nil {
		t.Fatal(err)
	}
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
	if !reflect.DeepEqual(got, want) {
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
		if _, err := load(t, "", map[string]string{name: env}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, env, err)
		}
	}
	if _, err := load(t, `{"rebalancing_enabled":"yes"}`, nil); err == nil {
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

// TestConfigEdges: the security settings layer like any other, lists
// from flags, variables and files (strings or arrays), and bad values are
// refused.
func TestConfigEdges(t *testing.T) {
	got, err := load(t, `{"allowed_hosts":["otpbox.internal","lb.internal"],"allowed_origins":"https://console.example","read_token":"r","token":"w"}`,
		map[string]string{"OTPBOX_METRICS_PUBLIC": "true"}, "--body-timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual([]string(got.AllowedHosts), []string{"otpbox.internal", "lb.internal"}) ||
		!reflect.DeepEqual([]string(got.AllowedOrigins), []string{"https://console.example"}) ||
		got.ReadToken != "r" || !got.MetricsPublic.Value() || got.BodyTimeout.Duration != 3*time.Second {
		t.Fatalf("config = %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err = load(t, "", nil, "--allowed-hosts", "a.example, b.example,")
	if err != nil || !reflect.DeepEqual([]string(got.AllowedHosts), []string{"a.example", "b.example"}) {
		t.Fatalf("flag list = %q, %v", got.AllowedHosts, err)
	}
	for _, bad := range []struct {
		args []string
		key  string
	}{
		{[]string{"--read-token", "r"}, "read_token"},
		{[]string{"--token", "t", "--read-token", "t"}, "read_token"},
		{[]string{"--allowed-origins", "console.example"}, "allowed_origins"},
		{[]string{"--allowed-origins", "https://console.example/ui"}, "allowed_origins"},
		{[]string{"--body-timeout", "0s"}, "body_timeout"},
	} {
		cfg, err := load(t, "", nil, bad.args...)
		if err != nil {
			t.Fatal(err)
		}
		var ce *node.ConfigError
		if err := cfg.Validate(); !errors.As(err, &ce) || ce.Field != bad.key {
			t.Errorf("%v: Validate = %v, want an error on %s", bad.args, err, bad.key)
		}
	}
	if _, err := load(t, `{"allowed_hosts":[1]}`, nil); err == nil {
		t.Error("a list of numbers was accepted")
	}
}
