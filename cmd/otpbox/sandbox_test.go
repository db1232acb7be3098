package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/api"
)

func TestSandboxCommands(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)

	out := c.ok("sandbox", "create", "s1", "--max-steps", "5000")
	if !strings.Contains(out, "s1") || !strings.Contains(out, "active") || !strings.Contains(out, "Requirements  max steps 5000") {
		t.Errorf("create printed:\n%s", out)
	}
	var info api.Info
	decode(t, c.ok("sandbox", "create", "--json", "--requirements", `{"memory_limit":4096}`, "s2"), &info)
	if info.ID != "s2" || info.Requirements.MemoryLimit != 4096 {
		t.Errorf("create --json = %+v", info)
	}

	if out := c.ok("sandbox", "exec", "s1", "1 + 1"); out != "2\n" {
		t.Errorf("exec 1 + 1 printed %q", out)
	}
	if out := c.ok("sandbox", "exec", "s1", "x = 21\nprint('x is', x)"); out != "x is 21\n" {
		t.Errorf("exec with print printed %q", out)
	}
	c.stdin = "x * 2\n"
	if out := c.ok("sandbox", "exec", "s1"); out != "42\n" {
		t.Errorf("exec from stdin printed %q", out)
	}
	c.stdin = ""
	var res api.Result
	decode(t, c.ok("sandbox", "exec", "s1", "--json", "3 * 3"), &res) // a flag after the id
	if res.Value != "9" || res.Steps == 0 {
		t.Errorf("exec --json = %+v", res)
	}
	if out := c.ok("sandbox", "exec", "s1", "--", "-1"); out != "-1\n" {
		t.Errorf("exec -- -1 printed %q", out)
	}

	out = c.ok("sandbox", "ls")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Errorf("ls printed:\n%s", out)
	}
	var list api.SandboxList
	decode(t, c.ok("sandbox", "ls", "--json", "--node", "node1"), &list)
	if len(list.Sandboxes) != 2 {
		t.Errorf("ls --json = %+v", list)
	}
	if out := c.ok("sandbox", "info", "s1"); !strings.Contains(out, "Executions") || !strings.Contains(out, "5") || !strings.Contains(out, "Journal       5 entries, ") {
		t.Errorf("info printed:\n%s", out)
	}
	c.ok("sandbox", "restart", "s1")
	if out := c.ok("sandbox", "restarts", "s1"); !strings.Contains(out, "restart requested") {
		t.Errorf("restarts printed:\n%s", out)
	}
	if out := c.ok("sandbox", "trace", "s1"); !strings.Contains(out, "<0.2.0>  call  x * 2") {
		t.Errorf("trace printed:\n%s", out)
	}
	decode(t, c.ok("sandbox", "migrate", "s2", "node2", "--json"), &info)
	if info.Node != "node2" {
		t.Errorf("migrate --json = %+v", info)
	}
	want := "root (supervisor, one_for_one) running\n└── session (worker) running state=0\n"
	if out := c.ok("sandbox", "tree", "s1"); out != want {
		t.Errorf("tree printed:\n%s\nwant:\n%s", out, want)
	}
	if out := c.ok("sandbox", "rm", "s1"); out != "removed sandbox s1\n" {
		t.Errorf("rm printed %q", out)
	}
	_, _, err := c.run("sandbox", "info", "s1")
	if statusOf(err) != 404 || !strings.Contains(err.Error(), "Sandbox not found (404)") {
		t.Errorf("info after rm = %v", err)
	}
}

func TestSandboxErrorsShowTheProblem(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	c.ok("sandbox", "create", "s1")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sandbox", "create", "s1"}, "Sandbox already exists (409)"},
		{[]string{"sandbox", "create", "bad id"}, "Invalid sandbox id (400)"},
		{[]string{"sandbox", "exec", "s1", "1 +"}, "Syntax error (422)"},
		{[]string{"sandbox", "exec", "s1", "1 // 0"}, "Runtime error (422)"},
		{[]string{"sandbox", "exec", "nope", "1"}, "Sandbox not found (404)"},
		{[]string{"sandbox", "migrate", "s1", "mars"}, "Unknown node (422)"},
		{[]string{"cache", "stats"}, "Not implemented (501): server: not implemented: cache not configured"},
	} {
		_, _, err := c.run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("otpbox %s = %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	c.ok("sandbox", "create", "tight", "--max-steps", "100")
	_, _, err := c.run("sandbox", "exec", "tight", "[i for i in range(1000)]")
	if err == nil || !strings.Contains(err.Error(), "[limit steps]") {
		t.Errorf("limit error = %v", err)
	}
}

func TestToken(t *testing.T) {
	n := newNode(t, "s3cret")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	_, _, err := c.run("sandbox", "create", "s1")
	if statusOf(err) != 401 || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("create without token = %v", err)
	}
	c.ok("sandbox", "create", "s1", "--token", "s3cret")
	c.env["OTPBOX_TOKEN"] = "s3cret"
	c.ok("sandbox", "rm", "s1")
}

func TestClusterCommands(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t)
	c.ok("sandbox", "create", "s1", "--addr", n.url)
	if out := c.ok("cluster", "status", "--addr", n.url); !strings.Contains(out, "1 total, 1 active") || !strings.Contains(out, "1 active, 0 passivated") {
		t.Errorf("cluster status printed:\n%s", out)
	}
	var st api.ClusterStatus
	decode(t, c.ok("cluster", "status", "--addr", n.url, "--json"), &st)
	if st.TotalNodes != 1 || st.Sandboxes.Active != 1 {
		t.Errorf("cluster status --json = %+v", st)
	}
	if out := c.ok("cluster", "nodes", "--addr", n.url); !strings.Contains(out, "node1 (self)") || !strings.Contains(out, "alive") {
		t.Errorf("cluster nodes printed:\n%s", out)
	}
	if out := c.ok("cluster", "load", "--addr", n.url); !strings.Contains(out, "100.0%") || !strings.Contains(out, "ready") {
		t.Errorf("cluster load printed:\n%s", out)
	}
}

func TestUsage(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{}, ExitUsage},
		{[]string{"frobnicate"}, ExitNoCommand},
		{[]string{"sandbox"}, ExitUsage},
		{[]string{"sandbox", "frobnicate"}, ExitNoCommand},
		{[]string{"sandbox", "create"}, ExitUsage},
		{[]string{"sandbox", "create", "a", "b"}, ExitUsage},
		{[]string{"sandbox", "create", "a", "--memory-limit", "lots"}, ExitUsage},
		{[]string{"sandbox", "create", "a", "--max-duration", "5"}, ExitUsage},
		{[]string{"sandbox", "migrate", "a"}, ExitUsage},
		{[]string{"sandbox", "ls", "--json", "--format", "{{.ID}}"}, ExitUsage},
		{[]string{"sandbox", "ls", "--format", "{{.ID"}, ExitUsage},
		{[]string{"sandbox", "exec", "s1", "1", "--bogus"}, ExitUsage},
		{[]string{"cluster", "everything"}, ExitNoCommand},
		{[]string{"cache", "flush"}, ExitNoCommand},
		{[]string{"memory", "shrink"}, ExitNoCommand},
		{[]string{"help", "nosuch"}, ExitNoCommand},
		{[]string{"help", "sandbox", "exc"}, ExitNoCommand},
		{[]string{"bench", "--levels", "10,ten"}, ExitUsage},
		{[]string{"repl"}, ExitUsage},
		{[]string{"sandbox", "ls", "--addr", "ftp://x"}, ExitUsage},
	} {
		_, _, err := c.run(tc.args...)
		var stderr strings.Builder
		if code := (&Main{Stderr: &stderr}).Exit(err); code != tc.code {
			t.Errorf("otpbox %s: exit %d (%v), want %d", strings.Join(tc.args, " "), code, err, tc.code)
		}
		if !strings.HasPrefix(stderr.String(), "otpbox: ") || !strings.Contains(stderr.String(), "--help") {
			t.Errorf("otpbox %s printed %q", strings.Join(tc.args, " "), stderr.String())
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"sandbox", "-h"}, {"sandbox", "exec", "-h"}, {"node", "-h"}, {"help", "cluster", "drain"}} {
		out, errOut, err := c.run(args...)
		if err != nil || !strings.Contains(out, "Usage:") || errOut != "" {
			t.Errorf("otpbox %s = %v, stdout %q, stderr %q: want help on stdout", strings.Join(args, " "), err, out, errOut)
		}
	}
	if _, _, err := c.run("sandbox", "ls", "--addr", "ftp://x"); err == nil || !strings.Contains(err.Error(), "invalid node address") {
		t.Errorf("bad --addr = %v", err)
	}
}

func TestVersion(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("version"); !strings.HasPrefix(out, "otpbox dev (revision ") {
		t.Errorf("version printed %q", out)
	}
	var v map[string]string
	decode(t, c.ok("version", "--json"), &v)
	if v["version"] != "dev" || v["go_version"] == "" {
		t.Errorf("version --json = %v", v)
	}
}

// statusOf returns the HTTP status of an *api.Error in err's chain, or 0.
func statusOf(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
