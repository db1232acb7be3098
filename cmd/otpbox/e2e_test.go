package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otpbox/otpbox/testkit"
)

// binary builds otpbox once per test.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "otpbox")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running `otpbox node`.
type process struct {
	cmd    *exec.Cmd
	http   string
	admin  string
	lines  chan string // stderr, line by line, until it closes
	exited chan error
}

var started = regexp.MustCompile(`msg="node started" .*http=(\S+) admin=(\S+)`)

// startNode starts `otpbox node` on a free port with its data in dir.
func startNode(t *testing.T, bin, dir string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"node", "--http", "127.0.0.1:0", "--data-dir", dir}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan string, 100), exited: make(chan error, 1)}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			p.lines <- s.Text()
		}
		close(p.lines)
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range p.lines {
		}
	})
	m := p.await(t, started)
	p.http, p.admin = m[1], strings.Trim(m[2], `"`)
	return p
}

// await returns the first stderr line matching re.
func (p *process) await(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	for line := range p.lines {
		if m := re.FindStringSubmatch(line); m != nil {
			return m
		}
	}
	t.Fatalf("node exited before logging %s: %v", re, <-p.exited)
	return nil
}

// wait waits for the process to exit, draining its log.
func (p *process) wait() error {
	for range p.lines {
	}
	return <-p.exited
}

// TestEndToEnd builds the binary, starts a node, drives it with the CLI,
// stops it with SIGTERM while executions stream in, and starts it again on
// the same data directory: every acknowledged execution is there.
func TestEndToEnd(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	p := startNode(t, bin, dir, "--admin", "off", "--drain-timeout", "10s")
	cli := func(p *process, args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--addr", "http://"+p.http)...).CombinedOutput()
		if err != nil {
			t.Fatalf("otpbox %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := cli(p, "cluster", "status", "--json"); !strings.Contains(out, `"total_nodes": 1`) {
		t.Errorf("cluster status:\n%s", out)
	}
	cli(p, "sandbox", "create", "s1")
	if out := cli(p, "sandbox", "exec", "s1", "x = 1"); out != "" {
		t.Errorf("exec x = 1 printed %q", out)
	}
	if out := cli(p, "sandbox", "exec", "s1", "x + 1"); out != "2\n" {
		t.Errorf("exec x + 1 printed %q", out)
	}
	if out := cli(p, "sandbox", "tree", "s1"); out != "no supervision trees\n" {
		t.Errorf("tree of a sandbox without trees:\n%s", out)
	}
	cli(p, "sandbox", "exec", "s1", counterSupervisor)
	if out := cli(p, "sandbox", "exec", "s1", `call(whereis(sup, "c"), "inc")`); out != "1\n" {
		t.Errorf("call printed %q", out)
	}
	treeLine := regexp.MustCompile(`(?m)^    └── c \(worker\) running state=1$`)
	if out := cli(p, "sandbox", "tree", "s1"); !treeLine.MatchString(out) || !strings.HasPrefix(out, "root (supervisor, one_for_one) running\n") {
		t.Errorf("tree printed:\n%s", out)
	}
	if out := cli(p, "sandbox", "trace", "s1"); !strings.Contains(out, "call") {
		t.Errorf("trace printed:\n%s", out)
	}
	resp, err := http.Get("http://" + p.http + "/v1/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("ready = %d", resp.StatusCode)
	}

	// Executions stream into a few sandboxes; SIGTERM arrives in the
	// middle. A worker stops at its first refusal.
	const workers, before = 4, 20
	for w := range workers {
		cli(p, "sandbox", "create", fmt.Sprintf("w%d", w))
		cli(p, "sandbox", "exec", fmt.Sprintf("w%d", w), "l = []")
	}
	acked := make([]int, workers) // executions acknowledged, l.append(0) … l.append(acked-1)
	reached := make(chan error, workers)
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("http://%s/v1/sandboxes/w%d/exec", p.http, w)
			for i := 0; ; i++ {
				resp, err := hc.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"code":"l.append(%d)"}`, i)))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					if i < before {
						reached <- fmt.Errorf("worker %d: execution %d failed before SIGTERM: %v %v", w, i, err, resp)
					}
					return
				}
				acked[w] = i + 1
				if i+1 == before {
					reached <- nil
				}
			}
		}()
	}
	for range workers {
		if err := <-reached; err != nil {
			t.Fatal(err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	p.await(t, regexp.MustCompile(`msg="node stopped"`))
	if err := p.wait(); err != nil {
		t.Errorf("node exit after SIGTERM = %v, want status 0", err)
	}

	t.Logf("acknowledged before the node stopped: %v", acked)

	// The same data directory, a new process: nothing acknowledged is lost.
	p = startNode(t, bin, dir, "--admin", "off", "--drain-timeout", "10s")
	if out := cli(p, "sandbox", "exec", "s1", "x"); out != "1\n" {
		t.Errorf("x after the restart printed %q", out)
	}
	for w := range workers {
		out := cli(p, "sandbox", "exec", fmt.Sprintf("w%d", w), "l")
		var l []int
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("w%d: l = %q: %v", w, out, err)
		}
		// Every acknowledged append is there, in order; one more may be
		// there if its answer was lost in the shutdown.
		if len(l) < acked[w] || len(l) > acked[w]+1 {
			t.Errorf("w%d: %d entries after the restart, %d acknowledged", w, len(l), acked[w])
		}
		for i, v := range l {
			if v != i {
				t.Errorf("w%d: l[%d] = %d: %v", w, i, v, l)
				break
			}
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.await(t, regexp.MustCompile(`msg="node stopped"`))
	if err := p.wait(); err != nil {
		t.Errorf("second node exit after SIGTERM = %v, want status 0", err)
	}
}

// counterSupervisor starts a one_for_one supervisor over a Starlark
// gen_server "c" whose calls count.
const counterSupervisor = `
def init(args):
    return 0

def handle_call(msg, state):
    return (state + 1, state + 1)

counter = worker(init=init, handle_call=handle_call)
sup = start_supervisor(supervisor(strategy="one_for_one", children=[{"id": "c", "start": counter}]))
`

// TestSecondSignalExitsAtOnce holds the drain open with an in-flight
// pprof profile on the admin listener (the last child to stop), then
// signals again.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	bin := binary(t)
	p := startNode(t, bin, t.TempDir(), "--admin", "127.0.0.1:0", "--drain-timeout", "60s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	profiling := make(chan struct{})
	go func() {
		defer close(profiling)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.admin+"/debug/pprof/profile?seconds=50", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	defer func() { cancel(); <-profiling }()
	// Wait until the profile handler runs (poll to a deadline: real I/O).
	testkit.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get("http://" + p.admin + "/debug/pprof/goroutine?debug=2")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "net/http/pprof.Profile") {
			return errors.New("the profile is not running yet")
		}
		return nil
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.await(t, regexp.MustCompile(`msg="shutting down"`))
	exited := make(chan error, 1)
	go func() { exited <- p.wait() }()
	start := time.Now()
	var err error
	// main restores the default disposition right after the first signal;
	// signal until the process is gone.
	testkit.Eventually(t, 10*time.Second, func() error {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-exited:
			return nil
		default:
			return errors.New("the node is still running")
		}
	})
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("exit = %v, want death by signal", err)
	}
	if ws, _ := exit.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("exit status %v, want killed by SIGTERM", exit)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the second signal took %v to stop the node", d)
	}
}
