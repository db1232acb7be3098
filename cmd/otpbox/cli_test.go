package main

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

func TestFormatAndJSON(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	c.ok("sandbox", "create", "s1")
	c.ok("sandbox", "create", "s2", "--memory-limit", "32MiB", "--max-duration", "2s", "--max-output", "64KiB", "--cpu-limit", "500m")
	if out := c.ok("sandbox", "ls", "--format", "{{.ID}}:{{.State}}"); out != "s1:active\ns2:active\n" {
		t.Errorf("ls --format printed %q", out)
	}
	out := c.ok("sandbox", "info", "s2", "--format", "{{.Requirements.MemoryLimit}} {{.Requirements.Limits.MaxDuration}} {{.Requirements.Limits.MaxOutputBytes}} {{.Requirements.CPULimit}}")
	if out != "33554432 2s 65536 500\n" {
		t.Errorf("human units reached the node as %q", out)
	}
	// The node keeps the requirements it resolved: the defaults fill in
	// what the create left out, and memory_limit is the heap limit.
	if out := c.ok("sandbox", "info", "s2"); !strings.Contains(out, "Requirements  memory limit 32 MiB, cpu limit 500m, max steps 1000000, max duration 2s, max code 64 KiB, max output 64 KiB, max globals 1024, max heap 32 MiB, max actors 64, max mailbox 1024\n") {
		t.Errorf("info printed:\n%s", out)
	}
	if out := c.ok("sandbox", "info", "s1", "--format", "{{json .Requirements.Limits}}"); !strings.Contains(out, `"max_steps":1000000`) {
		t.Errorf("--format json printed %q", out)
	}
	// Flags with one dash, as Go's flag package and Consul accept them.
	var info api.Info
	decode(t, c.ok("sandbox", "info", "s1", "-json"), &info)
	if info.ID != "s1" {
		t.Errorf("-json printed %+v", info)
	}
	if out := c.ok("sandbox", "exec", "s1", "-format={{.Value}}", "6 * 7"); out != "42\n" {
		t.Errorf("-format= printed %q", out)
	}
	if out := c.ok("sandbox", "rm", "s1", "s2"); out != "removed sandbox s1\nremoved sandbox s2\n" {
		t.Errorf("rm printed %q", out)
	}
}

func TestNoNodeHint(t *testing.T) {
	c := newCLI(t, "OTPBOX_ADDR", "http://127.0.0.1:1") // nothing listens on port 1
	_, _, err := c.run("sandbox", "exec", "s1", "1")
	var none *NoNodeError
	if !errors.As(err, &none) {
		t.Fatalf("err = %v, want a *NoNodeError", err)
	}
	for _, want := range []string{"exec in sandbox s1: ", "no node answers at http://127.0.0.1:1", `start one with "otpbox node"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func TestTypoSuggestions(t *testing.T) {
	c := newCLI(t)
	for args, want := range map[string]string{
		"sandbx":       `did you mean "sandbox"?`,
		"sandbox exc":  `did you mean "exec" or "exit"?`,
		"cluster stat": `did you mean "status"?`,
		"memory optim": `did you mean "optimize"?`,
	} {
		_, _, err := c.run(strings.Fields(args)...)
		var unknown *UnknownCommandError
		if !errors.As(err, &unknown) || !strings.Contains(err.Error(), want) {
			t.Errorf("otpbox %s = %v, want %s", args, err, want)
		}
	}
}

func TestCompletion(t *testing.T) {
	c := newCLI(t)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := c.ok("completion", shell); !strings.Contains(out, "otpbox") || len(out) < 500 {
			t.Errorf("completion %s printed %d bytes", shell, len(out))
		}
	}
	// Sandbox ids complete from the node's list.
	n := newNode(t, "")
	nc := newCLI(t, "OTPBOX_ADDR", n.url)
	nc.ok("sandbox", "create", "alpha")
	out := nc.ok("__complete", "sandbox", "exec", "")
	if !strings.Contains(out, "alpha\tactive on node1") {
		t.Errorf("completion of sandbox ids:\n%s", out)
	}
}

func TestHealthCommands(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	if out := c.ok("health", "live"); out != "ok\n" {
		t.Errorf("health live printed %q", out)
	}
	if out := c.ok("health", "ready"); out != "ready\n" {
		t.Errorf("health ready printed %q", out)
	}
	if out := c.ok("health", "ready", "--json"); !strings.Contains(out, `"status": "ready"`) {
		t.Errorf("health ready --json printed %q", out)
	}
	degraded := httptest.NewServer(server.New(server.Config{Sandboxes: hosttest.New(),
		Ready: func(context.Context) server.Readiness {
			return server.Readiness{Status: server.Degraded, Reason: "cache tier l3 degraded"}
		}}))
	defer degraded.Close()
	out, _, err := newCLI(t, "OTPBOX_ADDR", degraded.URL).run("health", "ready")
	if out != "degraded: cache tier l3 degraded\n" || err == nil || (&Main{Stderr: io.Discard}).Exit(err) != ExitError {
		t.Errorf("health ready on a degraded node printed %q, %v", out, err)
	}
}

func TestTokenNeverInHelp(t *testing.T) {
	c := newCLI(t, "OTPBOX_TOKEN", "s3cret")
	if out := c.ok("sandbox", "ls", "--help"); strings.Contains(out, "s3cret") {
		t.Errorf("help shows the token:\n%s", out)
	}
}
