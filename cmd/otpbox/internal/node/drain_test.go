package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// blocking is a builtin that blocks its sandbox until the test releases
// it, ignoring every limit: a stuck sandbox.
func blocking(t *testing.T) (starlark.StringDict, <-chan struct{}) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() { close(release) })
	b := starlark.NewBuiltin("block", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		entered <- struct{}{}
		<-release
		return starlark.None, nil
	})
	return starlark.StringDict{"block": b}, entered
}

// TestDrainKeepsItsDeadline is the issue's "shutdown overruns
// --drain-timeout when a sandbox is stuck (5 s → 35 s, exit 1), and the
// in-flight request's connection is closed without an answer": the node
// stops within its deadline without error (exit 0), the stuck request is
// answered 503 shutting_down, and the work acknowledged before is in the
// journal when the node starts again.
func TestDrainKeepsItsDeadline(t *testing.T) {
	builtins, entered := blocking(t)
	cfg := testConfig(t)
	cfg.DrainTimeout = node.Duration{Duration: 3 * time.Second}
	n, err := node.Start(cfg, quiet(), node.WithBuiltins(builtins))
	if err != nil {
		t.Fatal(err)
	}
	want(t, n, "POST", "/v1/sandboxes", `{"id":"stuck","requirements":{"limits":{"max_duration":20000000000}}}`, http.StatusCreated, nil)
	want(t, n, "POST", "/v1/sandboxes", `{"id":"idle"}`, http.StatusCreated, nil)
	execute(t, n, "stuck", "x = 1")
	execute(t, n, "idle", "y = 2")

	type answer struct {
		status int
		body   string
	}
	answered := make(chan answer, 1)
	go func() {
		code, _, body := call(t, n, "POST", "/v1/sandboxes/stuck/exec", `{"code":"x = 2\nblock()"}`)
		answered <- answer{code, body}
	}()
	<-entered // the execution runs, and will not end on its own

	// What Run does on SIGTERM: Shutdown within the drain timeout.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout.Duration)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stuck sandbox = %v, want nil (the deadline kept, all acknowledged work durable)", err)
	}
	a := <-answered
	var p server.Problem
	if a.status != http.StatusServiceUnavailable || json.Unmarshal([]byte(a.body), &p) != nil || p.Kind() != "shutting_down" {
		t.Fatalf("the in-flight request got %d %s, want 503 shutting_down", a.status, a.body)
	}

	// The acknowledged executions are durable; the abandoned one is not.
	again, _ := startReal(t, cfg)
	if got := execute(t, again, "stuck", "x"); got != "1" {
		t.Errorf("after restart x = %s, want 1 (the abandoned execution is not kept)", got)
	}
	if got := execute(t, again, "idle", "y"); got != "2" {
		t.Errorf("after restart y = %s, want 2", got)
	}
}
