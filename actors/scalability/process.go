package scalability

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of a ProcessConfig.
const (
	DefaultNamePrefix   = "otpbox"
	DefaultReadyTimeout = time.Minute
	// DefaultStopTimeout leaves a node its default 30 s drain and a margin.
	DefaultStopTimeout = 40 * time.Second
)

// ProcessConfig configures a ProcessProvider. BaseDir is required.
type ProcessConfig struct {
	// Binary is the otpbox executable (default: this process's own).
	Binary string
	// Consul, Cluster and Redis are passed as --consul, --cluster and
	// --redis when set, so the nodes join this node's cluster.
	Consul  string
	Cluster string
	Redis   string
	// BaseDir holds a data directory per node, BaseDir/NAME, with the
	// node's output in BaseDir/NAME/node.log.
	BaseDir string
	// NamePrefix names the nodes NamePrefix-1, NamePrefix-2, …
	// (default "otpbox").
	NamePrefix string
	// ExtraArgs are appended to every node's command line.
	ExtraArgs []string
	// Env is added to this process's environment for the nodes.
	Env []string
	// Logger logs starts and exits (default slog.Default()).
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for a started node's
	// GET /v1/health/ready to answer 200 (default 1 min).
	ReadyTimeout time.Duration
	// StopTimeout is how long a node may take to drain and exit after
	// SIGTERM before it gets SIGKILL (default 40 s).
	StopTimeout time.Duration
}

// ProcessProvider is a Provider that starts and stops `otpbox node`
// processes on this host, each on a free 127.0.0.1 port, with its admin
// listener off. It removes only nodes it started. Each process has one
// goroutine waiting on it, owned by the provider; Close stops them all.
// A ProcessProvider is safe for concurrent use.
type ProcessProvider struct {
	cfg    ProcessConfig
	client *http.Client
	log    *slog.Logger

	mu     sync.Mutex // protects procs, next and closed
	procs  map[string]*nodeProcess
	next   int
	closed bool
	wg     sync.WaitGroup // the waiters; Add only under mu while not closed
}

var _ Provider = (*ProcessProvider)(nil)

// nodeProcess is one started node.
type nodeProcess struct {
	name, http, dir string
	cmd             *exec.Cmd
	exited          chan struct{} // closed by the waiter once the process is reaped
	err             error         // the exit, set before exited is closed
}

// Node describes a running node a ProcessProvider started.
type Node struct {
	Name    string
	PID     int
	HTTP    string // host:port of its API
	DataDir string
	LogFile string
}

// NewProcessProvider returns a provider with cfg's defaults filled in.
func NewProcessProvider(cfg ProcessConfig) (*ProcessProvider, error) {
	if cfg.BaseDir == "" {
		return nil, &ConfigError{Field: "base_dir", Value: `""`, Reason: "required"}
	}
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("scalability: find the otpbox binary: %w", err)
		}
		cfg.Binary = exe
	}
	cfg.NamePrefix = cmp.Or(cfg.NamePrefix, DefaultNamePrefix)
	cfg.ReadyTimeout = cmp.Or(cfg.ReadyTimeout, DefaultReadyTimeout)
	cfg.StopTimeout = cmp.Or(cfg.StopTimeout, DefaultStopTimeout)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &ProcessProvider{
		cfg: cfg,
		log: cfg.Logger,
		// No keep-alives: no idle connection outlives a readiness probe.
		client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		procs:  make(map[string]*nodeProcess),
	}, nil
}

// AddNodes starts n nodes at once and waits until each answers
// /v1/health/ready with 200. A node that exits first or is not ready within
// ReadyTimeout (or by ctx's end) is killed; the names of the ready nodes
// come back with an error that names the others.
func (p *ProcessProvider) AddNodes(ctx context.Context, n int) ([]string, error) {
	var (
		started []*nodeProcess
		errs    []error
	)
	for range n {
		np, err := p.spawn()
		if err != nil {
			errs = append(errs, err)
			break
		}
		started = append(started, np)
	}
	names := make([]string, 0, len(started))
	for _, np := range started {
		if err := p.waitReady(ctx, np); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", np.name, err))
			p.kill(np)
			continue
		}
		names = append(names, np.name)
	}
	return names, errors.Join(errs...)
}

// RemoveNode stops a node it started: SIGTERM, so the node drains and
// leaves gracefully, then SIGKILL after StopTimeout. It returns once the
// process has exited, or with ctx's error while it is still stopping (it
// stays tracked and Close finishes it).
func (p *ProcessProvider) RemoveNode(ctx context.Context, name string) error {
	p.mu.Lock()
	np, ok := p.procs[name]
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownNode, name)
	}
	if err := p.stop(ctx, np); err != nil {
		return err
	}
	p.forget(np)
	return nil
}

// Close stops every node still running, all at once, each as RemoveNode
// does, and returns when every process has exited and its waiter ended.
// Later AddNodes fail with ErrClosed.
func (p *ProcessProvider) Close() error {
	p.mu.Lock()
	p.closed = true
	procs := make([]*nodeProcess, 0, len(p.procs))
	for _, np := range p.procs {
		procs = append(procs, np)
	}
	p.mu.Unlock()
	var stops sync.WaitGroup
	for _, np := range procs {
		stops.Go(func() {
			_ = p.stop(context.Background(), np)
			p.forget(np)
		})
	}
	stops.Wait()
	p.wg.Wait()
	return nil
}

// Nodes returns the running nodes, sorted by name.
func (p *ProcessProvider) Nodes() []Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Node
	for _, np := range p.procs {
		select {
		case <-np.exited:
			continue
		default:
		}
		out = append(out, Node{Name: np.name, PID: np.cmd.Process.Pid, HTTP: np.http, DataDir: np.dir,
			LogFile: filepath.Join(np.dir, "node.log")})
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// spawn starts one node and its waiter.
func (p *ProcessProvider) spawn() (*nodeProcess, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.next++
	name := fmt.Sprintf("%s-%d", p.cfg.NamePrefix, p.next)
	p.mu.Unlock()

	addr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("node %s: pick a port: %w", name, err)
	}
	dir := filepath.Join(p.cfg.BaseDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	out, err := os.OpenFile(filepath.Join(dir, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	defer out.Close() // the child has its own descriptor once started
	args := []string{"node", "--node", name, "--http", addr, "--admin", "off", "--data-dir", dir}
	for _, f := range [][2]string{{"--consul", p.cfg.Consul}, {"--cluster", p.cfg.Cluster}, {"--redis", p.cfg.Redis}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	args = append(args, p.cfg.ExtraArgs...)
	// Not CommandContext: the node outlives the AddNodes call.
	cmd := exec.Command(p.cfg.Binary, args...)
	cmd.Env = append(os.Environ(), p.cfg.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("node %s: start: %w", name, err)
	}
	np := &nodeProcess{name: name, http: addr, dir: dir, cmd: cmd, exited: make(chan struct{})}

	p.mu.Lock()
	if p.closed { // Close ran meanwhile: it did not see this one
		p.mu.Unlock()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, ErrClosed
	}
	p.procs[name] = np
	p.wg.Add(1)
	p.mu.Unlock()
	go p.wait(np)
	p.log.Info("scalability: node process started", slog.String("node", name), slog.Int("pid", cmd.Process.Pid),
		slog.String("http", addr), slog.String("data_dir", dir))
	return np, nil
}

// wait is the one goroutine that waits on a process.
func (p *ProcessProvider) wait(np *nodeProcess) {
	defer p.wg.Done()
	np.err = np.cmd.Wait()
	close(np.exited)
	p.log.Info("scalability: node process exited", slog.String("node", np.name),
		slog.Int("pid", np.cmd.Process.Pid), slog.Any("status", np.cmd.ProcessState))
}

func (p *ProcessProvider) waitReady(ctx context.Context, np *nodeProcess) error {
	rctx, cancel := context.WithTimeout(ctx, p.cfg.ReadyTimeout)
	defer cancel()
	url := "http://" + np.http + "/v1/health/ready"
	delay := 20 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	last := errors.New("not probed")
	for {
		select {
		case <-np.exited:
			return fmt.Errorf("%w: %v; log: %s", ErrExited, np.err, tail(filepath.Join(np.dir, "node.log")))
		case <-rctx.Done():
			if err := ctx.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w after %s: %v", ErrNotReady, p.cfg.ReadyTimeout, last)
		case <-t.C:
		}
		if last = p.probe(rctx, url); last == nil {
			return nil
		}
		t.Reset(delay)
		delay = min(2*delay, 500*time.Millisecond)
	}
}

func (p *ProcessProvider) probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ready: %s", resp.Status)
	}
	return nil
}

// stop sends SIGTERM, waits up to StopTimeout, then SIGKILL.
func (p *ProcessProvider) stop(ctx context.Context, np *nodeProcess) error {
	select {
	case <-np.exited:
		return nil
	default:
	}
	if err := np.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("node %s: SIGTERM: %w", np.name, err)
	}
	t := time.NewTimer(p.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-np.exited:
		if np.err != nil {
			p.log.Warn("scalability: node process exited badly", slog.String("node", np.name), slog.Any("err", np.err))
		}
		return nil
	case <-t.C:
		p.log.Warn("scalability: node process did not stop, killing it", slog.String("node", np.name),
			slog.Duration("after", p.cfg.StopTimeout))
		p.kill(np)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill sends SIGKILL, waits for the waiter to reap the process and forgets
// it.
func (p *ProcessProvider) kill(np *nodeProcess) {
	_ = np.cmd.Process.Kill()
	<-np.exited
	p.forget(np)
}

func (p *ProcessProvider) forget(np *nodeProcess) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.procs[np.name] == np {
		delete(p.procs, np.name)
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free just now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// tail returns the last lines of a log file, on one line.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	const n = 1024
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n", " | ")), " ")
}
