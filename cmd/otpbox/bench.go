package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/bench"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// benchCommand is `otpbox bench`: the design's load test against --addr
// (or OTPBOX_ADDR), or against a node started in process when neither is
// set.
func (m *Main) benchCommand() *cobra.Command {
	var (
		addr, token, levels string
		asJSON              bool
		requests            int
		o                   bench.Options
		open                openFlags
		journal             = node.DefaultConfig().Journal
		journalSync         = node.DefaultConfig().JournalSync
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a node: closed-loop lifecycles, or users executing at a rate (--users)",
		Long: `Bench runs the design's load test: at each concurrency level (--levels), that
many workers run requests (create a sandbox, execute "1 + 1", terminate it)
until the level's request count is reached (--requests-per-level, by default
max(5 x concurrency, 500)). Per level it reports requests, errors, error rate,
average, p50, p99 and max latency, and throughput. Without --addr (or
OTPBOX_ADDR) it starts a node in process on a free loopback port with a
scratch data directory (--journal and --journal-sync choose its store). A
progress bar is drawn on stderr when it is a terminal.

With --users it runs an open model instead: that many users, each with its
own sandbox (created first), execute "n += 1" at the aggregate --rate (or
each every --think) for --duration, whatever the latency, as wrk2 and
vegeta load a server. Latency runs from each request's scheduled send
time, so a stall shows in every request it delayed. Per rate it reports
the achieved rate, p50/p90/p99/p99.9/max and errors by problem type; a
list of rates sweeps them and prints the knee, the highest rate with p99
at most 100ms and no errors.`,
		Example: `  otpbox bench
  otpbox bench --levels 10,100 --requests-per-level 1000
  otpbox bench --addr http://127.0.0.1:4000 --json
  otpbox bench --users 10000 --rate 1000,2000,4000 --duration 10s
  otpbox bench --users 100000 --think 5s --journal-sync interval`,
		Args: args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			oo, err := open.options(cmd.Flags())
			if err != nil {
				return usage(cmd, "%v", err)
			}
			oo.RequestTimeout = o.RequestTimeout
			if o.Levels, err = parseLevels(levels); err != nil {
				return usage(cmd, "%v", err)
			}
			if requests > 0 {
				o.Requests = func(int) int { return requests }
			}
			ctx := cmd.Context()
			cfg, err := benchConfig(journal, journalSync)
			if err != nil {
				return usage(cmd, "%v", err)
			}
			if addr == "" {
				n, stop, err := m.benchNode(cfg)
				if err != nil {
					return fmt.Errorf("bench: start a node in process: %w", err)
				}
				defer stop()
				addr = n.HTTPAddr()
				fmt.Fprintf(m.Stderr, "bench: started a node in process on %s (journal %s, sync %s)\n", addr, journal, journalSync)
			}
			maxC := slices.Max(o.Levels)
			if oo.Users > 0 {
				maxC = max(oo.Connections, bench.DefaultSetupConcurrency)
			}
			transport := &http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        2 * maxC,
				MaxIdleConnsPerHost: 2 * maxC,
				IdleConnTimeout:     90 * time.Second,
			}
			if oo.Users > 0 {
				transport.MaxConnsPerHost = maxC // the open model's connections
			}
			defer transport.CloseIdleConnections()
			// No retries: a refusal is a result of the load test.
			hc := &http.Client{Transport: transport}
			cl, err := api.NewClient(&api.Config{Address: addr, Token: token, Retry: api.NoRetry,
				HTTPClient: hc, UserAgent: "otpbox-bench"})
			if err != nil {
				return usage(cmd, "--addr: %v", err)
			}
			out := clientOpts{json: asJSON}
			if oo.Users > 0 {
				if isTerminal(m.Stderr) {
					p := &progressBar{w: m.Stderr}
					oo.Progress = p.phase
					defer p.finish()
				}
				target := benchTarget{s: cl.Sandboxes(), metrics: metricsReader(hc, addr, token), health: cl.Health()}
				if !strings.HasPrefix(addr, "https://") {
					// The executions go over the generator's own connections,
					// which cost the machine a fraction of net/http's client
					// (plain HTTP only; https goes through the client).
					execs, err := bench.NewExecs(addr, token)
					if err != nil {
						return usage(cmd, "--addr: %v", err)
					}
					defer execs.Close()
					target.execs = execs
				}
				rep, err := bench.RunOpen(ctx, target, oo)
				if err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				return out.print(cmd, rep, func(w io.Writer) error { printOpenReport(w, rep, oo); return nil })
			}
			if isTerminal(m.Stderr) {
				p := &progressBar{w: m.Stderr}
				o.Progress = p.update
				defer p.finish()
			}
			rep, err := bench.Run(ctx, benchTarget{s: cl.Sandboxes(), metrics: metricsReader(hc, addr, token)}, o)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			return out.print(cmd, rep, func(w io.Writer) error { printReport(w, rep); return nil })
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "addr", m.Getenv("OTPBOX_ADDR"), "node API address; env OTPBOX_ADDR (default: a node started in process)")
	fs.StringVar(&token, "token", m.Getenv("OTPBOX_TOKEN"), "bearer token; env OTPBOX_TOKEN")
	fs.BoolVar(&asJSON, "json", false, `print {"levels":[…]} (with --users {"steps":[…],"knee_rate":…}) for scripts`)
	fs.StringVar(&levels, "levels", "10,50,100,500,1000", "concurrency levels, comma-separated")
	fs.IntVar(&requests, "requests-per-level", 0, "requests per level (default max(5×concurrency, 500))")
	fs.DurationVar(&o.LevelTimeout, "level-timeout", bench.DefaultLevelTimeout, "deadline of one level")
	fs.DurationVar(&o.RequestTimeout, "timeout", bench.DefaultRequestTimeout, "deadline of one request")
	open.register(fs)
	fs.StringVar(&journal, "journal", journal, "the in-process node's journal store: wal or bolt (without --addr)")
	fs.StringVar(&journalSync, "journal-sync", journalSync, "the in-process node's --journal-sync: always or interval (without --addr)")
	return cmd
}

// benchTarget drives a node through the api client.
type benchTarget struct {
	s *api.Sandboxes
	// execs, when set, sends the executions (the open model's).
	execs *bench.Execs
	// metrics reads the node's /metrics (NodeMemory); nil: not reported.
	metrics func(ctx context.Context) ([]byte, error)
	// health, when set, tells Settle when the node is ready.
	health *api.Health
}

// settleWait bounds how long Settle waits for the node to be ready: a
// node degraded for a reason of its own (a tree restarted in the last
// minute) is measured as it is.
const settleWait = 10 * time.Second

// Settle opens n of the executions' connections and waits (at most
// settleWait) until the node's readiness is ready.
func (t benchTarget) Settle(ctx context.Context, n int) error {
	if t.execs != nil {
		if err := t.execs.Open(ctx, n); err != nil {
			return err
		}
	}
	if t.health == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, settleWait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if r, err := t.health.Ready(ctx); err == nil && r.Status == api.Ready {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil // waited enough: measure the node as it is
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// NodeMemory reads the node's resident set, Go heap and live sandboxes
// from its /metrics.
func (t benchTarget) NodeMemory(ctx context.Context) (bench.NodeMemory, error) {
	if t.metrics == nil {
		return bench.NodeMemory{}, errors.ErrUnsupported
	}
	text, err := t.metrics(ctx)
	if err != nil {
		return bench.NodeMemory{}, err
	}
	var m bench.NodeMemory
	for line := range strings.Lines(string(text)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			m.RSSBytes = uint64(f)
		case "go_memstats_heap_inuse_bytes":
			m.HeapBytes = uint64(f)
		case `otpbox_sandboxes{state="active"}`:
			m.Sandboxes = uint64(f)
		case "process_cpu_seconds_total":
			m.CPUSeconds = f
		}
	}
	if m.RSSBytes == 0 {
		return m, errors.New("bench: no process_resident_memory_bytes in /metrics")
	}
	return m, nil
}

// metricsReader returns a func that GETs addr's /metrics with token.
func metricsReader(hc *http.Client, addr, token string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		base := addr
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("bench: /metrics: %s", res.Status)
		}
		return io.ReadAll(io.LimitReader(res.Body, 16<<20))
	}
}

func (t benchTarget) Create(ctx context.Context, id string, _ server.Requirements) (*server.Info, error) {
	if _, err := t.s.Create(ctx, id, api.Requirements{}); err != nil {
		return nil, err
	}
	return &server.Info{ID: id}, nil
}

func (t benchTarget) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	if t.execs != nil {
		if err := t.execs.Exec(ctx, id, code); err != nil {
			return nil, err
		}
		return &server.Result{}, nil
	}
	r, err := t.s.Exec(ctx, id, code)
	if err != nil {
		return nil, err
	}
	return &server.Result{Value: r.Value, Output: r.Output, Steps: r.Steps, Duration: r.Duration}, nil
}

func (t benchTarget) Terminate(ctx context.Context, id string) error { return t.s.Terminate(ctx, id) }

// benchConfig is the in-process node's configuration, on a free loopback
// port, with the journal given; benchNode sets its data directory.
func benchConfig(journal, sync string) (node.Config, error) {
	cfg := node.DefaultConfig()
	cfg.HTTPAddr, cfg.AdminAddr, cfg.DataDir = "127.0.0.1:0", "off", os.TempDir()
	cfg.Journal, cfg.JournalSync = journal, sync
	return cfg, cfg.Validate()
}

// benchNode starts a node of cfg with a scratch data directory; stop
// shuts it down and removes the directory.
func (m *Main) benchNode(cfg node.Config) (*node.Node, func(), error) {
	dir, err := os.MkdirTemp("", "otpbox-bench-")
	if err != nil {
		return nil, nil, err
	}
	cfg.DataDir = dir
	log := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.Start(cfg, append([]node.Option{node.WithLogger(log)}, m.NodeOptions...)...)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	return n, func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout.Duration)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			fmt.Fprintln(m.Stderr, "bench: stop node:", err)
		}
		_ = os.RemoveAll(dir)
	}, nil
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--levels: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// cpuCell shows the node's CPU per request, "-" when it was not read.
func cpuCell(us float64) string {
	if us <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", us)
}

func printReport(w io.Writer, rep bench.Report) {
	t := table(w)
	fmt.Fprintln(t, "CONCURRENCY\tREQUESTS\tERRORS\tERROR RATE\tAVG ms\tP50 ms\tP99 ms\tMAX ms\tREQ/s\tNODE CPU µs/req")
	for _, l := range rep.Levels {
		fmt.Fprintf(t, "%d\t%d\t%d\t%.2f%%\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%s\n", l.Concurrency, l.Requests, l.Errors,
			100*l.ErrorRate, l.AvgMS, l.P50MS, l.P99MS, l.MaxMS, l.ThroughputPerS, cpuCell(l.NodeCPUPerRequestUS))
	}
	t.Flush()
	for _, l := range rep.Levels {
		if l.FirstError != "" {
			fmt.Fprintf(w, "concurrency %d: first error: %s\n", l.Concurrency, l.FirstError)
		}
	}
}

// progressBar draws one line per level (or phase) on a terminal, redrawn
// when the percentage changes. bench.Run and bench.RunOpen serialise the
// calls.
type progressBar struct {
	w        io.Writer
	label    string
	last     int
	drawn    bool
	finished bool
}

func (p *progressBar) update(level, done, total int) {
	p.draw(fmt.Sprintf("concurrency %5d", level), done, total)
}

func (p *progressBar) phase(name string, done, total int) {
	p.draw(fmt.Sprintf("%-9s", name), done, total)
}

func (p *progressBar) draw(label string, done, total int) {
	if label != p.label {
		p.finish()
		p.label, p.last, p.finished = label, -1, false
	}
	pct := done * 100 / max(total, 1)
	if pct == p.last {
		return
	}
	p.last, p.drawn = pct, true
	const width = 30
	fill := pct * width / 100
	fmt.Fprintf(p.w, "\r%s [%s%s] %3d%% %d/%d", label,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pct, done, total)
}

// finish ends the current line.
func (p *progressBar) finish() {
	if p.drawn && !p.finished {
		fmt.Fprintln(p.w)
		p.finished = true
	}
}

// openFlags are the flags of the open-model load test (--users).
type openFlags struct {
	users, connections int
	rates, thinks      string
	duration           time.Duration
}

func (f *openFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.users, "users", 0, "open model: this many users, each with its own sandbox, execute `n += 1` at --rate (or every --think) whatever the latency")
	fs.StringVar(&f.rates, "rate", "", "open model: aggregate executions per second; a comma-separated list sweeps them and prints the knee")
	fs.StringVar(&f.thinks, "think", "", "open model: each user's time between executions (rate = users / think), instead of --rate; a list sweeps")
	fs.DurationVar(&f.duration, "duration", bench.DefaultDuration, "open model: how long each rate runs")
	fs.IntVar(&f.connections, "connections", bench.DefaultConnections, "open model: most requests outstanding at once; one due while all are busy waits, its latency counted from when it was due")
}

// options checks the open-model flags against each other and the
// closed loop's; Users is 0 without --users.
func (f *openFlags) options(fs *pflag.FlagSet) (bench.OpenOptions, error) {
	set := func(name string) bool { return fs.Changed(name) }
	if f.users <= 0 {
		if set("users") {
			return bench.OpenOptions{}, fmt.Errorf("--users: %d is not a positive number", f.users)
		}
		for _, name := range []string{"rate", "think", "duration", "connections"} {
			if set(name) {
				return bench.OpenOptions{}, fmt.Errorf("--%s needs --users", name)
			}
		}
		return bench.OpenOptions{}, nil
	}
	if set("levels") || set("requests-per-level") || set("level-timeout") {
		return bench.OpenOptions{}, fmt.Errorf("--users (open model) and --levels (closed loop) exclude each other")
	}
	o := bench.OpenOptions{Users: f.users, Duration: f.duration, Connections: f.connections}
	if f.duration <= 0 {
		return o, fmt.Errorf("--duration: %v is not positive", f.duration)
	}
	if f.connections <= 0 {
		return o, fmt.Errorf("--connections: %d is not a positive number", f.connections)
	}
	switch {
	case (f.rates == "") == (f.thinks == ""):
		return o, fmt.Errorf("--users needs one of --rate and --think")
	case f.rates != "":
		for _, s := range strings.Split(f.rates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || !(r > 0) || math.IsInf(r, 0) {
				return o, fmt.Errorf("--rate: %q is not a positive number", s)
			}
			o.Rates = append(o.Rates, r)
		}
	default:
		for _, s := range strings.Split(f.thinks, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || d <= 0 {
				return o, fmt.Errorf("--think: %q is not a positive duration", s)
			}
			o.Rates = append(o.Rates, float64(f.users)/d.Seconds())
		}
	}
	return o, nil
}

func printOpenReport(w io.Writer, rep bench.OpenReport, o bench.OpenOptions) {
	fmt.Fprintf(w, "%d users, one sandbox each (set-up %.1f s, then %.1f s until the node was ready); %q at each rate for %v, latency from each request's scheduled time\n",
		rep.Users, rep.SetupS, rep.SettleS, rep.Code, o.Duration)
	t := table(w)
	fmt.Fprintln(t, "RATE/s\tACHIEVED/s\tREQUESTS\tERRORS\tP50 ms\tP90 ms\tP99 ms\tP99.9 ms\tMAX ms\tADMITTED P99 ms\tNODE CPU µs/req")
	for _, s := range rep.Steps {
		fmt.Fprintf(t, "%.0f\t%.1f\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\n", s.TargetRate, s.AchievedRate, s.Requests, s.Errors,
			s.P50MS, s.P90MS, s.P99MS, s.P999MS, s.MaxMS, s.Admitted.P99MS, cpuCell(s.NodeCPUPerRequestUS))
	}
	t.Flush()
	for i, m := range rep.Memory {
		per := ""
		if b := rep.Memory[0]; i > 0 && m.Sandboxes > b.Sandboxes {
			n := float64(m.Sandboxes - b.Sandboxes)
			per = fmt.Sprintf(" (+%.1f KB of RSS, +%.1f KB of heap per sandbox since set-up began)",
				(float64(m.RSSBytes)-float64(b.RSSBytes))/n/1000, (float64(m.HeapBytes)-float64(b.HeapBytes))/n/1000)
		}
		fmt.Fprintf(w, "node %s: RSS %.0f MB, Go heap in use %.0f MB, %d live sandboxes%s\n", m.When,
			float64(m.RSSBytes)/1e6, float64(m.HeapBytes)/1e6, m.Sandboxes, per)
	}
	for _, s := range rep.Steps {
		if s.Errors == 0 {
			continue
		}
		kinds := slices.Sorted(maps.Keys(s.ErrorsByKind))
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s %d", k, s.ErrorsByKind[k])
		}
		fmt.Fprintf(w, "%.0f/s: errors: %s; first: %s\n", s.TargetRate, strings.Join(parts, ", "), s.FirstError)
	}
	if rep.Knee > 0 {
		fmt.Fprintf(w, "knee: %.0f/s (the highest rate with p99 ≤ %v and no errors)\n", rep.Knee, bench.KneeP99)
	} else {
		fmt.Fprintf(w, "knee: none (no rate had p99 ≤ %v and no errors)\n", bench.KneeP99)
	}
}
