package consul

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Agent: "127.0.0.1:8500", Cluster: "otpbox", Node: "n1"}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, c.TTL)
	assert.Equal(t, time.Second, c.Heartbeat)
	assert.Equal(t, time.Second, c.CheckInterval)
	assert.Equal(t, time.Minute, c.DeregisterAfter)
	assert.NotEmpty(t, c.Version)
	assert.NotNil(t, c.Load)
	assert.NotNil(t, c.Logger)
	assert.NotNil(t, c.Now)

	c, err = Config{Agent: "127.0.0.1:8500", Cluster: "otpbox", Node: "n1", TTL: time.Second}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, time.Second/3, c.Heartbeat)
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Agent: "127.0.0.1:8500", Cluster: "otpbox", Node: "n1"}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no agent", func(c *Config) { c.Agent = "" }, "Agent"},
		{"agent without port", func(c *Config) { c.Agent = "localhost" }, "Agent"},
		{"no cluster", func(c *Config) { c.Cluster = "" }, "Cluster"},
		{"no node", func(c *Config) { c.Node = "" }, "Node"},
		{"node with slash", func(c *Config) { c.Node = "a/b" }, "Node"},
		{"cluster with space", func(c *Config) { c.Cluster = "my cluster" }, "Cluster"},
		{"api not a url", func(c *Config) { c.API = "127.0.0.1:4000" }, "API"},
		{"negative slots", func(c *Config) { c.Capacity.Slots = -1 }, "Capacity"},
		{"negative ttl", func(c *Config) { c.TTL = -time.Second }, "TTL"},
		{"heartbeat not below ttl", func(c *Config) { c.TTL, c.Heartbeat = time.Second, time.Second }, "Heartbeat"},
		{"check interval below 1s", func(c *Config) { c.CheckInterval = 500 * time.Millisecond }, "CheckInterval"},
		{"deregister below 1m", func(c *Config) { c.DeregisterAfter = 30 * time.Second }, "DeregisterAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			_, err := New(c)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "want a *ConfigError, got %v", err)
			assert.Equal(t, tt.field, ce.Field)
			assert.Contains(t, err.Error(), "consul: config "+tt.field)
		})
	}
}

func TestStartErrors(t *testing.T) {
	leakCheck(t)
	p, err := New(Config{Agent: "127.0.0.1:1", Cluster: "otpbox", Node: "n1"})
	require.NoError(t, err)
	assert.ErrorIs(t, p.Start("no-port"), ErrAddress)
	assert.ErrorIs(t, p.Start("127.0.0.1:http"), ErrAddress)
	require.NoError(t, p.Stop(false))
	assert.ErrorIs(t, p.Start("127.0.0.1:7000"), ErrStopped)
	assert.NoError(t, p.Stop(true), "Stop is idempotent")
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	for i, step := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		step *= time.Millisecond
		if step > time.Second {
			step = time.Second
		}
		d := b.next()
		assert.True(t, d >= step/2 && d <= step, "retry %d: %v not in [%v, %v]", i, d, step/2, step)
	}
	b.reset()
	assert.LessOrEqual(t, b.next(), 100*time.Millisecond)
}
