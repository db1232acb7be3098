package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/actors/memoryoptimizer"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testkit.LeakOptions()...) }

// api is a server over an in-memory host, reached through a real HTTP
// server.
type api struct {
	t    *testing.T
	ts   *httptest.Server
	host *hosttest.Host
	srv  *server.Server
}

func newAPI(t *testing.T, cfg server.Config) *api {
	t.Helper()
	h := hosttest.New()
	h.Nodes = []string{"node2"}
	if cfg.Sandboxes == nil {
		cfg.Sandboxes = h
	}
	if cfg.Counts == nil {
		cfg.Counts = h.SandboxCounts
	}
	srv := server.New(cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &api{t: t, ts: ts, host: h, srv: srv}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; hdr is a list of header name, value pairs.
func (a *api) do(method, path, body string, hdr ...string) response {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.ts.URL+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.ts.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// create makes a sandbox through the host.
func (a *api) create(id string, req server.Requirements) {
	a.t.Helper()
	if _, err := a.host.Create(context.Background(), id, req); err != nil {
		a.t.Fatal(err)
	}
}

// wantJSON checks status and decodes the JSON body into v.
func (r response) wantJSON(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

// wantProblem checks that r is a problem of status and kind with every
// RFC 9457 member, and returns it.
func (r response) wantProblem(t *testing.T, status int, kind string) server.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	for _, f := range []string{"type", "title", "status", "detail"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("problem lacks %q: %s", f, r.body)
		}
	}
	var p server.Problem
	_ = json.Unmarshal(r.body, &p)
	if p.Kind() != kind || p.Status != status {
		t.Fatalf("problem = %s %d, want %s %d: %s", p.Kind(), p.Status, kind, status, r.body)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%d without Retry-After", status)
		}
	}
	return p
}

func TestCreate(t *testing.T) {
	a := newAPI(t, server.Config{})
	r := a.do("POST", "/v1/sandboxes", `{"id":"s1","requirements":{"memory_limit":1048576,"limits":{"max_steps":5000}}}`)
	var info server.Info
	r.wantJSON(t, http.StatusCreated, &info)
	if info.ID != "s1" || info.Node != "node1" || info.State != server.Active || info.Requirements.Limits.MaxSteps != 5000 {
		t.Errorf("info = %+v", info)
	}
	if loc := r.header.Get("Location"); loc != "/v1/sandboxes/s1" {
		t.Errorf("Location = %q", loc)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	for _, f := range []string{"id", "node", "state", "created_at", "last_active", "executions", "requirements"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("info lacks %q: %s", f, r.body)
		}
	}
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`).wantProblem(t, http.StatusConflict, "already_exists")
}

func TestBadInput(t *testing.T) {
	a := newAPI(t, server.Config{MaxBody: 256})
	a.create("s1", server.Requirements{})
	big := `{"id":"` + strings.Repeat("x", 300) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		kind                     string
	}{
		{"malformed json", "POST", "/v1/sandboxes", `{"id":`, 400, "malformed_json"},
		{"not an object", "POST", "/v1/sandboxes", `[1,2]`, 400, "malformed_json"},
		{"empty body", "POST", "/v1/sandboxes", ``, 400, "malformed_json"},
		{"two values", "POST", "/v1/sandboxes", `{"id":"a"} {"id":"b"}`, 400, "malformed_json"},
		{"wrong type", "POST", "/v1/sandboxes", `{"id":7}`, 400, "malformed_json"},
		{"unknown field", "POST", "/v1/sandboxes", `{"id":"a","colour":"red"}`, 400, "unknown_field"},
		{"unknown nested field", "POST", "/v1/sandboxes", `{"id":"a","requirements":{"gpus":1}}`, 400, "unknown_field"},
		{"invalid id", "POST", "/v1/sandboxes", `{"id":"no spaces please"}`, 400, "invalid_id"},
		{"missing id", "POST", "/v1/sandboxes", `{}`, 400, "invalid_id"},
		{"invalid requirements", "POST", "/v1/sandboxes", `{"id":"a","requirements":{"memory_hint":-1}}`, 400, "invalid_requirements"},
		{"requirement above the ceiling", "POST", "/v1/sandboxes", `{"id":"a","requirements":{"limits":{"max_steps":1e15}}}`, 400, "invalid_requirements"},
		{"bad human unit", "POST", "/v1/sandboxes", `{"id":"a","requirements":{"memory_limit":"lots"}}`, 400, "malformed_json"},
		{"body too large", "POST", "/v1/sandboxes", big, 413, "body_too_large"},
		{"exec body too large", "POST", "/v1/sandboxes/s1/exec", `{"code":"` + strings.Repeat("1", 300) + `"}`, 413, "body_too_large"},
		{"exec without code", "POST", "/v1/sandboxes/s1/exec", `{}`, 400, "missing_field"},
		{"exec malformed", "POST", "/v1/sandboxes/s1/exec", `{"code":}`, 400, "malformed_json"},
		{"exec invalid id", "POST", "/v1/sandboxes/bad%20id/exec", `{"code":"1"}`, 400, "invalid_id"},
		{"info invalid id", "GET", "/v1/sandboxes/bad%20id", ``, 400, "invalid_id"},
		{"info unknown", "GET", "/v1/sandboxes/nope", ``, 404, "not_found"},
		{"rm unknown", "DELETE", "/v1/sandboxes/nope", ``, 404, "not_found"},
		{"exec unknown", "POST", "/v1/sandboxes/nope/exec", `{"code":"1"}`, 404, "not_found"},
		{"restart unknown", "POST", "/v1/sandboxes/nope/restart", ``, 404, "not_found"},
		{"restart unknown field", "POST", "/v1/sandboxes/s1/restart", `{"hard":true}`, 400, "unknown_field"},
		{"migrate unknown", "POST", "/v1/sandboxes/nope/migrate", `{"node":"node2"}`, 404, "not_found"},
		{"migrate without node", "POST", "/v1/sandboxes/s1/migrate", `{}`, 400, "missing_field"},
		{"migrate to unknown node", "POST", "/v1/sandboxes/s1/migrate", `{"node":"mars"}`, 422, "unknown_node"},
		{"tree unknown", "GET", "/v1/sandboxes/nope/tree", ``, 404, "not_found"},
		{"restarts unknown", "GET", "/v1/sandboxes/nope/restarts", ``, 404, "not_found"},
		{"trace unknown", "GET", "/v1/sandboxes/nope/trace", ``, 404, "not_found"},
		{"no route", "GET", "/v1/nothing", ``, 404, "not_found"},
		{"wrong method on collection", "PUT", "/v1/sandboxes", `{}`, 405, "method_not_allowed"},
		{"wrong method on exec", "GET", "/v1/sandboxes/s1/exec", ``, 405, "method_not_allowed"},
		{"wrong method on health", "POST", "/v1/health/live", ``, 405, "method_not_allowed"},
		{"bad cache tier", "DELETE", "/v1/cache?tier=l9", ``, 400, "invalid_tier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.do(tc.method, tc.path, tc.body).wantProblem(t, tc.status, tc.kind)
		})
	}
}

// TestCeilingProblem: a requirement above the node's ceiling is a 400
// that names the limit and the ceiling; human units are accepted.
func TestCeilingProblem(t *testing.T) {
	a := newAPI(t, server.Config{})
	p := a.do("POST", "/v1/sandboxes", `{"id":"a","requirements":{"limits":{"max_duration":"1h"}}}`).wantProblem(t, http.StatusBadRequest, "invalid_requirements")
	if p.Limit != "max_duration" || p.Ceiling != "30s" || !strings.Contains(p.Detail, "max_duration 1h0m0s is above this node's ceiling of 30s") {
		t.Errorf("problem = %+v", p)
	}
	var info server.Info
	a.do("POST", "/v1/sandboxes", `{"id":"b","requirements":{"memory_limit":"512KiB","cpu_limit":"250m","limits":{"max_duration":"2s"}}}`).wantJSON(t, http.StatusCreated, &info)
	if req := info.Requirements; req.MemoryLimit != 512<<10 || req.CPULimit != 250 || req.Limits.MaxDuration != 2*time.Second || req.Limits.MaxHeapBytes != 512<<10 {
		t.Errorf("requirements = %+v", req)
	}
}

func TestMethodNotAllowedKeepsAllow(t *testing.T) {
	a := newAPI(t, server.Config{})
	r := a.do("PATCH", "/v1/sandboxes/s1", "")
	r.wantProblem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "DELETE") {
		t.Errorf("Allow = %q, want GET and DELETE", allow)
	}
}

func TestExecute(t *testing.T) {
	a := newAPI(t, server.Config{})
	a.create("s1", server.Requirements{})
	var res server.Result
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1 + 1"}`).wantJSON(t, 200, &res)
	if res.Value != "2" || res.Steps == 0 {
		t.Errorf("1 + 1 = %+v", res)
	}
	r := a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"x = 20\nprint('hi', x)"}`)
	r.wantJSON(t, 200, &res)
	if res.Value != "" || res.Output != "hi 20\n" {
		t.Errorf("print = %+v", res)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	for _, f := range []string{"value", "output", "steps", "duration_us"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("result lacks %q: %s", f, r.body)
		}
	}
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"x * 2"}`).wantJSON(t, 200, &res)
	if res.Value != "40" {
		t.Errorf("session state lost: x * 2 = %q", res.Value)
	}
	var info server.Info
	a.do("GET", "/v1/sandboxes/s1", "").wantJSON(t, 200, &info)
	if info.Executions != 3 {
		t.Errorf("executions = %d, want 3", info.Executions)
	}
}

func TestExecuteErrors(t *testing.T) {
	a := newAPI(t, server.Config{})
	a.create("tight", server.Requirements{Limits: server.Limits{MaxSteps: 100}})
	p := a.do("POST", "/v1/sandboxes/tight/exec", `{"code":"[i for i in range(10000)]"}`).
		wantProblem(t, http.StatusUnprocessableEntity, "limit_exceeded")
	if p.Limit != "steps" {
		t.Errorf("limit = %q, want steps", p.Limit)
	}
	a.create("s1", server.Requirements{})
	p = a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1 +"}`).wantProblem(t, http.StatusUnprocessableEntity, "syntax_error")
	if p.Line != 1 {
		t.Errorf("syntax error line = %d, want 1", p.Line)
	}
	p = a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1 // 0"}`).wantProblem(t, http.StatusUnprocessableEntity, "runtime_error")
	if !strings.Contains(p.Detail, "division") {
		t.Errorf("runtime error detail = %q", p.Detail)
	}
}

func TestRequestTimeout(t *testing.T) {
	a := newAPI(t, server.Config{RequestTimeout: 50 * time.Millisecond})
	a.create("spin", server.Requirements{Limits: server.Limits{MaxSteps: 100_000_000}})
	a.do("POST", "/v1/sandboxes/spin/exec", `{"code":"while True:\n  pass"}`).
		wantProblem(t, http.StatusServiceUnavailable, "timeout")
}

func TestLifecycle(t *testing.T) {
	a := newAPI(t, server.Config{})
	a.create("s1", server.Requirements{})
	a.create("s2", server.Requirements{})
	var info server.Info
	a.do("POST", "/v1/sandboxes/s1/restart", "").wantJSON(t, 200, &info)
	a.do("POST", "/v1/sandboxes/s1/restart", "{}").wantJSON(t, 200, &info)
	var restarts server.RestartList
	a.do("GET", "/v1/sandboxes/s1/restarts", "").wantJSON(t, 200, &restarts)
	if len(restarts.Restarts) != 2 {
		t.Errorf("restarts = %+v, want 2", restarts)
	}
	a.do("POST", "/v1/sandboxes/s2/migrate", `{"node":"node2"}`).wantJSON(t, 200, &info)
	if info.Node != "node2" {
		t.Errorf("migrated to %q", info.Node)
	}
	var list server.SandboxList
	a.do("GET", "/v1/sandboxes", "").wantJSON(t, 200, &list)
	if len(list.Sandboxes) != 2 {
		t.Fatalf("list = %+v", list)
	}
	a.do("GET", "/v1/sandboxes?node=node2", "").wantJSON(t, 200, &list)
	if len(list.Sandboxes) != 1 || list.Sandboxes[0].ID != "s2" {
		t.Errorf("list ?node=node2 = %+v", list)
	}
	var tree server.Tree
	r := a.do("GET", "/v1/sandboxes/s1/tree", "")
	r.wantJSON(t, 200, &tree)
	if tree.Root == nil || tree.Root.Type != "supervisor" || tree.Root.Status != "running" ||
		len(tree.Root.Children) != 1 || tree.Root.Children[0].ID != "session" {
		t.Errorf("tree = %s", r.body)
	}
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`).wantJSON(t, 200, nil)
	var trace server.TraceList
	a.do("GET", "/v1/sandboxes/s1/trace", "").wantJSON(t, 200, &trace)
	if len(trace.Trace) != 1 || trace.Trace[0].PID == "" || len(trace.Trace[0].Messages) != 1 || trace.Trace[0].Messages[0].Kind != "call" {
		t.Errorf("trace = %+v", trace)
	}
	r = a.do("DELETE", "/v1/sandboxes/s1", "")
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	a.do("GET", "/v1/sandboxes/s1", "").wantProblem(t, 404, "not_found")
	a.do("GET", "/v1/sandboxes", "").wantJSON(t, 200, &list)
	if len(list.Sandboxes) != 1 {
		t.Errorf("after delete list = %+v", list)
	}
}

func TestEmptyListsAreArrays(t *testing.T) {
	a := newAPI(t, server.Config{})
	a.create("s1", server.Requirements{})
	for path, want := range map[string]string{
		"/v1/sandboxes?node=node2":  `{"sandboxes":[]}`,
		"/v1/sandboxes/s1/restarts": `{"restarts":[]}`,
		"/v1/sandboxes/s1/trace":    `{"trace":[]}`,
	} {
		if got := strings.TrimSpace(string(a.do("GET", path, "").body)); got != want {
			t.Errorf("GET %s = %s, want %s", path, got, want)
		}
	}
}

func TestListOnUnknownNode(t *testing.T) {
	a := newAPI(t, server.Config{})
	a.do("GET", "/v1/sandboxes?node=nowhere", "").wantProblem(t, http.StatusUnprocessableEntity, "unknown_node")
}

// failing is a host whose executions fail with err.
type failing struct {
	*hosttest.Host
	err error
}

func (f failing) Execute(context.Context, string, string) (*server.Result, error) { return nil, f.err }

func TestHostFailures(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		kind   string
	}{
		{fmt.Errorf("%w: s1 did not answer in 1s", server.ErrUnavailable), 503, "unavailable"},
		{&server.StoreError{Op: "append", Err: errors.New("disk full")}, 503, "store_unavailable"},
		{fmt.Errorf("bolt: append: %w", server.ErrStoreClosed), 503, "store_unavailable"},
		{server.ErrShuttingDown, 503, "shutting_down"},
		{server.ErrOverloaded, 429, "overloaded"},
		{&server.LimitError{Limit: "heap", Max: 10, Got: 20}, 422, "limit_exceeded"},
		{fmt.Errorf("%w: s1 did not answer: %w", context.DeadlineExceeded, server.ErrUnavailable), 503, "timeout"},
		{errors.New("something else"), 500, "internal"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			h := hosttest.New()
			a := newAPI(t, server.Config{Sandboxes: failing{h, tc.err}, Logger: slog.New(slog.DiscardHandler)})
			a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`).wantProblem(t, tc.status, tc.kind)
		})
	}
}

func TestToken(t *testing.T) {
	a := newAPI(t, server.Config{Token: "s3cret"})
	r := a.do("POST", "/v1/sandboxes", `{"id":"s1"}`)
	r.wantProblem(t, http.StatusUnauthorized, "unauthorized")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Authorization", "Bearer wrong").wantProblem(t, 401, "unauthorized")
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Authorization", "Basic s3cret").wantProblem(t, 401, "unauthorized")
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Authorization", "Bearer s3cret").wantJSON(t, 201, nil)
	a.do("DELETE", "/v1/sandboxes/s1", "").wantProblem(t, 401, "unauthorized")
	a.do("DELETE", "/v1/cache", "").wantProblem(t, 401, "unauthorized")
	a.do("POST", "/v1/memory/optimize", "").wantProblem(t, 401, "unauthorized")
	// Reads need the token too; liveness and readiness do not.
	a.do("GET", "/v1/sandboxes/s1", "").wantProblem(t, 401, "unauthorized")
	a.do("GET", "/v1/sandboxes/s1/tree", "").wantProblem(t, 401, "unauthorized")
	a.do("GET", "/v1/sandboxes/s1", "", "Authorization", "Bearer s3cret").wantJSON(t, 200, nil)
	a.do("GET", "/v1/health/ready", "").wantJSON(t, 200, nil)
	a.do("GET", "/v1/health/live", "").wantJSON(t, 200, nil)
}

func TestOverloadAndDrain(t *testing.T) {
	a := newAPI(t, server.Config{RetryAfter: 3 * time.Second})
	a.create("s1", server.Requirements{})
	a.host.SetOverloaded(true)
	r := a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`)
	r.wantProblem(t, http.StatusTooManyRequests, "overloaded")
	if got := r.header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3", got)
	}
	a.host.SetOverloaded(false)
	if err := a.host.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.do("POST", "/v1/sandboxes", `{"id":"s2"}`).wantProblem(t, http.StatusServiceUnavailable, "shutting_down")

	a.srv.BeginDrain()
	a.do("POST", "/v1/memory/optimize", "").wantProblem(t, http.StatusServiceUnavailable, "shutting_down")
	a.do("GET", "/v1/health/ready", "").wantProblem(t, http.StatusServiceUnavailable, "not_ready")
	a.do("GET", "/v1/health/live", "").wantJSON(t, 200, nil)
	var nodes server.NodeList
	a.do("GET", "/v1/cluster/nodes", "").wantJSON(t, 200, &nodes)
	if nodes.Nodes[0].Status != "leaving" {
		t.Errorf("draining node status = %q", nodes.Nodes[0].Status)
	}
	var info server.Info
	a.do("GET", "/v1/sandboxes/s1", "").wantJSON(t, 200, &info)
	if info.State != server.Passivated {
		t.Errorf("drained sandbox state = %q", info.State)
	}
	a.do("DELETE", "/v1/sandboxes/s1", "")
}

func TestHealth(t *testing.T) {
	status := server.Readiness{Status: server.Ready}
	a := newAPI(t, server.Config{Ready: func(context.Context) server.Readiness { return status }})
	var h server.HealthStatus
	a.do("GET", "/v1/health/live", "").wantJSON(t, 200, &h)
	a.do("GET", "/v1/health/ready", "").wantJSON(t, 200, &h)
	if h.Status != "ready" {
		t.Errorf("ready = %+v", h)
	}
	status = server.Readiness{Status: server.Degraded, Reason: "http restarted"}
	p := a.do("GET", "/v1/health/ready", "").wantProblem(t, http.StatusTooManyRequests, "degraded")
	if p.Detail != "http restarted" {
		t.Errorf("degraded detail = %q", p.Detail)
	}
	status = server.Readiness{Status: server.NotReady, Reason: "sandbox_host is not running"}
	a.do("GET", "/v1/health/ready", "").wantProblem(t, http.StatusServiceUnavailable, "not_ready")
}

func TestCluster(t *testing.T) {
	a := newAPI(t, server.Config{Node: "n1", Addr: "127.0.0.1:4000"})
	var st server.ClusterStatus
	a.do("GET", "/v1/cluster/status", "").wantJSON(t, 200, &st)
	if !reflect.DeepEqual(st, server.ClusterStatus{TotalNodes: 1, ActiveNodes: 1, PendingOperations: []server.PendingOperation{}}) {
		t.Errorf("empty status = %+v", st)
	}
	a.create("s1", server.Requirements{})
	a.create("s2", server.Requirements{})
	a.do("GET", "/v1/cluster/status", "").wantJSON(t, 200, &st)
	if st.Sandboxes.Active != 2 {
		t.Errorf("status = %+v", st)
	}
	var raw map[string]any
	_ = json.Unmarshal(a.do("GET", "/v1/cluster/status", "").body, &raw)
	if _, ok := raw["total_nodes"]; !ok {
		t.Errorf("status lacks total_nodes: %v", raw)
	}
	var nodes server.NodeList
	a.do("GET", "/v1/cluster/nodes", "").wantJSON(t, 200, &nodes)
	want := server.NodeStatus{Name: "n1", Address: "127.0.0.1:4000", Status: "alive", Health: "passing", Self: true, Sandboxes: server.SandboxCounts{Active: 2}}
	if len(nodes.Nodes) != 1 || !reflect.DeepEqual(nodes.Nodes[0], want) {
		t.Errorf("nodes = %+v", nodes)
	}
	var load server.LoadDistribution
	a.do("GET", "/v1/cluster/load", "").wantJSON(t, 200, &load)
	if len(load.Nodes) != 1 || load.Nodes[0] != (server.NodeLoad{Node: "n1", Load: 2, Percentage: 100, Health: "ready"}) {
		t.Errorf("load = %+v", load)
	}
}

func TestCountsFromList(t *testing.T) {
	h := hosttest.New()
	ts := httptest.NewServer(server.New(server.Config{Sandboxes: h}))
	defer ts.Close()
	_, _ = h.Create(context.Background(), "s1", server.Requirements{})
	resp, err := ts.Client().Get(ts.URL + "/v1/cluster/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st server.ClusterStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Sandboxes.Active != 1 {
		t.Errorf("status = %+v, %v", st, err)
	}
}

func TestCacheNotConfigured(t *testing.T) {
	a := newAPI(t, server.Config{})
	a.do("GET", "/v1/cache/stats", "").wantProblem(t, http.StatusNotImplemented, "not_implemented")
	a.do("DELETE", "/v1/cache", "").wantProblem(t, http.StatusNotImplemented, "not_implemented")
	a.do("DELETE", "/v1/cache?tier=l1", "").wantProblem(t, http.StatusNotImplemented, "not_implemented")
}

func TestMemoryNotConfigured(t *testing.T) {
	a := newAPI(t, server.Config{})
	a.do("GET", "/v1/memory", "").wantProblem(t, http.StatusNotImplemented, "not_implemented")
	a.do("POST", "/v1/memory/optimize", "").wantProblem(t, http.StatusNotImplemented, "not_implemented")
}

// shrinker is a memoryoptimizer.Shrinker that counts its calls.
type shrinker struct{ calls atomic.Int32 }

func (s *shrinker) Shrink(context.Context) (int64, error) { s.calls.Add(1); return 0, nil }

// TestMemory drives the memory endpoints over a real MemoryOptimizer whose
// configured limit, 1 MiB, is far below what the process uses.
func TestMemory(t *testing.T) {
	kit := testkit.New(t, testkit.WithoutLeakCheck()) // TestMain checks
	sh := &shrinker{}
	pid := kit.Root().Spawn(memoryoptimizer.Props(memoryoptimizer.Deps{Shrinker: sh},
		memoryoptimizer.Config{Interval: -1, Limit: 1 << 20, MinSoftLimit: 4 << 30}))
	t.Cleanup(func() { _ = kit.Root().StopFuture(pid).Wait() }) // restores the soft limit
	a := newAPI(t, server.Config{Memory: memoryoptimizer.NewClient(kit.Root(), pid)})

	r := a.do("GET", "/v1/memory", "")
	var m server.MemoryStats
	r.wantJSON(t, 200, &m)
	if m.Total == 0 || m.Used == 0 || m.Used > m.Total || m.Heap == 0 || m.Stacks == 0 || m.Goroutines == 0 {
		t.Errorf("memory = %+v", m)
	}
	if m.Limit != 1<<20 || m.LimitSource != "config" || m.Utilization != float64(m.Used)/float64(m.Limit) || m.Threshold != 0.8 {
		t.Errorf("limit %d (%s), utilization %v, threshold %v; want the configured 1 MiB", m.Limit, m.LimitSource, m.Utilization, m.Threshold)
	}
	if m.TotalBytes == 0 || m.HeapObjectsBytes == 0 || m.InUseBytes > m.TotalBytes {
		t.Errorf("runtime detail = %+v", m.RuntimeMemory)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	for _, k := range []string{"total", "used", "available", "utilization", "heap", "stacks", "gc_cycles",
		"goroutines", "limit", "soft_limit", "last_actions", "total_bytes", "in_use_bytes", "heap_objects_bytes"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("GET /v1/memory lacks %q: %s", k, r.body)
		}
	}

	var o server.OptimizeResult
	a.do("POST", "/v1/memory/optimize", "").wantJSON(t, 200, &o)
	var kinds []string
	for _, act := range o.Actions {
		kinds = append(kinds, act.Kind)
	}
	if strings.Join(kinds, ",") != "soft_limit,gc,shrink" || sh.calls.Load() != 1 {
		t.Errorf("optimize did %v (%d shrinks), want soft_limit,gc,shrink", kinds, sh.calls.Load())
	}
	if o.After.GCCycles <= o.Before.GCCycles || o.After.Optimizations != 1 || o.After.SoftLimit != 4<<30 {
		t.Errorf("after the pass: %d GC cycles (before %d), %d passes, soft limit %d",
			o.After.GCCycles, o.Before.GCCycles, o.After.Optimizations, o.After.SoftLimit)
	}
	a.do("GET", "/v1/memory", "").wantJSON(t, 200, &m)
	if len(m.LastActions) != 3 || m.LastActions[2].Kind != memoryoptimizer.KindShrink {
		t.Errorf("last actions = %+v", m.LastActions)
	}
}

// TestCacheStats: the design's names (compile_cache_statistics) and each
// tier's figures, from a real cache.
func TestCacheStats(t *testing.T) {
	c, err := cache.New(cache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k", "k", "absent"} {
		_, _, _ = c.Get(ctx, k)
	}
	a := newAPI(t, server.Config{Cache: c})
	r := a.do("GET", "/v1/cache/stats", "")
	var st cache.Stats
	r.wantJSON(t, 200, &st)
	if st.TotalRequests != 3 || st.Hits != 2 || st.Misses != 1 {
		t.Errorf("requests %d, hits %d, misses %d; want 3, 2, 1", st.TotalRequests, st.Hits, st.Misses)
	}
	if st.HitRate != 2.0/3 || st.L1HitRate != 2.0/3 || st.L2HitRate != 0 || st.L3HitRate != 0 || st.MissRate != 1.0/3 {
		t.Errorf("rates = %+v", st)
	}
	l1, ok := st.Tiers["l1"]
	if !ok || l1.Hits != 2 || l1.Entries != 1 {
		t.Errorf("l1 = %+v (present %v)", l1, ok)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	for _, k := range []string{"total_requests", "hit_rate", "l1_hit_rate", "l2_hit_rate", "l3_hit_rate", "miss_rate", "tiers"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("GET /v1/cache/stats lacks %q: %s", k, r.body)
		}
	}
}

func TestMetricsRoute(t *testing.T) {
	a := newAPI(t, server.Config{Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "otpbox_up 1\n")
	})})
	if r := a.do("GET", "/metrics", ""); r.status != 200 || string(r.body) != "otpbox_up 1\n" {
		t.Errorf("/metrics = %d %s", r.status, r.body)
	}
}

// recorder is a server.Recorder that keeps what it was told.
type recorder struct {
	requests, lifecycle, executed []string
}

func (r *recorder) Request(method, route string, status int, _ time.Duration) {
	r.requests = append(r.requests, method+" "+route+" "+http.StatusText(status))
}
func (r *recorder) Lifecycle(op, result string) { r.lifecycle = append(r.lifecycle, op+" "+result) }
func (r *recorder) Executed(result, limit string, _ time.Duration) {
	r.executed = append(r.executed, result+" "+limit)
}

func TestRecorder(t *testing.T) {
	rec := &recorder{}
	h := hosttest.New()
	srv := server.New(server.Config{Sandboxes: h, Recorder: rec, AllowedHosts: []string{"example.com"}})
	send := func(method, path, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	send("POST", "/v1/sandboxes", `{"id":"s1","requirements":{"limits":{"max_steps":50}}}`)
	send("POST", "/v1/sandboxes", `{"id":"s1"}`)
	send("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`)
	send("POST", "/v1/sandboxes/s1/exec", `{"code":"[i for i in range(1000)]"}`)
	send("GET", "/v1//sandboxes", "")
	send("BREW", "/v1/sandboxes", "")
	send("DELETE", "/v1/sandboxes/s1", "")
	want := func(name string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	want("lifecycle", rec.lifecycle, "create ok", "create already_exists", "terminate ok")
	want("executed", rec.executed, "ok ", "limit_exceeded steps")
	want("requests", rec.requests,
		"POST POST /v1/sandboxes Created",
		"POST POST /v1/sandboxes Conflict",
		"POST POST /v1/sandboxes/{id}/exec OK",
		"POST POST /v1/sandboxes/{id}/exec Unprocessable Entity",
		"GET other Bad Request", // a path that is not canonical: no redirect
		"BREW other Method Not Allowed",
		"DELETE DELETE /v1/sandboxes/{id} No Content",
	)
}
