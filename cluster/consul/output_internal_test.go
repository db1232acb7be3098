package consul

import (
	"strings"
	"testing"
	"time"

	"github.com/otpbox/otpbox/cluster"
)

// TestSteadyOutput: the heartbeat's output stays the same while the load
// moves a little, and changes with the counts, a real move, or the
// refresh.
func TestSteadyOutput(t *testing.T) {
	var s sentOutput
	c := cluster.Capacity{Slots: 100}
	at := time.Unix(0, 0)
	base := cluster.Load{Sandboxes: 3, MemoryBytes: 200 << 20, CPU: 0.02, LatencyMS: 0.4}
	first := s.output(base, c, at)
	for _, l := range []cluster.Load{
		{Sandboxes: 3, MemoryBytes: 205 << 20, CPU: 0.03, LatencyMS: 0.5},
		{Sandboxes: 3, MemoryBytes: 190 << 20, CPU: 0.01, LatencyMS: 0.7},
	} {
		if got := s.output(l, c, at.Add(time.Second)); got != first {
			t.Errorf("output for %+v changed: %q", l, got)
		}
	}
	for _, l := range []cluster.Load{
		{Sandboxes: 4, MemoryBytes: 200 << 20, CPU: 0.02, LatencyMS: 0.4},
		{Sandboxes: 4, MemoryBytes: 300 << 20, CPU: 0.02, LatencyMS: 0.4},
		{Sandboxes: 4, MemoryBytes: 300 << 20, CPU: 0.5, LatencyMS: 0.4},
		{Sandboxes: 4, MemoryBytes: 300 << 20, CPU: 0.5, LatencyMS: 5},
		{Sandboxes: 4, MemoryBytes: 300 << 20, CPU: 0.5, LatencyMS: 5, Draining: true},
	} {
		before := s.out
		if got := s.output(l, c, at.Add(2*time.Second)); got == before {
			t.Errorf("output for %+v kept %q", l, got)
		}
	}
	l := s.load
	l.CPU += 0.01
	if got := s.output(l, c, at.Add(2*time.Second+outputRefresh)); !strings.Contains(got, "cpu 51%") {
		t.Errorf("after the refresh: %q, want the figures of now", got)
	}
}
