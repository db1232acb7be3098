package consul

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/cluster"
)

// roundLoad keeps what other members need and drops heartbeat-to-heartbeat
// noise.
func TestRoundLoad(t *testing.T) {
	l := roundLoad(cluster.Load{Sandboxes: 7, MemoryBytes: 45<<20 + 600<<10, Memory: 0.12345, CPU: 0.0349, LatencyMS: 0.4449, Draining: true})
	assert.Equal(t, cluster.Load{Sandboxes: 7, MemoryBytes: 46 << 20, Memory: 0.123, CPU: 0.03, LatencyMS: 0.4, Draining: true}, l)
}

func TestFormatOutput(t *testing.T) {
	load := cluster.Load{Sandboxes: 12, Passivated: 3, MemoryBytes: 45<<20 + 100<<10, Memory: 0.0018, CPU: 0.03, LatencyMS: 0.41}
	tests := []struct {
		name      string
		load      cluster.Load
		capacity  cluster.Capacity
		firstLine string
	}{
		{"ready", load, cluster.Capacity{MemoryBytes: 24 << 30},
			"ready · 12 active sandboxes · 3 passivated · backlog 0 · memory 45.1 MiB of 24.0 GiB (0.2%) · cpu 3% · latency 0.41 ms"},
		{"slots and no memory limit", cluster.Load{Sandboxes: 2, Mailbox: 7, MemoryBytes: 512}, cluster.Capacity{Slots: 10},
			"ready · 2/10 active sandboxes · 0 passivated · backlog 7 · memory 512 B · cpu 0% · latency 0.00 ms"},
		{"draining, share computed", cluster.Load{Draining: true, MemoryBytes: 1 << 30}, cluster.Capacity{MemoryBytes: 4 << 30},
			"draining · 0 active sandboxes · 0 passivated · backlog 0 · memory 1.0 GiB of 4.0 GiB (25.0%) · cpu 0% · latency 0.00 ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := formatOutput(tt.load, tt.capacity)
			first, rest, ok := strings.Cut(out, "\n")
			require.True(t, ok, "two lines: %q", out)
			assert.Equal(t, tt.firstLine, first)
			assert.True(t, strings.HasPrefix(rest, "otpbox-load: {"), rest)
			got, ok := parseLoad(out)
			require.True(t, ok)
			assert.Equal(t, roundLoad(tt.load), got, "the load survives the round trip, rounded")
		})
	}
}

func TestParseLoad(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   cluster.Load
		ok     bool
	}{
		{"empty", "", cluster.Load{}, false},
		{"no load line", "ready · whatever", cluster.Load{}, false},
		{"bad json", "ready\notpbox-load: {nope", cluster.Load{}, false},
		{"crlf and spaces", "ready\r\n  otpbox-load: {\"sandboxes\":4,\"draining\":true}\r\n", cluster.Load{Sandboxes: 4, Draining: true}, true},
		{"unknown fields ignored", "otpbox-load: {\"sandboxes\":1,\"future\":9}", cluster.Load{Sandboxes: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseLoad(tt.output)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{45<<20 + 100<<10, "45.1 MiB"}, {24 << 30, "24.0 GiB"}, {3 << 40, "3.0 TiB"}, {1 << 63, "8.0 EiB"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, bytes(tt.n), "bytes(%d)", tt.n)
	}
}
