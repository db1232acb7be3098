package main

import (
	"github.com/spf13/cobra"

	"context"
	"fmt"
	"github.com/otpbox/otpbox/api"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

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
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a node: create a sandbox, execute \"1 + 1\", terminate it",
		Long: `Bench runs the design's load test: at each concurrency level (--levels), that
many workers run requests (create a sandbox, execute "1 + 1", terminate it)
until the level's request count is reached (--requests-per-level, by default
max(5 x concurrency, 500)). Per level it reports requests, errors, error rate,
average, p50, p99 and max latency, and throughput. Without --addr (or
OTPBOX_ADDR) it starts a node in process on a free loopback port with a
scratch data directory. A progress bar is drawn on stderr when it is a
terminal.`,
		Example: `  otpbox bench
  otpbox bench --levels 10,100 --requests-per-level 1000
  otpbox bench --addr http://127.0.0.1:4000 --json`,
		Args: args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Levels, err = parseLevels(levels); err != nil {
				return usage(cmd, "%v", err)
			}
			if requests > 0 {
				o.Requests = func(int) int { return requests }
			}
			ctx := cmd.Context()
			if addr == "" {
				n, stop, err := m.benchNode()
				if err != nil {
					return fmt.Errorf("bench: start a node in process: %w", err)
				}
				defer stop()
				addr = n.HTTPAddr()
				fmt.Fprintf(m.Stderr, "bench: started a node in process on %s\n", addr)
			}
			maxC := slices.Max(o.Levels)
			transport := &http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        2 * maxC,
				MaxIdleConnsPerHost: 2 * maxC,
				IdleConnTimeout:     90 * time.Second,
			}
			defer transport.CloseIdleConnections()
			// No retries: a refusal is a result of the load test.
			cl, err := api.NewClient(&api.Config{Address: addr, Token: token, Retry: api.NoRetry,
				HTTPClient: &http.Client{Transport: transport}, UserAgent: "otpbox-bench"})
			if err != nil {
				return usage(cmd, "--addr: %v", err)
			}
			if isTerminal(m.Stderr) {
				p := &progressBar{w: m.Stderr}
				o.Progress = p.update
				defer p.finish()
			}
			rep, err := bench.Run(ctx, benchTarget{cl.Sandboxes()}, o)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			out := clientOpts{json: asJSON}
			return out.print(cmd, rep, func(w io.Writer) error { printReport(w, rep); return nil })
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "addr", m.Getenv("OTPBOX_ADDR"), "node API address; env OTPBOX_ADDR (default: a node started in process)")
	fs.StringVar(&token, "token", m.Getenv("OTPBOX_TOKEN"), "bearer token; env OTPBOX_TOKEN")
	fs.BoolVar(&asJSON, "json", false, `print {"levels":[…]} for scripts`)
	fs.StringVar(&levels, "levels", "10,50,100,500,1000", "concurrency levels, comma-separated")
	fs.IntVar(&requests, "requests-per-level", 0, "requests per level (default max(5×concurrency, 500))")
	fs.DurationVar(&o.LevelTimeout, "level-timeout", bench.DefaultLevelTimeout, "deadline of one level")
	fs.DurationVar(&o.RequestTimeout, "timeout", bench.DefaultRequestTimeout, "deadline of one request")
	return cmd
}

// benchTarget drives a node through the api client.
type benchTarget struct{ s *api.Sandboxes }

func (t benchTarget) Create(ctx context.Context, id string, _ server.Requirements) (*server.Info, error) {
	if _, err := t.s.Create(ctx, id, api.Requirements{}); err != nil {
		return nil, err
	}
	return &server.Info{ID: id}, nil
}

func (t benchTarget) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	r, err := t.s.Exec(ctx, id, code)
	if err != nil {
		return nil, err
	}
	return &server.Result{Value: r.Value, Output: r.Output, Steps: r.Steps, Duration: r.Duration}, nil
}

func (t benchTarget) Terminate(ctx context.Context, id string) error { return t.s.Terminate(ctx, id) }

// benchNode starts a node on a free loopback port with a scratch data
// directory; stop shuts it down and removes the directory.
func (m *Main) benchNode() (*node.Node, func(), error) {
	dir, err := os.MkdirTemp("", "otpbox-bench-")
	if err != nil {
		return nil, nil, err
	}
	cfg := node.DefaultConfig()
	cfg.HTTPAddr, cfg.AdminAddr, cfg.DataDir = "127.0.0.1:0", "off", dir
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

func printReport(w io.Writer, rep bench.Report) {
	t := table(w)
	fmt.Fprintln(t, "CONCURRENCY\tREQUESTS\tERRORS\tERROR RATE\tAVG ms\tP50 ms\tP99 ms\tMAX ms\tREQ/s")
	for _, l := range rep.Levels {
		fmt.Fprintf(t, "%d\t%d\t%d\t%.2f%%\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\n", l.Concurrency, l.Requests, l.Errors,
			100*l.ErrorRate, l.AvgMS, l.P50MS, l.P99MS, l.MaxMS, l.ThroughputPerS)
	}
	t.Flush()
	for _, l := range rep.Levels {
		if l.FirstError != "" {
			fmt.Fprintf(w, "concurrency %d: first error: %s\n", l.Concurrency, l.FirstError)
		}
	}
}

// progressBar draws one line per level on a terminal, redrawn when the
// percentage changes. bench.Run serialises the calls.
type progressBar struct {
	w        io.Writer
	level    int
	last     int
	drawn    bool
	finished bool
}

func (p *progressBar) update(level, done, total int) {
	if level != p.level {
		p.finish()
		p.level, p.last, p.finished = level, -1, false
	}
	pct := done * 100 / max(total, 1)
	if pct == p.last {
		return
	}
	p.last, p.drawn = pct, true
	const width = 30
	fill := pct * width / 100
	fmt.Fprintf(p.w, "\rconcurrency %5d [%s%s] %3d%% %d/%d", level,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pct, done, total)
}

// finish ends the current line.
func (p *progressBar) finish() {
	if p.drawn && !p.finished {
		fmt.Fprintln(p.w)
		p.finished = true
	}
}
