package consul

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/otpbox/otpbox/cluster"
)

// loadPrefix starts the output line that carries the member's Load as JSON.
const loadPrefix = "otpbox-load: "

// formatOutput returns the heartbeat check's output: a first line for the
// humans reading the Consul UI, then the line other members parse, for
// example
//
//	ready · 12 active sandboxes · 3 passivated · backlog 0 · memory 45.1 MiB of 24.0 GiB (0.2%) · cpu 3% · latency 0.41 ms
//	otpbox-load: {"sandboxes":12,"passivated":3,…}
func formatOutput(l cluster.Load, c cluster.Capacity) string {
	var b strings.Builder
	if l.Draining {
		b.WriteString("draining")
	} else {
		b.WriteString("ready")
	}
	if c.Slots > 0 {
		fmt.Fprintf(&b, " · %d/%d active sandboxes", l.Sandboxes, c.Slots)
	} else {
		fmt.Fprintf(&b, " · %d active sandboxes", l.Sandboxes)
	}
	fmt.Fprintf(&b, " · %d passivated · backlog %d · memory %s", l.Passivated, l.Mailbox, bytes(l.MemoryBytes))
	if c.MemoryBytes > 0 {
		share := l.Memory
		if share == 0 {
			share = float64(l.MemoryBytes) / float64(c.MemoryBytes)
		}
		fmt.Fprintf(&b, " of %s (%.1f%%)", bytes(c.MemoryBytes), 100*share)
	}
	fmt.Fprintf(&b, " · cpu %.0f%% · latency %.2f ms\n", 100*l.CPU, l.LatencyMS)
	js, _ := json.Marshal(roundLoad(l)) // a Load always marshals
	b.WriteString(loadPrefix)
	b.Write(js)
	return b.String()
}

// roundLoad rounds the figures that move with every heartbeat (memory to
// the MiB and the 0.1%, cpu to the %, latency to 0.1 ms): every output
// that changes is a write to Consul's catalog, and other members need no
// finer figures to balance load.
func roundLoad(l cluster.Load) cluster.Load {
	l.MemoryBytes = (l.MemoryBytes + 1<<19) >> 20 << 20
	l.Memory = math.Round(l.Memory*1000) / 1000
	l.CPU = math.Round(l.CPU*100) / 100
	l.LatencyMS = math.Round(l.LatencyMS*10) / 10
	return l
}

// parseLoad finds the load line in a heartbeat check's output.
func parseLoad(output string) (cluster.Load, bool) {
	for line := range strings.Lines(output) {
		js, ok := strings.CutPrefix(strings.TrimSpace(line), strings.TrimSpace(loadPrefix))
		if !ok {
			continue
		}
		var l cluster.Load
		if err := json.Unmarshal([]byte(js), &l); err != nil {
			return cluster.Load{}, false
		}
		return l, true
	}
	return cluster.Load{}, false
}

// bytes formats n in binary units with one decimal: "45.1 MiB".
func bytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// sentOutput keeps the heartbeat's output steady while the load moves
// only a little: every output that changes is a write to Consul's catalog
// and wakes every member's watch of the service (each then decodes the
// health of all members), so an idle cluster of N members did N² decodes
// a heartbeat for figures nobody needed that fresh. The output is
// written anew when the load changes materially (see material), and at
// least every outputRefresh.
type sentOutput struct {
	mu   sync.Mutex
	load cluster.Load
	out  string
	at   time.Time
}

// outputRefresh is how long a steady heartbeat output lasts at most.
const outputRefresh = 30 * time.Second

// output returns the heartbeat output for l at now: the last one sent
// unless l differs materially from the load it showed, or it is older
// than the refresh.
func (s *sentOutput) output(l cluster.Load, c cluster.Capacity, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out != "" && now.Sub(s.at) < outputRefresh && !material(s.load, l) {
		return s.out
	}
	s.load, s.out, s.at = l, formatOutput(l, c), now
	return s.out
}

// material reports whether load b differs from a enough to be told:
// any change of counts or state, memory by 5% (at least 16 MiB), CPU by
// 5 points, latency by a fifth (at least 0.5 ms).
func material(a, b cluster.Load) bool {
	if a.Sandboxes != b.Sandboxes || a.Passivated != b.Passivated || a.Mailbox != b.Mailbox || a.Draining != b.Draining {
		return true
	}
	diff := func(x, y float64) float64 { return math.Abs(x - y) }
	return diff(float64(a.MemoryBytes), float64(b.MemoryBytes)) > max(0.05*float64(a.MemoryBytes), 16<<20) ||
		diff(a.CPU, b.CPU) >= 0.05 ||
		diff(a.LatencyMS, b.LatencyMS) > max(0.2*a.LatencyMS, 0.5)
}
