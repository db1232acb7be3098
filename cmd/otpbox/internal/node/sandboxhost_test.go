package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
	"github.com/otpbox/otpbox/sandbox/store/bolt"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/sandbox/store/wal"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// startReal starts a node on its default host, the SandboxHost, and
// shuts it down at cleanup (or earlier, through the returned stop).
func startReal(t *testing.T, cfg node.Config, opts ...node.Option) (n *node.Node, stop func()) {
	t.Helper()
	n, err := node.Start(cfg, append([]node.Option{quiet()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		if err := n.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return n, stop
}

// want sends a request and checks its status, decoding a JSON body into v.
func want(t *testing.T, n *node.Node, method, path, body string, status int, v any) string {
	t.Helper()
	code, _, got := call(t, n, method, path, body)
	if code != status {
		t.Fatalf("%s %s = %d %s, want %d", method, path, code, got, status)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(got), v); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, got, err)
		}
	}
	return got
}

// execute runs code in sandbox id and returns the result's value.
func execute(t *testing.T, n *node.Node, id, code string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"code": code})
	var res server.Result
	want(t, n, "POST", "/v1/sandboxes/"+id+"/exec", string(b), http.StatusOK, &res)
	return res.Value
}

func counts(t *testing.T, n *node.Node) server.SandboxCounts {
	t.Helper()
	var st server.ClusterStatus
	want(t, n, "GET", "/v1/cluster/status", "", http.StatusOK, &st)
	return st.Sandboxes
}

// counterWorker is the README's supervision example: a counter "c"
// (call adds one and answers the count; cast "crash" fails it) under
// one_for_one, bound to sup.
const counterWorker = otptest.ReadmeTree

// TestSandboxHostAPI drives the real sandbox host through the HTTP API.
func TestSandboxHostAPI(t *testing.T) {
	cfg := testConfig(t)
	cfg.Node = "node-a"
	n, _ := startReal(t, cfg)

	var info server.Info
	want(t, n, "POST", "/v1/sandboxes", `{"id":"s1"}`, http.StatusCreated, &info)
	if info.ID != "s1" || info.Node != "node-a" || info.State != server.Active {
		t.Errorf("created %+v", info)
	}
	want(t, n, "POST", "/v1/sandboxes", `{"id":"s1"}`, http.StatusConflict, nil)
	want(t, n, "POST", "/v1/sandboxes", `{"id":"bad id"}`, http.StatusBadRequest, nil)
	if v := execute(t, n, "s1", "x = 1"); v != "" {
		t.Errorf("x = 1 gave value %q, want none", v)
	}
	if v := execute(t, n, "s1", "x + 1"); v != "2" {
		t.Errorf("x + 1 = %q, want 2", v)
	}
	want(t, n, "GET", "/v1/sandboxes/s1", "", http.StatusOK, &info)
	if info.Executions != 2 || info.Globals != 1 || info.State != server.Active {
		t.Errorf("info = %+v", info)
	}

	// A supervision tree in the sandbox: a crash is restarted and shows in
	// the restarts, the tree and the trace.
	execute(t, n, "s1", counterWorker)
	if v := execute(t, n, "s1", `call(whereis(sup, "c"), "inc")`); v != "1" {
		t.Errorf("call = %q, want 1", v)
	}
	execute(t, n, "s1", `cast(whereis(sup, "c"), "crash")`)
	var restarts server.RestartList
	testkit.Eventually(t, 10*time.Second, func() error {
		want(t, n, "GET", "/v1/sandboxes/s1/restarts", "", http.StatusOK, &restarts)
		if len(restarts.Restarts) != 1 {
			return fmt.Errorf("restarts = %+v", restarts)
		}
		return nil
	})
	if r := restarts.Restarts[0]; r.ChildID != "c" || !strings.Contains(r.Reason, "boom") {
		t.Errorf("restart = %+v", r)
	}
	var tree server.Tree
	body := want(t, n, "GET", "/v1/sandboxes/s1/tree", "", http.StatusOK, &tree)
	if tree.Root == nil || tree.Root.Type != "supervisor" || len(tree.Root.Children) != 1 {
		t.Fatalf("tree = %s", body)
	}
	sup := tree.Root.Children[0]
	if sup.Type != "supervisor" || len(sup.Children) != 1 || sup.Children[0].ID != "c" || sup.Children[0].Type != "worker" {
		t.Errorf("tree = %s", body)
	}
	var trace server.TraceList
	want(t, n, "GET", "/v1/sandboxes/s1/trace", "", http.StatusOK, &trace)
	if len(trace.Trace) == 0 || trace.Trace[0].PID == "" {
		t.Errorf("trace = %+v", trace)
	}
	// The restart is counted when the restarted child has started, which
	// may follow its history record by a moment.
	testkit.Eventually(t, 10*time.Second, func() error {
		metrics := want(t, n, "GET", "/metrics", "", http.StatusOK, nil)
		for _, line := range []string{
			`otpbox_supervisor_restarts_total{tree="sandbox"} 1`,
			`otpbox_sandboxes{state="active"} 1`,
			`otpbox_sandbox_executions_total{result="ok"} 5`,
		} {
			if !strings.Contains(metrics, line+"\n") {
				return fmt.Errorf("/metrics lacks %s", line)
			}
		}
		return nil
	})

	// Limits and errors are problems.
	want(t, n, "POST", "/v1/sandboxes", `{"id":"tight","requirements":{"limits":{"max_steps":100}}}`, http.StatusCreated, nil)
	var p server.Problem
	want(t, n, "POST", "/v1/sandboxes/tight/exec", `{"code":"[i for i in range(10000)]"}`, http.StatusUnprocessableEntity, &p)
	if p.Kind() != "limit_exceeded" || p.Limit != "steps" {
		t.Errorf("limit problem = %+v", p)
	}
	want(t, n, "POST", "/v1/sandboxes/tight/exec", `{"code":"1 +"}`, http.StatusUnprocessableEntity, &p)
	if p.Kind() != "syntax_error" || p.Line != 1 {
		t.Errorf("syntax problem = %+v", p)
	}
	want(t, n, "POST", "/v1/sandboxes/tight/exec", `{"code":"1 // 0"}`, http.StatusUnprocessableEntity, &p)
	if p.Kind() != "runtime_error" || p.Backtrace == "" {
		t.Errorf("runtime problem = %+v", p)
	}
	if v := execute(t, n, "tight", "1 + 1"); v != "2" {
		t.Errorf("after the errors, 1 + 1 = %q", v)
	}

	var list server.SandboxList
	want(t, n, "GET", "/v1/sandboxes?node=node-a", "", http.StatusOK, &list)
	if len(list.Sandboxes) != 2 {
		t.Errorf("list = %+v", list)
	}
	want(t, n, "GET", "/v1/sandboxes?node=elsewhere", "", http.StatusUnprocessableEntity, nil)
	want(t, n, "POST", "/v1/sandboxes/s1/migrate", `{"node":"node-a"}`, http.StatusOK, nil)
	want(t, n, "POST", "/v1/sandboxes/s1/migrate", `{"node":"elsewhere"}`, http.StatusUnprocessableEntity, nil)
	if c := counts(t, n); c != (server.SandboxCounts{Active: 2}) {
		t.Errorf("counts = %+v, want 2 active", c)
	}

	want(t, n, "POST", "/v1/sandboxes/tight/restart", "", http.StatusOK, &info)
	want(t, n, "POST", "/v1/sandboxes/tight/exec", `{"code":"x"}`, http.StatusUnprocessableEntity, &p)
	want(t, n, "DELETE", "/v1/sandboxes/s1", "", http.StatusNoContent, nil)
	want(t, n, "GET", "/v1/sandboxes/s1", "", http.StatusNotFound, nil)
	want(t, n, "POST", "/v1/sandboxes/s1/exec", `{"code":"x"}`, http.StatusNotFound, nil)
	want(t, n, "DELETE", "/v1/sandboxes/s1", "", http.StatusNotFound, nil)
	if c := counts(t, n); c != (server.SandboxCounts{Active: 1}) {
		t.Errorf("counts after delete = %+v, want 1 active (calls for unknown ids are not sandboxes)", c)
	}
}

// TestSandboxHostRequestTimeout: an execution that outlives the request
// is the request's timeout.
func TestSandboxHostRequestTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.RequestTimeout = node.Duration{Duration: 200 * time.Millisecond}
	n, _ := startReal(t, cfg)
	want(t, n, "POST", "/v1/sandboxes", `{"id":"spin","requirements":{"replay_limit":1000000000,"limits":{"max_steps":100000000,"max_duration":"1s"}}}`, http.StatusCreated, nil)
	var p server.Problem
	want(t, n, "POST", "/v1/sandboxes/spin/exec", `{"code":"while True:\n  pass"}`, http.StatusServiceUnavailable, &p)
	if p.Kind() != "timeout" {
		t.Errorf("problem = %+v, want timeout", p)
	}
	// The sandbox stays usable once its execution hit its own limit.
	testkit.Eventually(t, 10*time.Second, func() error {
		code, _, body := call(t, n, "POST", "/v1/sandboxes/spin/exec", `{"code":"1 + 1"}`)
		if code != http.StatusOK {
			return fmt.Errorf("exec = %d %s", code, body)
		}
		return nil
	})
}

// TestSandboxHostSurvivesRestart stops a node and starts another on the
// same data directory: the sandboxes come back from their journals.
func TestSandboxHostSurvivesRestart(t *testing.T) {
	cfg := testConfig(t)
	first, stop := startReal(t, cfg)
	want(t, first, "POST", "/v1/sandboxes", `{"id":"keep","requirements":{"limits":{"max_steps":50000}}}`, http.StatusCreated, nil)
	execute(t, first, "keep", "a = {'k': 1}")
	execute(t, first, "keep", "a['j'] = 2")
	want(t, first, "POST", "/v1/sandboxes", `{"id":"other"}`, http.StatusCreated, nil)
	execute(t, first, "other", "n = 41")
	stop()

	second, _ := startReal(t, cfg)
	if c := counts(t, second); c != (server.SandboxCounts{Passivated: 2}) {
		t.Errorf("counts after the restart = %+v, want 2 passivated", c)
	}
	var info server.Info
	want(t, second, "GET", "/v1/sandboxes/keep", "", http.StatusOK, &info)
	if info.State != server.Passivated || info.Requirements.Limits.MaxSteps != 50000 {
		t.Errorf("info after the restart = %+v", info)
	}
	if v := execute(t, second, "keep", "a"); v != `{"k": 1, "j": 2}` {
		t.Errorf("a = %s after the restart", v)
	}
	if v := execute(t, second, "other", "n + 1"); v != "42" {
		t.Errorf("n + 1 = %s after the restart", v)
	}
	if c := counts(t, second); c != (server.SandboxCounts{Active: 2}) {
		t.Errorf("counts after use = %+v, want 2 active", c)
	}
}

// TestSandboxHostDrain drains the host as the node's shutdown does: the
// sandboxes passivate, new work is refused, reads go on.
func TestSandboxHostDrain(t *testing.T) {
	cfg := testConfig(t)
	host := node.NewSandboxHost(cfg, slog.New(slog.DiscardHandler))
	n, _ := startReal(t, cfg, node.WithHost(host))
	for _, id := range []string{"d1", "d2", "d3"} {
		want(t, n, "POST", "/v1/sandboxes", `{"id":"`+id+`"}`, http.StatusCreated, nil)
		execute(t, n, id, "v = '"+id+"'")
	}
	if a, p := host.SandboxCounts(); a != 3 || p != 0 {
		t.Errorf("before the drain: %d active, %d passivated", a, p)
	}
	if err := host.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a, p := host.SandboxCounts(); a != 0 || p != 3 {
		t.Errorf("after the drain: %d active, %d passivated; want 0, 3", a, p)
	}
	var p server.Problem
	want(t, n, "POST", "/v1/sandboxes/d1/exec", `{"code":"v"}`, http.StatusServiceUnavailable, &p)
	if p.Kind() != "shutting_down" {
		t.Errorf("exec while draining = %+v", p)
	}
	var info server.Info
	want(t, n, "GET", "/v1/sandboxes/d2", "", http.StatusOK, &info)
	if info.State != server.Passivated {
		t.Errorf("info while draining = %+v", info)
	}
	want(t, n, "DELETE", "/v1/sandboxes/d3", "", http.StatusNoContent, nil)
}

// TestSandboxHostChildRestart stops the host's worker: its supervisor
// restarts it, the sandboxes are passivated, the member stays and the
// sandboxes come back from their journals.
func TestSandboxHostChildRestart(t *testing.T) {
	n, _ := startReal(t, testConfig(t))
	want(t, n, "POST", "/v1/sandboxes", `{"id":"r"}`, http.StatusCreated, nil)
	execute(t, n, "r", "xs = [1, 2]")
	rec := testkit.NewRecorder(t, n.System(), func(e *supervision.Event) bool {
		return e.Kind == supervision.ChildStarted && e.Restart && e.ChildID == node.HostChildID
	})
	n.System().Root.Poison(n.App().Whereis(node.HostChildID))
	rec.WaitFor(1)
	if c := counts(t, n); c != (server.SandboxCounts{Passivated: 1}) {
		t.Errorf("counts after the restart = %+v, want 1 passivated", c)
	}
	if v := execute(t, n, "r", "xs + [3]"); v != "[1, 2, 3]" {
		t.Errorf("xs + [3] = %s", v)
	}
	code, _, body := call(t, n, "GET", "/v1/health/ready", "")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "sandbox_host restarted") {
		t.Errorf("ready = %d %s, want degraded", code, body)
	}
}

// TestStartFailsOnLockedStore: another process holds the journal, so
// the host's child fails to start and so does the node, releasing all it
// started; the error names the directory and what holds it.
func TestStartFailsOnLockedStore(t *testing.T) {
	cfg := testConfig(t)
	other, err := wal.Open(filepath.Join(cfg.DataDir, node.JournalDir), wal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = node.Start(cfg, quiet())
	var failed *supervision.FailedToStartError
	if !errors.As(err, &failed) || failed.ID != node.HostChildID || !errors.Is(err, wal.ErrLocked) ||
		!strings.Contains(err.Error(), filepath.Join(cfg.DataDir, node.JournalDir)+" is in use by process ") ||
		!strings.Contains(err.Error(), "another otpbox node uses data directory "+cfg.DataDir) {
		t.Fatalf("Start on a locked store = %v", err)
	}
}

// TestStartFailsOnLockedBoltStore: the same with --journal bolt.
func TestStartFailsOnLockedBoltStore(t *testing.T) {
	cfg := testConfig(t)
	cfg.Journal = "bolt"
	other, err := bolt.Open(filepath.Join(cfg.DataDir, node.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = node.Start(cfg, quiet())
	var failed *supervision.FailedToStartError
	if !errors.As(err, &failed) || failed.ID != node.HostChildID || !errors.Is(err, bolt.ErrLocked) || !strings.Contains(err.Error(), node.StoreFile) ||
		!strings.Contains(err.Error(), "another otpbox node uses data directory") {
		t.Fatalf("Start on a locked store = %v", err)
	}
}

// TestMigratesBoltStore: a node on the bolt store (the embedded store of
// earlier versions), then one on the default journal over the same data
// directory: the sandboxes are copied, with their state, once.
func TestMigratesBoltStore(t *testing.T) {
	cfg := testConfig(t)
	cfg.Journal = "bolt"
	first, stop := startReal(t, cfg)
	want(t, first, "POST", "/v1/sandboxes", `{"id":"old","requirements":{"limits":{"max_steps":50000}}}`, http.StatusCreated, nil)
	execute(t, first, "old", "xs = [1]")
	execute(t, first, "old", "xs.append(2)")
	stop()

	cfg.Journal = "wal"
	second, stop := startReal(t, cfg)
	if v := execute(t, second, "old", "xs"); v != "[1, 2]" {
		t.Errorf("xs = %s after the migration", v)
	}
	var info server.Info
	want(t, second, "GET", "/v1/sandboxes/old", "", http.StatusOK, &info)
	if info.Requirements.Limits.MaxSteps != 50000 {
		t.Errorf("requirements after the migration = %+v", info.Requirements)
	}
	stop()
	if _, err := os.Stat(filepath.Join(cfg.DataDir, node.StoreFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the bolt file is still in place: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, node.StoreFile+".migrated")); err != nil {
		t.Errorf("the bolt file was not kept: %v", err)
	}
	third, _ := startReal(t, cfg)
	if v := execute(t, third, "old", "len(xs)"); v != "2" {
		t.Errorf("len(xs) = %s on the next start", v)
	}
}

func TestRedisURLIsRedacted(t *testing.T) {
	cfg := node.DefaultConfig()
	cfg.Redis = "redis://user:s3cret@127.0.0.1:6379/x"
	err := cfg.Validate()
	if !errors.Is(err, node.ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Validate = %v", err)
	}
}

// TestSandboxHostOnRedis keeps the sandboxes in Redis: a node on another
// data directory finds them.
func TestSandboxHostOnRedis(t *testing.T) {
	addr := startRedis(t)
	cfg := testConfig(t)
	cfg.Redis = "redis://" + addr + "/3"
	first, stop := startReal(t, cfg)
	want(t, first, "POST", "/v1/sandboxes", `{"id":"r1"}`, http.StatusCreated, nil)
	execute(t, first, "r1", "greeting = 'hello'")
	stop()

	cfg.DataDir = t.TempDir()
	second, _ := startReal(t, cfg)
	if v := execute(t, second, "r1", "greeting + ' again'"); v != `"hello again"` {
		t.Errorf("value = %s", v)
	}
}

func TestSandboxHostRedisDown(t *testing.T) {
	cfg := testConfig(t)
	cfg.Redis = "redis://" + closedAddr(t)
	if _, err := node.Start(cfg, quiet()); err == nil || !strings.Contains(err.Error(), "sandbox store: redis://") {
		t.Fatalf("Start without Redis = %v", err)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startRedis starts a private redis-server (see redistest) and returns
// its address.
func startRedis(t *testing.T) string {
	t.Helper()
	return redistest.Start(t).Addr
}

// TestIdempotencyKeysOnRedis: with Redis, an Idempotency-Key is recorded
// there in one round trip, so every node on the same Redis agrees on it:
// a key reused for another request is refused on another node too. (The
// nodes run one after the other: two protoactor remotes in one process
// race in grpc's global logger under -race.)
func TestIdempotencyKeysOnRedis(t *testing.T) {
	addr := startRedis(t)
	cfg := testConfig(t)
	cfg.Redis = "redis://" + addr + "/4"
	first, stopFirst := startReal(t, cfg)
	post := func(n *node.Node, path, body, key string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", "http://"+n.HTTPAddr()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(api.IdempotencyKeyHeader, key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post(first, "/v1/sandboxes", `{"id":"k1"}`, "key-1"); code != http.StatusCreated {
		t.Fatalf("create = %d %s", code, body)
	}
	if code, body := post(first, "/v1/sandboxes/k1/exec", `{"code":"1"}`, "key-1"); code != http.StatusUnprocessableEntity {
		t.Errorf("the key reused for an execution = %d %s, want 422", code, body)
	}
	stopFirst()
	cfg.DataDir = t.TempDir()
	second, _ := startReal(t, cfg)
	if code, body := post(second, "/v1/sandboxes", `{"id":"k1"}`, "key-1"); code != http.StatusCreated {
		t.Errorf("the create retried on the other node = %d %s, want its first answer", code, body)
	}
	if code, body := post(second, "/v1/sandboxes", `{"id":"k2"}`, "key-1"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "idempotency_key_reused") {
		t.Errorf("the key reused for another sandbox on the other node = %d %s, want 422 idempotency_key_reused", code, body)
	}
}
