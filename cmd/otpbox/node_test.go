package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

// TestNodeCommand runs `otpbox node` with configuration from a file, the
// environment and flags, drives it over HTTP and stops it by cancelling
// its context, as the first SIGTERM does.
func TestNodeCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "otpbox.json")
	if err := os.WriteFile(file, []byte(`{"token":"from-file","node":"file-node","drain_timeout":"7s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	log := newLogWatch(`msg="node started" node=(\S+) http=(\S+)`)
	m := &Main{
		Stdout: &strings.Builder{}, Stderr: log,
		Getenv: func(k string) string {
			return map[string]string{"OTPBOX_CONFIG": file, "OTPBOX_TOKEN": "from-env", "OTPBOX_NODE": "env-node"}[k]
		},
		NodeOptions: []node.Option{node.WithHost(hosttest.New())},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"node", "--http", "127.0.0.1:0", "--admin", "off", "--data-dir", filepath.Join(dir, "data"), "--token", "from-flag"})
	}()
	var started []string
	select {
	case started = <-log.found:
	case err := <-done:
		cancel()
		t.Fatalf("node exited early: %v\n%s", err, log)
	}
	if started[1] != "env-node" {
		t.Errorf("node name = %q, want env-node (env over file)", started[1])
	}
	post := func(token string) int {
		req, _ := http.NewRequest("POST", "http://"+started[2]+"/v1/sandboxes", strings.NewReader(`{"id":"s1"}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := noKeepAlive.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("from-env"); code != http.StatusUnauthorized {
		t.Errorf("create with the env token = %d, want 401 (flag over env)", code)
	}
	if code := post("from-flag"); code != http.StatusCreated {
		t.Errorf("create with the flag token = %d, want 201", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Errorf("data dir not created: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("node after cancel = %v", err)
	}
	if !strings.Contains(log.String(), `msg="node stopped"`) || !strings.Contains(log.String(), "drain_timeout=7s") {
		t.Errorf("log:\n%s", log)
	}
}

var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func TestNodeRefusesBadConfig(t *testing.T) {
	c := newCLI(t)
	_, _, err := c.run("node", "--admin", "0.0.0.0:4001")
	if !errors.Is(err, node.ErrNotLoopback) {
		t.Errorf("non-loopback admin = %v", err)
	}
	_, _, err = c.run("node", "--consul", "127.0.0.1:8500")
	if !errors.Is(err, node.ErrInvalid) || !strings.Contains(err.Error(), "redis") {
		t.Errorf("--consul without --redis = %v", err)
	}
	_, _, err = c.run("node", "--redis", "http://127.0.0.1:6379")
	if !errors.Is(err, node.ErrInvalid) {
		t.Errorf("--redis http:// = %v", err)
	}
	c.env["OTPBOX_DRAIN_TIMEOUT"] = "soon"
	if _, _, err = c.run("node"); err == nil || !strings.Contains(err.Error(), "OTPBOX_DRAIN_TIMEOUT") {
		t.Errorf("bad env = %v", err)
	}
	delete(c.env, "OTPBOX_DRAIN_TIMEOUT")
	if _, _, err = c.run("node", "--config", filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing config file accepted")
	}
	var usageErr *UsageError
	if _, _, err = c.run("node", "extra"); !errors.As(err, &usageErr) {
		t.Errorf("node with an argument = %v", err)
	}
}
