package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/otpbox/otpbox/api"
)

// Defaults of NodeOptions.
const (
	// DefaultStartTimeout bounds how long a node may take to answer on
	// its API after it was started.
	DefaultStartTimeout = 60 * time.Second
	// DefaultStopTimeout is how long Stop waits after SIGTERM before it
	// kills the process.
	DefaultStopTimeout = 30 * time.Second
)

// BinaryEnv names a prebuilt otpbox binary that LaunchNode and
// StartCluster run instead of building one.
const BinaryEnv = "OTPBOX_BINARY"

// NodeOptions configure LaunchNode. The zero value is a single node on a
// free loopback port with a scratch data directory.
type NodeOptions struct {
	// Binary is the otpbox binary; default $OTPBOX_BINARY, else one built
	// from github.com/otpbox/otpbox/cmd/otpbox (BuildBinary) and removed
	// by Close.
	Binary string
	// Name is the node's name (--node; default the host name).
	Name string
	// HTTP is the API's host:port (default a free port on 127.0.0.1,
	// kept across Restart).
	HTTP string
	// Dir is the data directory (default a scratch directory removed by
	// Close, kept across Restart).
	Dir string
	// Args are more flags of `otpbox node` ("--consul", addr, …).
	Args []string
	// Log receives the node's output too; it is always kept for Log.
	Log io.Writer
	// StartTimeout bounds the wait for the API (default
	// DefaultStartTimeout); StopTimeout the graceful stop (default
	// DefaultStopTimeout).
	StartTimeout, StopTimeout time.Duration
}

// Node is an `otpbox node` process started by LaunchNode or
// StartCluster. Its methods are safe for concurrent use; Kill, Stop,
// Pause, Resume and Restart act on the process by its PID.
type Node struct {
	// Name is the node's name; Addr the host:port of its API; Dir its
	// data directory.
	Name, Addr, Dir string

	opts    NodeOptions
	scratch []string // directories Close removes
	log     *buffer

	mu     sync.Mutex // protects cmd, done, err, paused
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd exited; err is then set
	err    error
	paused bool
}

// LaunchNode starts `otpbox node` with o and returns once its API
// answers (or the process exited, or o.StartTimeout passed). It needs no
// *testing.T, so examples can use it; Close stops the node and removes
// what LaunchNode created.
func LaunchNode(ctx context.Context, o NodeOptions) (*Node, error) {
	n := &Node{opts: o, log: &buffer{}}
	if n.opts.Binary == "" {
		n.opts.Binary = os.Getenv(BinaryEnv)
	}
	if n.opts.Binary == "" {
		dir, err := os.MkdirTemp("", "otpbox-bin-")
		if err != nil {
			return nil, err
		}
		n.scratch = append(n.scratch, dir)
		if n.opts.Binary, err = BuildBinary(ctx, dir); err != nil {
			n.cleanup()
			return nil, err
		}
	}
	if n.opts.Dir == "" {
		dir, err := os.MkdirTemp("", "otpbox-node-")
		if err != nil {
			n.cleanup()
			return nil, err
		}
		n.scratch = append(n.scratch, dir)
		n.opts.Dir = dir
	}
	if n.opts.HTTP == "" {
		addr, err := freeAddr()
		if err != nil {
			n.cleanup()
			return nil, err
		}
		n.opts.HTTP = addr
	}
	if n.opts.StartTimeout <= 0 {
		n.opts.StartTimeout = DefaultStartTimeout
	}
	if n.opts.StopTimeout <= 0 {
		n.opts.StopTimeout = DefaultStopTimeout
	}
	n.Name, n.Addr, n.Dir = n.opts.Name, n.opts.HTTP, n.opts.Dir
	if err := n.start(ctx); err != nil {
		n.cleanup()
		return nil, err
	}
	return n, nil
}

// BuildBinary builds github.com/otpbox/otpbox/cmd/otpbox into dir with
// the go command of the running toolchain and returns its path. The
// calling module must require github.com/otpbox/otpbox (this module
// does).
func BuildBinary(ctx context.Context, dir string) (string, error) {
	gocmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gocmd); err != nil {
		gocmd = "go"
	}
	bin := filepath.Join(dir, "otpbox")
	out, err := exec.CommandContext(ctx, gocmd, "build", "-o", bin, "github.com/otpbox/otpbox/cmd/otpbox").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testkit: build otpbox: %w\n%s", err, out)
	}
	return bin, nil
}

// URL is the node's API address, "http://127.0.0.1:port".
func (n *Node) URL() string { return "http://" + n.Addr }

// Binary is the otpbox binary the node runs.
func (n *Node) Binary() string { return n.opts.Binary }

// Client returns an api client of the node that keeps no idle
// connections (so it leaves no goroutines behind) and does not retry.
func (n *Node) Client() *api.Client {
	c, err := api.NewClient(&api.Config{Address: n.URL(), Retry: api.NoRetry,
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
	if err != nil {
		panic(err) // n.URL is always a valid address
	}
	return c
}

// Log returns what the node printed (all its incarnations).
func (n *Node) Log() string { return n.log.String() }

// Running reports whether the process runs (paused or not).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Paused reports whether Pause stopped the process and Resume did not
// continue it yet.
func (n *Node) Paused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused && n.cmd != nil
}

// start starts the process and waits for its API.
func (n *Node) start(ctx context.Context) error {
	args := []string{"node", "--http", n.opts.HTTP, "--data-dir", n.opts.Dir}
	if n.opts.Name != "" {
		args = append(args, "--node", n.opts.Name)
	}
	args = append(args, n.opts.Args...)
	cmd := exec.Command(n.opts.Binary, args...)
	var out io.Writer = n.log
	if n.opts.Log != nil {
		out = io.MultiWriter(n.log, n.opts.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	fmt.Fprintf(n.log, "==> testkit: %s %v\n", n.opts.Binary, args)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testkit: start %s: %w", n.opts.Binary, err)
	}
	done := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.done, n.err, n.paused = cmd, done, nil, false
	n.mu.Unlock()
	go func() { // owned by the Node: Kill, Stop and Close wait for done
		err := cmd.Wait()
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
		close(done)
	}()
	return n.awaitAPI(ctx, done)
}

// awaitAPI polls GET /v1/health/live until it answers.
func (n *Node) awaitAPI(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.StartTimeout)
	defer cancel()
	c := n.Client()
	wait := minPollInterval
	timer := time.NewTimer(0)
	defer timer.Stop()
	last := errors.New("no answer yet")
	for {
		select {
		case <-exited:
			return fmt.Errorf("testkit: node %s exited before its API answered: %v\n%s", n.Addr, n.exitErr(), n.Log())
		case <-ctx.Done():
			n.kill()
			return fmt.Errorf("testkit: node %s: API not up within %v: %v", n.Addr, n.opts.StartTimeout, last)
		case <-timer.C:
		}
		if last = c.Health().Live(ctx); last == nil {
			return nil
		}
		timer.Reset(wait)
		wait = min(2*wait, maxPollInterval)
	}
}

func (n *Node) exitErr() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// signal sends sig to the running process; it reports false when none
// runs.
func (n *Node) signal(sig syscall.Signal) (chan struct{}, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return nil, false
	}
	select {
	case <-n.done:
		return n.done, false
	default:
	}
	_ = n.cmd.Process.Signal(sig)
	return n.done, true
}

// Kill kills the process at once (kill -9) and waits for it, as a crash
// of the machine would: nothing is drained. Killing a node that does not
// run does nothing.
func (n *Node) Kill() { n.kill() }

func (n *Node) kill() {
	if done, ok := n.signal(syscall.SIGKILL); ok {
		<-done
	}
}

// Stop stops the node gracefully: SIGTERM (after SIGCONT, should it be
// paused), then SIGKILL if it has not exited within the stop timeout. It
// returns the process's exit error: nil when it exited 0. Stopping a node
// that does not run returns the last exit's error.
func (n *Node) Stop() error {
	_, _ = n.signal(syscall.SIGCONT)
	done, ok := n.signal(syscall.SIGTERM)
	if !ok {
		if done == nil {
			return nil
		}
		return n.exitErr()
	}
	timer := time.NewTimer(n.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return n.exitErr()
	case <-timer.C:
		n.kill()
		return fmt.Errorf("testkit: node %s did not stop within %v after SIGTERM; killed", n.Addr, n.opts.StopTimeout)
	}
}

// Pause stops the process with SIGSTOP: it keeps its sockets but answers
// nothing, and its Consul heartbeats stop, as on a stalled machine.
func (n *Node) Pause() error {
	if _, ok := n.signal(syscall.SIGSTOP); !ok {
		return fmt.Errorf("testkit: node %s is not running", n.Addr)
	}
	n.mu.Lock()
	n.paused = true
	n.mu.Unlock()
	return nil
}

// Resume continues a paused process (SIGCONT).
func (n *Node) Resume() error {
	if _, ok := n.signal(syscall.SIGCONT); !ok {
		return fmt.Errorf("testkit: node %s is not running", n.Addr)
	}
	n.mu.Lock()
	n.paused = false
	n.mu.Unlock()
	return nil
}

// Restart stops the node gracefully if it runs, then starts it again
// with the same name, port, data directory and flags, and waits for its
// API.
func (n *Node) Restart(ctx context.Context) error {
	if n.Running() {
		if err := n.Stop(); err != nil {
			return fmt.Errorf("testkit: restart %s: stop: %w", n.Addr, err)
		}
	}
	return n.start(ctx)
}

// Close stops the node (Stop) and removes the scratch directories and
// binary LaunchNode created. It returns Stop's error.
func (n *Node) Close() error {
	err := n.Stop()
	n.cleanup()
	return err
}

func (n *Node) cleanup() {
	for _, d := range n.scratch {
		_ = os.RemoveAll(d)
	}
	n.scratch = nil
}

// freeAddr returns a free host:port on 127.0.0.1. Another process may
// take it before the node binds it; that is rare enough for tests.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// buffer is a bytes.Buffer safe for a process's output copiers and
// readers.
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
