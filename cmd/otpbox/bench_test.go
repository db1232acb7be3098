package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

func TestBenchJSON(t *testing.T) {
	n := newNode(t, "")
	out := newCLI(t).ok("bench", "--addr", n.url, "--levels", "1,4", "--requests-per-level", "8", "--json")
	var rep struct {
		Levels []map[string]float64 `json:"levels"`
	}
	decode(t, out, &rep)
	if len(rep.Levels) != 2 {
		t.Fatalf("bench --json = %s", out)
	}
	keys := []string{"concurrency", "requests", "errors", "error_rate", "avg_ms", "p50_ms", "p99_ms", "max_ms", "throughput_per_s"}
	for _, l := range rep.Levels {
		// The node's CPU per request, read from its /metrics, is there
		// when the node used a measurable slice (10 ms ticks) of it.
		if n := len(l) - len(keys); n != 0 && (n != 1 || l["node_cpu_per_request_us"] <= 0) {
			t.Errorf("level has keys %v, want exactly %v (and node_cpu_per_request_us)", l, keys)
		}
		for _, k := range keys {
			if _, ok := l[k]; !ok {
				t.Errorf("level lacks %q: %v", k, l)
			}
		}
		if l["requests"] != 8 || l["errors"] != 0 {
			t.Errorf("level = %v", l)
		}
	}
	if a, p := n.host.SandboxCounts(); a+p != 0 {
		t.Errorf("bench left %d sandboxes", a+p)
	}
}

func TestBenchInProcessFakeHost(t *testing.T) {
	c := newCLI(t)
	c.m = &Main{NodeOptions: []node.Option{node.WithHost(hosttest.New())}}
	out, errOut, err := c.run("bench", "--levels", "2", "--requests-per-level", "6")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "started a node in process on 127.0.0.1:") {
		t.Errorf("stderr = %q", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONCURRENCY") || !strings.HasPrefix(strings.Fields(lines[1])[0], "2") ||
		strings.Fields(lines[1])[1] != "6" || strings.Fields(lines[1])[2] != "0" {
		t.Errorf("bench printed:\n%s", out)
	}
}

// TestBenchInProcess runs the bench against a node started in process on
// the real sandbox host: no request fails.
func TestBenchInProcess(t *testing.T) {
	out, errOut, err := newCLI(t).run("bench", "--levels", "10,50", "--requests-per-level", "100", "--json")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut)
	}
	var rep struct {
		Levels []struct {
			Concurrency, Requests, Errors int
		} `json:"levels"`
	}
	decode(t, out, &rep)
	if len(rep.Levels) != 2 {
		t.Fatalf("bench --json = %s", out)
	}
	for i, l := range rep.Levels {
		if l.Concurrency != []int{10, 50}[i] || l.Requests != 100 || l.Errors != 0 {
			t.Errorf("level %d = %+v, want 100 requests without errors\nstderr: %s", i, l, errOut)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var b strings.Builder
	p := &progressBar{w: &b}
	for i := 1; i <= 4; i++ {
		p.update(10, i, 4)
	}
	p.update(50, 1, 2)
	p.finish()
	got := strings.Split(b.String(), "\n")
	if len(got) != 3 || !strings.HasSuffix(got[0], "100% 4/4") || !strings.HasSuffix(got[1], " 50% 1/2") {
		t.Errorf("progress = %q", b.String())
	}
	if strings.Count(got[0], "\r") != 4 {
		t.Errorf("redrew %d times, want 4 (once per percentage)", strings.Count(got[0], "\r"))
	}
}

// TestBenchOpen runs the open model against a node whose sandboxes
// (hosttest's) do not keep `n` from one execution to the next: every
// execution fails with a runtime_error problem, counted by kind, and every
// user's sandbox is terminated.
func TestBenchOpen(t *testing.T) {
	n := newNode(t, "")
	out := newCLI(t).ok("bench", "--addr", n.url, "--users", "5", "--rate", "20,40", "--duration", "500ms")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], `5 users, one sandbox each`) || !strings.HasPrefix(lines[1], "RATE/s") ||
		strings.Join(strings.Fields(lines[2])[2:4], " ") != "10 10" || strings.Join(strings.Fields(lines[3])[2:4], " ") != "20 20" ||
		!strings.HasPrefix(lines[4], "20/s: errors: runtime_error 10; first: Runtime error (422)") ||
		!strings.HasPrefix(lines[6], "knee: none") {
		t.Errorf("bench printed:\n%s", out)
	}
	if a, p := n.host.SandboxCounts(); a+p != 0 {
		t.Errorf("bench left %d sandboxes", a+p)
	}
}

func TestBenchOpenUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--users", "5"},
		{"--users", "5", "--rate", "10", "--think", "1s"},
		{"--users", "5", "--rate", "10,x"},
		{"--users", "5", "--rate", "0"},
		{"--users", "5", "--think", "-1s"},
		{"--users", "0", "--rate", "10"},
		{"--rate", "10"},
		{"--users", "5", "--rate", "10", "--levels", "1"},
		{"--users", "5", "--rate", "10", "--duration", "0s"},
		{"--users", "5", "--rate", "10", "--connections", "0"},
		{"--users", "5", "--rate", "10", "--journal", "sqlite"},
	} {
		_, errOut, err := newCLI(t).run(append([]string{"bench", "--addr", "127.0.0.1:1"}, args...)...)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("bench %v = %v (stderr %q), want a usage error", args, err, errOut)
		}
	}
}

// TestBenchOpenInProcess is the open model end to end: a node started in
// process on the real sandbox host and its default store, --think as the
// rate, --json.
func TestBenchOpenInProcess(t *testing.T) {
	out, errOut, err := newCLI(t).run("bench", "--users", "50", "--think", "1s,500ms", "--duration", "1s", "--json")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut)
	}
	var rep struct {
		Users  int     `json:"users"`
		Code   string  `json:"code"`
		Knee   float64 `json:"knee_rate"`
		Steps  []map[string]any
		Memory []map[string]any `json:"node_memory"`
	}
	decode(t, out, &rep)
	if rep.Users != 50 || rep.Code != "n += 1" || len(rep.Steps) != 2 {
		t.Fatalf("bench --json = %s", out)
	}
	keys := []string{"target_rate", "achieved_rate", "requests", "errors", "errors_by_kind", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms", "admitted"}
	for i, s := range rep.Steps {
		if n := len(s) - len(keys); n != 0 && (n != 1 || s["node_cpu_per_request_us"] == nil) {
			t.Errorf("step has keys %v, want exactly %v (and node_cpu_per_request_us)", s, keys)
		}
		want := []float64{50, 100}[i]
		if s["target_rate"] != want || s["requests"] != want || s["errors"] != 0.0 {
			t.Errorf("step %d = %v, want %v requests without errors\nstderr: %s", i, s, want, errOut)
		}
		if a, ok := s["admitted"].(map[string]any); !ok || a["p99_ms"] != s["p99_ms"] {
			t.Errorf("step %d: admitted %v, want the p99 of all (none failed)", i, s["admitted"])
		}
	}
	// The node's memory, read from its /metrics, before set-up, after it
	// and after the last rate.
	if len(rep.Memory) != 3 || rep.Memory[1]["sandboxes"] != 50.0 || rep.Memory[1]["rss_bytes"].(float64) <= 0 {
		t.Errorf("node_memory = %v", rep.Memory)
	}
}
