// Package consultest starts real Consul agents for tests: `consul agent
// -dev` on 127.0.0.1, free ports, stopped in t.Cleanup.
//
// The binary is, in order: $OTPBOX_CONSUL, <module root>/bin/consul (`make
// consul` builds the pinned v1.14.11 there), or consul on PATH. Without one,
// Start skips the test under -short and fails it otherwise.
package consultest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

const (
	// module is the otpbox module, whose root holds bin/consul.
	module = "github.com/otpbox/otpbox"
	// leaderTimeout bounds how long Start and Restart wait for a leader.
	leaderTimeout = 30 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before it kills.
	stopTimeout = 10 * time.Second
)

// Agent is a running `consul agent -dev`. Its methods must be called from
// the test goroutine.
type Agent struct {
	// Addr is the host:port of the agent's HTTP API.
	Addr string

	t     testing.TB
	bin   string
	ports ports
	log   *buffer
	hcl   []string

	mu   sync.Mutex    // protects cmd and done
	cmd  *exec.Cmd     // nil when stopped
	done chan struct{} // closed when cmd has exited
	http *http.Client  // no keep-alive: leaves no goroutines behind
}

type ports struct{ http, serfLAN, serfWAN, server int }

// Start starts a dev agent for t on 127.0.0.1 with free ports, no DNS and
// no gRPC, and check_update_interval = "0s" (so a TTL check's output
// reaches the catalog at once). It waits until the agent has a leader (30
// s at most) and stops it in t.Cleanup, showing the agent's log if t
// failed.
func Start(t testing.TB) *Agent {
	t.Helper()
	return StartWith(t)
}

// StartWith is Start with more agent configuration, each an HCL text
// passed with -hcl (for example ACLs).
func StartWith(t testing.TB, hcl ...string) *Agent {
	t.Helper()
	bin, err := binary()
	if err != nil {
		if testing.Short() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	ps, err := freePorts()
	if err != nil {
		t.Fatalf("consultest: %v", err)
	}
	a := &Agent{
		Addr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ps.http)),
		t:     t,
		bin:   bin,
		ports: ps,
		log:   &buffer{},
		hcl:   hcl,
		http:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() {
			t.Logf("consultest: log of the consul agent at %s:\n%s", a.Addr, a.log.String())
		}
	})
	a.start()
	return a
}

// Client returns a client of the agent's HTTP API. It keeps no idle
// connections, so it leaves no goroutines behind.
func (a *Agent) Client() *api.Client {
	a.t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.Addr, HttpClient: a.http})
	if err != nil {
		a.t.Fatalf("consultest: client: %v", err)
	}
	return c
}

// Stop stops the agent: SIGTERM, then SIGKILL if it has not exited within
// 10 s. It waits for the process. Stopping a stopped agent does nothing.
func (a *Agent) Stop() {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.cmd = nil
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the agent (if it runs) and starts it again on the same
// ports. A dev agent keeps nothing: every registration is lost, as when a
// production agent restarts without its data directory.
func (a *Agent) Restart() {
	a.t.Helper()
	a.Stop()
	a.start()
}

// start starts the agent process and waits for a leader.
func (a *Agent) start() {
	a.t.Helper()
	fmt.Fprintf(a.log, "==> consultest: starting %s\n", a.bin)
	args := []string{"agent", "-dev",
		"-node=otpbox-test-" + strconv.Itoa(a.ports.http),
		"-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port=" + strconv.Itoa(a.ports.http),
		"-serf-lan-port=" + strconv.Itoa(a.ports.serfLAN),
		"-serf-wan-port=" + strconv.Itoa(a.ports.serfWAN),
		"-server-port=" + strconv.Itoa(a.ports.server),
		"-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1",
		"-log-level=info",
		"-hcl", `check_update_interval = "0s"`,
	}
	for _, h := range a.hcl {
		args = append(args, "-hcl", h)
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Stdout, cmd.Stderr = a.log, a.log
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("consultest: start %s: %v", a.bin, err)
	}
	done := make(chan struct{})
	a.mu.Lock()
	a.cmd, a.done = cmd, done
	a.mu.Unlock()
	go func() { // owned by the Agent: Stop waits for done
		_ = cmd.Wait()
		close(done)
	}()
	if err := a.waitLeader(done); err != nil {
		a.Stop()
		a.t.Fatalf("consultest: agent at %s: %v\n%s", a.Addr, err, a.log.String())
	}
}

// waitLeader polls /v1/status/leader until it names a leader, the process
// exits or leaderTimeout passes.
func (a *Agent) waitLeader(exited <-chan struct{}) error {
	deadline := time.Now().Add(leaderTimeout)
	c := a.Client()
	timer := time.NewTimer(0)
	defer timer.Stop()
	last := errors.New("no answer yet")
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		select {
		case <-exited:
			return errors.New("exited before it had a leader")
		case <-timer.C:
		}
		leader, err := c.Status().Leader()
		switch {
		case err != nil:
			last = err
		case leader == "":
			last = errors.New("no leader yet")
		default:
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no leader within %v: %w", leaderTimeout, last)
		}
		timer.Reset(wait)
	}
}

// binary finds the consul binary.
func binary() (string, error) {
	if p := os.Getenv("OTPBOX_CONSUL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("consultest: OTPBOX_CONSUL: %w", err)
		}
		return p, nil
	}
	if root, ok := moduleRoot(); ok {
		p := filepath.Join(root, "bin", "consul")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("consul"); err == nil {
		return p, nil
	}
	return "", errors.New("consul not found: run make consul")
}

// moduleRoot walks up from the working directory to the directory whose
// go.mod declares the otpbox module.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			s := bufio.NewScanner(f)
			for s.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
					if strings.Trim(strings.TrimSpace(m), `"`) == module {
						f.Close()
						return dir, true
					}
					break
				}
			}
			f.Close()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// freePorts picks four distinct free ports on 127.0.0.1, free for both TCP
// and UDP (serf uses both). Another process may take one before the agent
// binds it; that is rare enough for tests.
func freePorts() (ports, error) {
	var held []func()
	defer func() {
		for _, release := range held {
			release()
		}
	}()
	pick := func() (int, error) {
		for range 20 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			port := l.Addr().(*net.TCPAddr).Port
			u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				l.Close()
				continue
			}
			held = append(held, func() { l.Close(); u.Close() })
			return port, nil
		}
		return 0, errors.New("no free port for both tcp and udp")
	}
	var ps ports
	for _, p := range []*int{&ps.http, &ps.serfLAN, &ps.serfWAN, &ps.server} {
		port, err := pick()
		if err != nil {
			return ports{}, fmt.Errorf("free port: %w", err)
		}
		*p = port
	}
	return ps, nil
}

// buffer is a bytes.Buffer safe for the agent's output copiers and the
// test goroutine.
type buffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
