package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otpbox/otpbox/testkit"
)

// e2eHTTP keeps no idle connection (nor its goroutines) to the node.
var e2eHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// e2eCall sends a request to the node and decodes a JSON answer into v
// (when v is not nil); it returns the status and the body.
func e2eCall(p *process, method, path, body string, v any) (int, string, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+p.http+path, r)
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e2eHTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", err
	}
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, v); err != nil {
			return resp.StatusCode, string(b), fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return resp.StatusCode, string(b), nil
}

// mustCall is e2eCall that fails the test unless the status is want.
func mustCall(t *testing.T, p *process, method, path, body string, want int, v any) string {
	t.Helper()
	code, b, err := e2eCall(p, method, path, body, v)
	if err != nil || code != want {
		t.Fatalf("%s %s = %d %s (%v), want %d", method, path, code, b, err, want)
	}
	return b
}

// execBody is the body of POST /v1/sandboxes/{id}/exec running code.
func execBody(code string) string {
	b, _ := json.Marshal(map[string]string{"code": code})
	return string(b)
}

// memoryView is the part of GET /v1/memory the test reads.
type memoryView struct {
	Used          uint64  `json:"used"`
	Limit         uint64  `json:"limit"`
	LimitSource   string  `json:"limit_source"`
	Utilization   float64 `json:"utilization"`
	Threshold     float64 `json:"threshold"`
	Optimizations uint64  `json:"optimizations"`
	LastActions   []struct {
		Kind   string `json:"kind"`
		Detail string `json:"detail"`
	} `json:"last_actions"`
}

// stopNode sends SIGTERM and waits for a clean exit.
func stopNode(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.await(t, regexp.MustCompile(`msg="node stopped"`))
	if err := p.wait(); err != nil {
		t.Errorf("node exit after SIGTERM = %v, want status 0", err)
	}
}

// TestMemoryPressureEndToEnd runs a real node whose --memory-limit is
// twice what it uses at rest, fills sandboxes with state worth 0.75 of
// the limit, and waits for the MemoryOptimizer (checking every
// 100 ms) to passivate idle ones. The node stays ready and every
// sandbox's globals are intact on its next call.
//
// The limit is measured, not guessed: a first node with the same flags
// reports what it uses at rest right after a GC, so utilization starts
// near 0.5 (more with the garbage of a running node) and the sandboxes'
// state, 0.75 of the limit, pushes it well over the 0.8 threshold on any
// machine. The live heap stays under the optimizer's floor for the Go soft
// limit (64 MiB), so the GC does not thrash.
func TestMemoryPressureEndToEnd(t *testing.T) {
	bin := binary(t)
	common := []string{"--admin", "off", "--drain-timeout", "10s", "--l1-cache-size", "1MiB"}

	p := startNode(t, bin, t.TempDir(), common...)
	var pass struct{ After memoryView }
	mustCall(t, p, "POST", "/v1/memory/optimize", "", http.StatusOK, &pass) // GC first: the floor
	stopNode(t, p)
	rest := pass.After
	if rest.Used == 0 {
		t.Fatalf("the node reports no memory in use: %+v", rest)
	}
	limit := 2 * rest.Used
	const sandboxes = 8
	per := int(limit*3/4) / sandboxes // bytes of state per sandbox: 0.75 × limit in all
	t.Logf("at rest the node uses %d bytes: --memory-limit %d, %d sandboxes of %d bytes", rest.Used, limit, sandboxes, per)

	p = startNode(t, bin, t.TempDir(), append(common, "--memory-limit", strconv.FormatUint(limit, 10),
		"--memory-gc-threshold", "0.8", "--memory-check-interval", "100ms")...)
	var m memoryView
	mustCall(t, p, "GET", "/v1/memory", "", http.StatusOK, &m)
	if m.Limit != limit || m.LimitSource != "config" || m.Threshold != 0.8 {
		t.Fatalf("memory limit %d (%s), threshold %v; want --memory-limit %d, 0.8", m.Limit, m.LimitSource, m.Threshold, limit)
	}
	t.Logf("started at utilization %.2f", m.Utilization)

	start := time.Now()
	for i := range sandboxes {
		id := fmt.Sprintf("p%d", i)
		mustCall(t, p, "POST", "/v1/sandboxes", fmt.Sprintf(`{"id":%q,"requirements":{"limits":{"max_heap_bytes":%d}}}`, id, 2*per+1<<20),
			http.StatusCreated, nil)
		mustCall(t, p, "POST", "/v1/sandboxes/"+id+"/exec", execBody(fmt.Sprintf("tag = %q\nblob = \"x\" * %d", id, per)),
			http.StatusOK, nil)
	}

	// The optimizer passivates idle sandboxes (poll to a deadline).
	passivated := func() (n int, err error) {
		var list struct {
			Sandboxes []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"sandboxes"`
		}
		code, b, err := e2eCall(p, "GET", "/v1/sandboxes", "", &list)
		if err != nil || code != http.StatusOK {
			return 0, fmt.Errorf("list = %d %s: %v", code, b, err)
		}
		if len(list.Sandboxes) != sandboxes {
			return 0, fmt.Errorf("%d sandboxes listed, want %d", len(list.Sandboxes), sandboxes)
		}
		for _, s := range list.Sandboxes {
			if s.State == "passivated" {
				n++
			}
		}
		return n, nil
	}
	var actions []string
	testkit.Eventually(t, 30*time.Second, func() error {
		n, err := passivated()
		if err != nil {
			return err
		}
		var m memoryView
		if code, b, err := e2eCall(p, "GET", "/v1/memory", "", &m); err != nil || code != http.StatusOK {
			return fmt.Errorf("memory = %d %s: %v", code, b, err)
		}
		actions = actions[:0]
		for _, a := range m.LastActions {
			if a.Kind == "passivate" {
				actions = append(actions, a.Detail)
			}
		}
		if n == 0 || len(actions) == 0 {
			return fmt.Errorf("%d sandboxes passivated, passivate actions %q; utilization %.2f, %d passes",
				n, actions, m.Utilization, m.Optimizations)
		}
		return nil
	})
	n, _ := passivated()
	t.Logf("after %v: %d of %d sandboxes passivated by %q", time.Since(start).Round(time.Millisecond), n, sandboxes, actions)

	mustCall(t, p, "GET", "/v1/health/ready", "", http.StatusOK, nil)
	for i := range sandboxes {
		id := fmt.Sprintf("p%d", i)
		var res struct {
			Value string `json:"value"`
		}
		mustCall(t, p, "POST", "/v1/sandboxes/"+id+"/exec", execBody(`tag + ":" + str(len(blob))`), http.StatusOK, &res)
		if want := strconv.Quote(fmt.Sprintf("%s:%d", id, per)); res.Value != want {
			t.Errorf("%s: globals read %s, want %s", id, res.Value, want)
		}
	}
	mustCall(t, p, "GET", "/v1/health/ready", "", http.StatusOK, nil)
	stopNode(t, p)
}
