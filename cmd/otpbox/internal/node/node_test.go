package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// testConfig is a node on a free loopback port with a scratch data
// directory.
func testConfig(t *testing.T) node.Config {
	cfg := node.DefaultConfig()
	cfg.HTTPAddr, cfg.AdminAddr, cfg.DataDir = "127.0.0.1:0", "off", t.TempDir()
	cfg.DrainTimeout = node.Duration{Duration: 10 * time.Second}
	return cfg
}

func quiet() node.Option { return node.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

// start starts a node over host and shuts it down at cleanup.
func start(t *testing.T, cfg node.Config, host node.Host) *node.Node {
	t.Helper()
	n, err := node.Start(cfg, node.WithHost(host), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n
}

// call sends a request to the node and returns status, headers and body.
func call(t *testing.T, n *node.Node, method, path, body string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+n.HTTPAddr()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// noKeepAlive leaves no idle connection (nor its goroutines) behind.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func TestShutdownFailsReadinessFirst(t *testing.T) {
	host := hosttest.New()
	draining, release := make(chan struct{}), make(chan struct{})
	host.OnDrain = func(ctx context.Context) error {
		close(draining)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	n, err := node.Start(testConfig(t), node.WithHost(host), quiet())
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := call(t, n, "GET", "/v1/health/ready", ""); code != 200 {
		t.Fatalf("ready before shutdown = %d %s", code, body)
	}
	if code, _, body := call(t, n, "POST", "/v1/sandboxes", `{"id":"s1"}`); code != 201 {
		t.Fatalf("create = %d %s", code, body)
	}
	addr := n.HTTPAddr()
	stopped := make(chan error, 1)
	go func() { stopped <- n.Shutdown(context.Background()) }()
	<-draining // the host drains: the API is still up, but refuses work

	if code, h, _ := call(t, n, "GET", "/v1/health/ready", ""); code != 503 || h.Get("Retry-After") == "" {
		t.Errorf("ready while draining = %d (Retry-After %q), want 503", code, h.Get("Retry-After"))
	}
	if code, h, body := call(t, n, "POST", "/v1/sandboxes", `{"id":"s2"}`); code != 503 || h.Get("Retry-After") == "" {
		t.Errorf("create while draining = %d %s, want 503 with Retry-After", code, body)
	}
	if code, _, _ := call(t, n, "GET", "/v1/health/live", ""); code != 200 {
		t.Errorf("live while draining = %d, want 200", code)
	}
	if code, _, _ := call(t, n, "GET", "/v1/sandboxes/s1", ""); code != 200 {
		t.Errorf("read while draining = %d, want 200", code)
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("API still accepts connections after shutdown")
	}
	if active, passivated := host.SandboxCounts(); active != 0 || passivated != 1 {
		t.Errorf("after drain: %d active, %d passivated; want 0, 1", active, passivated)
	}
}

func TestShutdownDeadline(t *testing.T) {
	host := hosttest.New()
	host.OnDrain = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	n, err := node.Start(testConfig(t), node.WithHost(host), quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := n.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown past its deadline = %v, want DeadlineExceeded", err)
	}
}

func TestRunReturnsAfterContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // already done: Run starts, then drains at once
	if err := node.Run(ctx, testConfig(t), node.WithHost(hosttest.New()), quiet()); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t)
	cfg.HTTPAddr = ln.Addr().String()
	_, err = node.Start(cfg, quiet())
	var failed *supervision.FailedToStartError
	if !errors.As(err, &failed) || failed.ID != "http" || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Start on a busy port = %v, want the http child's failure to listen", err)
	}
}

func TestAdminListener(t *testing.T) {
	cfg := testConfig(t)
	cfg.AdminAddr = "127.0.0.1:0"
	n := start(t, cfg, hosttest.New())
	resp, err := noKeepAlive.Get("http://" + n.AdminAddr() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("pprof on admin = %d", resp.StatusCode)
	}
	if code, _, _ := call(t, n, "GET", "/debug/pprof/", ""); code != 404 {
		t.Errorf("pprof on the API = %d, want 404", code)
	}
}

// restartHost crashes the host's child and waits until its supervisor
// started it again.
func restartHost(t *testing.T, n *node.Node) {
	t.Helper()
	rec := testkit.NewRecorder(t, n.System(), func(e *supervision.Event) bool {
		return e.Kind == supervision.ChildStarted && e.Restart
	})
	n.System().Root.Send(n.App().Whereis(node.HostChildID), &hosttest.Crash{})
	rec.WaitFor(1)
}

func TestRestartDegradesReadiness(t *testing.T) {
	n := start(t, testConfig(t), hosttest.New())
	restartHost(t, n)
	code, h, body := call(t, n, "GET", "/v1/health/ready", "")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "sandbox_host restarted") {
		t.Errorf("ready after a restart = %d %s, want 429 degraded", code, body)
	}
}

func TestStuckExecutionDegradesReadiness(t *testing.T) {
	host := hosttest.New()
	n := start(t, testConfig(t), host)
	host.SetStuck("s1")
	code, _, body := call(t, n, "GET", "/v1/health/ready", "")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "stuck past their limits (s1)") {
		t.Errorf("ready with a stuck execution = %d %s, want 429 degraded", code, body)
	}
	host.SetStuck()
	if code, _, body := call(t, n, "GET", "/v1/health/ready", ""); code != http.StatusOK {
		t.Errorf("ready once it ended = %d %s", code, body)
	}
}

func TestMetrics(t *testing.T) {
	host := hosttest.New()
	n := start(t, testConfig(t), host)
	const id, scratch = "metrics-sandbox-7f3a", "scratch-5c1d"
	call(t, n, "POST", "/v1/sandboxes", `{"id":"`+id+`","requirements":{"limits":{"max_steps":100}}}`)
	call(t, n, "POST", "/v1/sandboxes/"+id+"/exec", `{"code":"1 + 1"}`)
	call(t, n, "POST", "/v1/sandboxes/"+id+"/exec", `{"code":"[i for i in range(1000)]"}`)
	call(t, n, "POST", "/v1/sandboxes/"+id+"/exec", `{"code":"1 +"}`)
	call(t, n, "POST", "/v1/sandboxes", `{"id":"`+scratch+`"}`)
	call(t, n, "DELETE", "/v1/sandboxes/"+scratch, "")
	call(t, n, "PUT", "/v1/sandboxes/"+id, "")
	restartHost(t, n)

	code, _, body := call(t, n, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, name := range []string{
		"otpbox_build_info",
		"otpbox_http_requests_total", "otpbox_http_request_duration_seconds",
		"otpbox_sandboxes",
		"otpbox_sandbox_lifecycle_total", "otpbox_sandbox_executions_total",
		"otpbox_sandbox_execution_duration_seconds", "otpbox_sandbox_limit_hits_total",
		"otpbox_sandbox_snapshots_total",
		"otpbox_supervisor_restarts_total", "otpbox_supervisor_intensity_shutdowns_total",
		"otpbox_mailbox_messages", "otpbox_mailbox_messages_max",
		"otpbox_protoactor_actor_spawn_count_total",
		"go_goroutines", "go_gc_duration_seconds", "process_resident_memory_bytes",
	} {
		if families[name] == nil {
			t.Errorf("metric %s missing", name)
		}
	}
	checkDashboard(t, families)
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), id) || strings.Contains(l.GetValue(), scratch) {
					t.Errorf("%s has label %s=%q: a sandbox id", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		f := families[name]
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
		t.Errorf("no %s%v", name, labels)
		return -1
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"otpbox_sandbox_lifecycle_total", []string{"op", "create", "result", "ok"}, 2},
		{"otpbox_sandbox_lifecycle_total", []string{"op", "terminate", "result", "ok"}, 1},
		{"otpbox_sandbox_executions_total", []string{"result", "ok"}, 1},
		{"otpbox_sandbox_executions_total", []string{"result", "limit_exceeded"}, 1},
		{"otpbox_sandbox_executions_total", []string{"result", "syntax_error"}, 1},
		{"otpbox_sandbox_execution_duration_seconds", nil, 1},
		{"otpbox_sandbox_limit_hits_total", []string{"limit", "steps"}, 1},
		{"otpbox_sandboxes", []string{"state", "active"}, 1},
		{"otpbox_supervisor_restarts_total", []string{"tree", "node"}, 1},
		{"otpbox_http_requests_total", []string{"route", "POST /v1/sandboxes/{id}/exec", "code", "422"}, 2},
		{"otpbox_http_requests_total", []string{"method", "PUT", "route", "other", "code", "405"}, 1},
		{"otpbox_build_info", nil, 1},
	} {
		if got := value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// protoactorMetrics are the instruments protoactor creates (exported only
// once measured), as the bridge names them.
var protoactorMetrics = map[string]bool{
	"otpbox_protoactor_actor_failure_count_total":              true,
	"otpbox_protoactor_actor_mailbox_length":                   true,
	"otpbox_protoactor_actor_message_receive_duration_seconds": true,
	"otpbox_protoactor_actor_restarted_count_total":            true,
	"otpbox_protoactor_actor_spawn_count_total":                true,
	"otpbox_protoactor_actor_stopped_count_total":              true,
	"otpbox_protoactor_deadletter_count_total":                 true,
	"otpbox_protoactor_futures_completed_count_total":          true,
	"otpbox_protoactor_futures_started_count_total":            true,
	"otpbox_protoactor_futures_timed_out_count_total":          true,
	"otpbox_protoactor_thread_pool_latency_duration_seconds":   true,
}

// checkDashboard checks that the Grafana dashboard queries only metrics
// the node exports.
func checkDashboard(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()
	b, err := os.ReadFile("../../../../docs/grafana/otpbox.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct{ Targets []struct{ Expr string } }
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	names := regexp.MustCompile(`\b(otpbox|go|process)_[a-z0-9_]+`)
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, name := range names.FindAllString(target.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
				if families[base] == nil && families[name] == nil && !protoactorMetrics[base] {
					t.Errorf("dashboard queries %s, which the node does not export", name)
				}
			}
		}
	}
}
