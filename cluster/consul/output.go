package consul

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

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
