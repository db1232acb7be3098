package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/testkit"
)

// TestAPIContract drives a real node in process (sandbox host, bolt store,
// cache, memory optimizer, the performance actors) through the public api
// client, and decodes every answer strictly into the api package's types:
// a field the node sends that api lacks fails the test.
func TestAPIContract(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	cfg := node.DefaultConfig()
	cfg.HTTPAddr, cfg.AdminAddr, cfg.DataDir = "127.0.0.1:0", "off", t.TempDir()
	n, err := node.Start(cfg, node.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, err := api.NewClient(&api.Config{Address: n.HTTPAddr(), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	info, err := c.Sandboxes().Create(ctx, "s1", api.Requirements{MemoryLimit: 32 << 20, Limits: api.Limits{MaxDuration: 2 * time.Second, MaxSteps: 5000}})
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "s1" || info.State != api.StateActive || info.Requirements.Limits.MaxDuration != 2*time.Second {
		t.Errorf("created %+v", info)
	}
	code := `
def init(args):
    return 0
def handle_call(msg, state):
    return (state + 1, state + 1)
def handle_cast(msg, state):
    fail("boom")
sup = start_supervisor(supervisor(strategy="one_for_one", children=[{"id": "c", "start": worker(init=init, handle_call=handle_call, handle_cast=handle_cast)}]))
call(whereis(sup, "c"), "inc")
`
	res, err := c.Sandboxes().Exec(ctx, "s1", code)
	if err != nil || res.Value != "1" || res.Steps == 0 {
		t.Fatalf("exec = %+v, %v", res, err)
	}
	if _, err := c.Sandboxes().Exec(ctx, "s1", `cast(whereis(sup, "c"), "crash")`); err != nil {
		t.Fatal(err)
	}
	// The problems the node sends are typed errors.
	_, err = c.Sandboxes().Exec(ctx, "s1", "1 +")
	var perr *api.Error
	if !errors.As(err, &perr) || perr.Kind != api.ErrSyntax || perr.Line != 1 || perr.StatusCode != 422 {
		t.Errorf("syntax error = %#v", err)
	}
	_, err = c.Sandboxes().Exec(ctx, "s1", "[i for i in range(100000)]")
	if !errors.As(err, &perr) || perr.Kind != api.ErrLimitExceeded || perr.Limit != "steps" {
		t.Errorf("limit error = %#v", err)
	}
	_, err = c.Sandboxes().Exec(ctx, "s1", "fail('x')")
	if !errors.As(err, &perr) || perr.Kind != api.ErrRuntime || perr.Backtrace == "" {
		t.Errorf("runtime error = %#v", err)
	}
	if _, err := c.Sandboxes().Info(ctx, "nope"); !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("info of an unknown sandbox = %v, want not_found naming the id", err)
	}
	if _, err := c.Sandboxes().Create(ctx, "s1", api.Requirements{}); !errors.Is(err, api.ErrAlreadyExists) || !strings.Contains(err.Error(), `"s1"`) {
		t.Errorf("create twice = %v", err)
	}
	if _, err := c.Cluster().Drain(ctx, "elsewhere"); !errors.Is(err, api.ErrNotImplemented) {
		t.Errorf("drain on a single node = %v, want not_implemented (501)", err)
	}
	if err := c.Cache().Clear(ctx, api.TierL3); !errors.Is(err, api.ErrTierNotConfigured) {
		t.Errorf("clear l3 without redis = %v", err)
	}

	// Every GET answer decodes strictly into its api type.
	for path, v := range map[string]any{
		"/v1/sandboxes":             &api.SandboxList{},
		"/v1/sandboxes/s1":          &api.Info{},
		"/v1/sandboxes/s1/tree":     &api.Tree{},
		"/v1/sandboxes/s1/restarts": &api.RestartList{},
		"/v1/sandboxes/s1/trace":    &api.TraceList{},
		"/v1/cluster/status":        &api.ClusterStatus{},
		"/v1/cluster/nodes":         &api.NodeList{},
		"/v1/cluster/load":          &api.LoadDistribution{},
		"/v1/cluster/scaling":       &struct{ Operations []api.ScalingOperation }{},
		"/v1/cache/stats":           &api.CacheStats{},
		"/v1/memory":                &api.MemoryStats{},
	} {
		strict(t, hc, "GET", "http://"+n.HTTPAddr()+path, v)
	}
	for path, v := range map[string]any{
		"/v1/cluster/rebalance":    &api.RebalanceResult{},
		"/v1/memory/optimize":      &api.OptimizeResult{},
		"/v1/cluster/optimal-node": &struct{ Node string }{},
	} {
		strict(t, hc, "POST", "http://"+n.HTTPAddr()+path, v)
	}

	// And through the client, with the values a user reads.
	tree, err := c.Sandboxes().Tree(ctx, "s1")
	if err != nil || tree.Root == nil || len(tree.Root.Children) != 1 {
		t.Errorf("tree = %+v, %v", tree, err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		recs, err := c.Sandboxes().Restarts(ctx, "s1")
		if err == nil && len(recs) == 0 {
			err = errors.New("no restart recorded yet")
		}
		return err
	})
	if trace, err := c.Sandboxes().Trace(ctx, "s1"); err != nil || len(trace) == 0 {
		t.Errorf("trace = %v, %v", trace, err)
	}
	st, err := c.Cluster().Status(ctx)
	if err != nil || st.TotalNodes != 1 || st.Sandboxes.Active != 1 {
		t.Errorf("status = %+v, %v", st, err)
	}
	nodes, err := c.Cluster().Nodes(ctx)
	if err != nil || len(nodes) != 1 || !nodes[0].Self {
		t.Errorf("nodes = %+v, %v", nodes, err)
	}
	if d, err := c.Cluster().Load(ctx); err != nil || d.Strategy != "weighted_round_robin" {
		t.Errorf("load = %+v, %v", d, err)
	}
	if best, err := c.Cluster().OptimalNode(ctx, api.NodeRequirements{}); err != nil || best != cfg.Node {
		t.Errorf("optimal node = %q, %v; want %q", best, err, cfg.Node)
	}
	if ops, err := c.Cluster().Scaling(ctx); err != nil || ops == nil {
		t.Errorf("scaling = %v, %v", ops, err)
	}
	if cs, err := c.Cache().Stats(ctx); err != nil || cs.Tiers[api.TierL1].Entries < 0 {
		t.Errorf("cache stats = %+v, %v", cs, err)
	}
	if err := c.Cache().Clear(ctx, ""); err != nil {
		t.Errorf("clear = %v", err)
	}
	if m, err := c.Memory().Stats(ctx); err != nil || m.Limit == 0 || m.Used == 0 {
		t.Errorf("memory = %+v, %v", m, err)
	}
	if r, err := c.Memory().Optimize(ctx); err != nil || len(r.Actions) == 0 {
		t.Errorf("optimize = %+v, %v", r, err)
	}
	if err := c.Health().Live(ctx); err != nil {
		t.Error(err)
	}
	if r, err := c.Health().Ready(ctx); err != nil || r.Status == api.NotReady {
		t.Errorf("ready = %+v, %v", r, err)
	}
	info, err = c.Sandboxes().Restart(ctx, "s1")
	if err != nil || info.Executions != 0 {
		t.Errorf("restart = %+v, %v", info, err)
	}
	if _, err := c.Sandboxes().Migrate(ctx, "s1", cfg.Node); err != nil {
		t.Errorf("migrate to itself = %v", err)
	}
	if err := c.Sandboxes().Terminate(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Sandboxes().List(ctx, nil); err != nil || len(l) != 0 {
		t.Errorf("list after terminate = %v, %v", l, err)
	}
}

// strict sends method url and decodes the 200 answer into v, refusing
// unknown fields.
func strict(t *testing.T, hc *http.Client, method, url string, v any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Errorf("%s %s = %d %s", method, url, resp.StatusCode, b)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s %s: the answer does not fit %s: %v\n%s", method, url, reflect.TypeOf(v).Elem(), err, b)
	}
}
