package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// Defaults of Options.
var (
	// DefaultLevels are the design's concurrency levels.
	DefaultLevels = []int{10, 50, 100, 500, 1000}
	// DefaultLevelTimeout bounds one level: no request starts after it and
	// requests still running are cancelled (and count as errors).
	DefaultLevelTimeout = time.Minute
	// DefaultRequestTimeout bounds one create→execute→terminate request.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultCode is what each request executes.
	DefaultCode = "1 + 1"
)

// DefaultRequests is the number of requests of a level with concurrency
// c: 5 per worker, at least 500, so that even the low levels give a
// usable p99 and every worker of the high levels runs several requests
// back to back.
func DefaultRequests(c int) int { return max(5*c, 500) }

// Target is what the load test drives: a node through its API client, or
// a host in process.
type Target interface {
	Create(ctx context.Context, id string, req server.Requirements) (*server.Info, error)
	Execute(ctx context.Context, id, code string) (*server.Result, error)
	Terminate(ctx context.Context, id string) error
}

// Options configure Run; zero fields mean the defaults.
type Options struct {
	Levels []int
	// Requests returns the number of requests of a level (default
	// DefaultRequests).
	Requests       func(concurrency int) int
	LevelTimeout   time.Duration
	RequestTimeout time.Duration
	Code           string
	// Progress, when set, is called after each request with the level's
	// count of finished requests; calls are serialised.
	Progress func(concurrency, done, total int)
}

// Level is the outcome of one concurrency level. Latencies are of whole
// requests (three API calls), failed ones included.
type Level struct {
	Concurrency    int     `json:"concurrency"`
	Requests       int     `json:"requests"`
	Errors         int     `json:"errors"`
	ErrorRate      float64 `json:"error_rate"`
	AvgMS          float64 `json:"avg_ms"`
	P50MS          float64 `json:"p50_ms"`
	P99MS          float64 `json:"p99_ms"`
	MaxMS          float64 `json:"max_ms"`
	ThroughputPerS float64 `json:"throughput_per_s"`
	// NodeCPUPerRequestUS is the node's CPU per request (three calls),
	// in µs, when the target reports it (MemorySampler): 0 otherwise.
	// Through a member of a cluster it is that member's alone.
	NodeCPUPerRequestUS float64 `json:"node_cpu_per_request_us,omitempty"`
	// FirstError is the first failure's message, for people.
	FirstError string `json:"-"`
}

// Report is the outcome of a run.
type Report struct {
	Levels []Level `json:"levels"`
}

// Run runs every level in turn against t. It stops early, with ctx's
// error and the levels done so far, when ctx is done.
func Run(ctx context.Context, t Target, o Options) (Report, error) {
	o = o.withDefaults()
	run := make([]byte, 3)
	_, _ = rand.Read(run)
	var rep Report
	node := readNode(ctx, t)
	for _, c := range o.Levels {
		l := runLevel(ctx, t, o, c, fmt.Sprintf("bench-%s-%d", hex.EncodeToString(run), c))
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		after := readNode(ctx, t)
		l.NodeCPUPerRequestUS = cpuPerRequest(node, after, l.Requests)
		node = after
		rep.Levels = append(rep.Levels, l)
	}
	return rep, nil
}

func (o Options) withDefaults() Options {
	if len(o.Levels) == 0 {
		o.Levels = DefaultLevels
	}
	if o.Requests == nil {
		o.Requests = DefaultRequests
	}
	if o.LevelTimeout <= 0 {
		o.LevelTimeout = DefaultLevelTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.Code == "" {
		o.Code = DefaultCode
	}
	return o
}

// sample is what the workers of one level collect.
type sample struct {
	mu        sync.Mutex // protects the fields below, and serialises Progress
	latencies []time.Duration
	errors    int
	first     string
}

func runLevel(ctx context.Context, t Target, o Options, c int, prefix string) Level {
	n := o.Requests(c)
	ctx, cancel := context.WithTimeout(ctx, o.LevelTimeout)
	defer cancel()
	var (
		next atomic.Int64
		s    = sample{latencies: make([]time.Duration, 0, n)}
		g    errgroup.Group
	)
	start := time.Now()
	for range c {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return nil
				}
				t0 := time.Now()
				err := request(ctx, t, o, fmt.Sprintf("%s-%d", prefix, i))
				d := time.Since(t0)
				s.mu.Lock()
				s.latencies = append(s.latencies, d)
				if err != nil {
					if s.errors == 0 {
						s.first = err.Error()
					}
					s.errors++
				}
				if o.Progress != nil {
					o.Progress(c, len(s.latencies), n)
				}
				s.mu.Unlock()
			}
		})
	}
	_ = g.Wait() // workers return no errors: failures are data
	return summarize(c, s.latencies, s.errors, time.Since(start), s.first)
}

// request is one create → execute → terminate. A sandbox that was created
// is terminated even when the execution failed.
func request(ctx context.Context, t Target, o Options, id string) error {
	ctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
	defer cancel()
	if _, err := t.Create(ctx, id, server.Requirements{}); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	_, execErr := t.Execute(ctx, id, o.Code)
	if err := t.Terminate(context.WithoutCancel(ctx), id); err != nil && execErr == nil {
		return fmt.Errorf("terminate: %w", err)
	}
	if execErr != nil {
		return fmt.Errorf("execute: %w", execErr)
	}
	return nil
}

func summarize(c int, lat []time.Duration, errs int, elapsed time.Duration, first string) Level {
	l := Level{Concurrency: c, Requests: len(lat), Errors: errs, FirstError: first}
	if len(lat) == 0 {
		return l
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	l.ErrorRate = float64(errs) / float64(len(lat))
	l.AvgMS = ms(sum / time.Duration(len(lat)))
	l.P50MS = ms(percentile(lat, 0.50))
	l.P99MS = ms(percentile(lat, 0.99))
	l.MaxMS = ms(lat[len(lat)-1])
	if elapsed > 0 {
		l.ThroughputPerS = float64(len(lat)) / elapsed.Seconds()
	}
	return l
}

// percentile is the nearest-rank percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
