package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// Defaults of OpenOptions.
const (
	// DefaultDuration is how long each rate of an open-model run lasts.
	DefaultDuration = 10 * time.Second
	// DefaultOpenCode is what each user executes in its own sandbox;
	// DefaultOpenInit runs once per sandbox at set-up.
	DefaultOpenCode = "n += 1"
	DefaultOpenInit = "n = 0"
	// DefaultConnections bounds the requests outstanding at once.
	DefaultConnections = 2048
	// DefaultSetupConcurrency is how many sandboxes set-up and tear-down
	// create or terminate at once.
	DefaultSetupConcurrency = 64
	// KneeP99 is the p99 latency a rate must stay within to count
	// towards the knee.
	KneeP99 = 100 * time.Millisecond
)

// ErrSetup reports that set-up could not create every user's sandbox.
var ErrSetup = errors.New("bench: set-up failed")

// OpenOptions configure RunOpen, the open-model load test: Users
// sandboxes, one per user, receive executions at an aggregate rate
// whatever the latency. Zero fields mean the defaults.
type OpenOptions struct {
	// Users is the number of users, each with its own sandbox (required).
	Users int
	// Rates are the aggregate rates to run, one step each, in
	// executions per second (required, each > 0). A user's think time is
	// Users/rate.
	Rates []float64
	// Duration is how long each rate runs (default DefaultDuration).
	Duration time.Duration
	// Code is what each request executes (default DefaultOpenCode), after
	// Init ran once in each sandbox at set-up (default DefaultOpenInit).
	Code, Init string
	// Connections bounds the requests outstanding at once (default
	// DefaultConnections). A request due while all are busy is sent as
	// soon as one frees up; its latency still counts from when it was
	// due, so a stall is never hidden (no coordinated omission).
	Connections int
	// RequestTimeout bounds one request from when it was due (default
	// DefaultRequestTimeout).
	RequestTimeout time.Duration
	// SetupConcurrency is how many sandboxes set-up and tear-down handle
	// at once (default DefaultSetupConcurrency).
	SetupConcurrency int
	// Progress, when set, is called as set-up ("set-up") and tear-down
	// ("tear-down") advance; calls are serialised.
	Progress func(phase string, done, total int)
}

// Step is the outcome of one rate. Latencies run from each request's
// scheduled send time to its answer, failures included.
type Step struct {
	// TargetRate is the rate asked for; AchievedRate is the successful
	// executions per second, over the time from the step's start to the
	// last answer.
	TargetRate   float64 `json:"target_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	// ErrorsByKind counts the failures by problem type ("overloaded",
	// …) or KindTimeout, KindConnection, KindOther.
	ErrorsByKind map[string]int `json:"errors_by_kind"`
	percentiles
	// NodeCPUPerRequestUS is the node's CPU (user and system) per request
	// of the step, in µs, when the target reports it (MemorySampler): 0
	// otherwise.
	NodeCPUPerRequestUS float64 `json:"node_cpu_per_request_us,omitempty"`
	// Admitted are the latencies of the successful requests alone: past
	// the knee a node refuses the excess (429 overloaded, with
	// Retry-After) so that the requests it admits stay fast.
	Admitted percentiles `json:"admitted"`
	// FirstError is the first failure's message, for people.
	FirstError string `json:"-"`
}

// OpenReport is the outcome of RunOpen.
type OpenReport struct {
	Users int `json:"users"`
	// Code is what each request executed.
	Code      string  `json:"code"`
	DurationS float64 `json:"duration_s"`
	// SetupS is how long creating the users' sandboxes took.
	SetupS float64 `json:"setup_s"`
	// SettleS is how long the node then took to be ready for the first
	// rate (a Settler target; 0 otherwise).
	SettleS float64 `json:"settle_s,omitempty"`
	Steps   []Step  `json:"steps"`
	// Memory is the node's memory before set-up, after it (every user's
	// sandbox live) and after the last step; nil when the target does
	// not report it.
	Memory []NodeMemory `json:"node_memory,omitempty"`
	// Knee is the highest rate whose p99 is within KneeP99 without
	// errors; 0 when no rate is.
	Knee float64 `json:"knee_rate"`
}

func (o OpenOptions) withDefaults() OpenOptions {
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Code == "" {
		o.Code = DefaultOpenCode
	}
	if o.Init == "" {
		o.Init = DefaultOpenInit
	}
	if o.Connections <= 0 {
		o.Connections = DefaultConnections
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.SetupConcurrency <= 0 {
		o.SetupConcurrency = DefaultSetupConcurrency
	}
	return o
}

func (o OpenOptions) validate() error {
	if o.Users < 1 {
		return fmt.Errorf("bench: %d users: want at least 1", o.Users)
	}
	if len(o.Rates) == 0 {
		return errors.New("bench: no rate")
	}
	for _, r := range o.Rates {
		if !(r > 0) {
			return fmt.Errorf("bench: rate %v: want more than 0", r)
		}
	}
	return nil
}

// RunOpen creates o.Users sandboxes, runs each rate of o.Rates for
// o.Duration against them, and terminates them. It returns ErrSetup (and
// terminates what it created) when a sandbox cannot be created, and
// ctx's error with the steps done so far when ctx is done.
func RunOpen(ctx context.Context, t Target, o OpenOptions) (OpenReport, error) {
	if err := o.validate(); err != nil {
		return OpenReport{}, err
	}
	o = o.withDefaults()
	run := make([]byte, 3)
	_, _ = rand.Read(run)
	users := make([]string, o.Users)
	for i := range users {
		users[i] = fmt.Sprintf("bench-%s-u%d", hex.EncodeToString(run), i)
	}
	rep := OpenReport{Users: o.Users, Code: o.Code, DurationS: o.Duration.Seconds()}
	rep.record(readNode(ctx, t), "before set-up")
	t0 := time.Now()
	created, err := setUp(ctx, t, users, o)
	defer tearDown(t, created, o)
	if err != nil {
		return rep, err
	}
	rep.SetupS = time.Since(t0).Seconds()
	if st, ok := t.(Settler); ok {
		t1 := time.Now()
		if err := st.Settle(ctx, min(o.Connections, SettleConnections)); err != nil {
			return rep, fmt.Errorf("bench: after set-up: %w", err)
		}
		rep.SettleS = time.Since(t1).Seconds()
	}
	node := readNode(ctx, t) // read once at each boundary: the end of a step is the start of the next
	rep.record(node, "after set-up")
	next := 0 // the user of the next request: users take turns
	for _, rate := range o.Rates {
		s := runStep(ctx, t, users, &next, rate, o)
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		after := readNode(ctx, t)
		s.NodeCPUPerRequestUS = cpuPerRequest(node, after, s.Requests)
		node = after
		rep.Steps = append(rep.Steps, s)
	}
	rep.record(node, "after the last rate")
	rep.Knee = Knee(rep.Steps, KneeP99)
	return rep, nil
}

// SettleConnections is how many connections a Settler opens ahead of
// the first rate (at most OpenOptions.Connections).
const SettleConnections = 256

// Settler is a Target that can get ready for the first rate once set-up
// is done: open n connections ahead (a rate would otherwise dial them in
// its first moments, while its requests are due) and wait until the node
// is ready again, since set-up, which creates sandboxes as fast as the
// node takes them, may leave it refusing work for a moment. wrk opens
// its connections ahead in the same way.
type Settler interface {
	Settle(ctx context.Context, n int) error
}

// NodeMemory is what a node reports of its memory at one point of a run.
type NodeMemory struct {
	When string `json:"when"`
	// RSSBytes is the node process's resident set; HeapBytes its Go heap
	// in use; Sandboxes its live sandbox activations.
	RSSBytes  uint64 `json:"rss_bytes"`
	HeapBytes uint64 `json:"heap_bytes"`
	Sandboxes uint64 `json:"sandboxes"`
	// CPUSeconds is the node process's CPU time so far (user and
	// system).
	CPUSeconds float64 `json:"cpu_seconds"`
}

// MemorySampler is a Target that can report its node's memory.
type MemorySampler interface {
	NodeMemory(ctx context.Context) (NodeMemory, error)
}

// readNode reads the node's memory and CPU, when t reports them: nil when
// it does not, or fails to (the load test's own results stand without).
func readNode(ctx context.Context, t Target) *NodeMemory {
	ms, ok := t.(MemorySampler)
	if !ok {
		return nil
	}
	m, err := ms.NodeMemory(ctx)
	if err != nil {
		return nil
	}
	return &m
}

// cpuPerRequest is the node's CPU between two samples per request, in µs
// (0 when either is missing).
func cpuPerRequest(before, after *NodeMemory, requests int) float64 {
	if before == nil || after == nil || before.CPUSeconds <= 0 || requests == 0 {
		return 0
	}
	return (after.CPUSeconds - before.CPUSeconds) * 1e6 / float64(requests)
}

// record adds a sample of the node's memory, taken when.
func (r *OpenReport) record(m *NodeMemory, when string) {
	if m != nil {
		at := *m
		at.When = when
		r.Memory = append(r.Memory, at)
	}
}

// Knee returns the highest target rate of steps whose p99 is at most p99
// and that had no errors, or 0 when none is.
func Knee(steps []Step, p99 time.Duration) float64 {
	var knee float64
	for _, s := range steps {
		if s.Errors == 0 && s.Requests > 0 && s.P99MS <= ms(p99) && s.TargetRate > knee {
			knee = s.TargetRate
		}
	}
	return knee
}

// setUp creates the users' sandboxes and runs o.Init in each. It returns
// those it created, all of them unless err is set.
func setUp(ctx context.Context, t Target, users []string, o OpenOptions) (created []string, err error) {
	ok := make([]bool, len(users))
	p := newPhase("set-up", len(users), o.Progress)
	var failed atomic.Pointer[error]
	forEach(ctx, len(users), o.SetupConcurrency, func(ctx context.Context, i int) {
		if failed.Load() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
		defer cancel()
		err := again(ctx, func() error {
			_, err := t.Create(ctx, users[i], server.Requirements{})
			return err
		})
		if err == nil {
			ok[i] = true
			err = again(ctx, func() error {
				_, err := t.Execute(ctx, users[i], o.Init)
				return err
			})
		}
		if err != nil {
			err = fmt.Errorf("%w: sandbox %s: %w", ErrSetup, users[i], err)
			failed.CompareAndSwap(nil, &err)
		}
		p.done()
	})
	for i, id := range users {
		if ok[i] {
			created = append(created, id)
		}
	}
	if e := failed.Load(); e != nil {
		return created, *e
	}
	return created, ctx.Err()
}

// again calls fn until it succeeds or fails for good: set-up and
// tear-down are not measured, and a node that refuses work for now (429,
// 503: it sheds load) is asked again after its Retry-After.
func again(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		var ae *api.Error
		if err == nil || !errors.As(err, &ae) || !ae.Temporary() {
			return err
		}
		wait := max(ae.RetryAfter, 100*time.Millisecond)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// tearDown terminates the sandboxes, even when the run was cancelled.
func tearDown(t Target, ids []string, o OpenOptions) {
	p := newPhase("tear-down", len(ids), o.Progress)
	forEach(context.Background(), len(ids), o.SetupConcurrency, func(ctx context.Context, i int) {
		ctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
		defer cancel()
		_ = again(ctx, func() error { return t.Terminate(ctx, ids[i]) }) // what cannot be terminated stays; nothing to report it to
		p.done()
	})
}

// forEach calls fn for 0..n-1 from c goroutines and returns when all
// returned; it stops handing out indexes when ctx is done.
func forEach(ctx context.Context, n, c int, fn func(ctx context.Context, i int)) {
	var next atomic.Int64
	var g errgroup.Group
	for range min(c, n) {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return nil
				}
				fn(ctx, i)
			}
		})
	}
	_ = g.Wait()
}

// phase counts the finished items of set-up or tear-down for Progress.
type phase struct {
	mu       sync.Mutex // protects n, serialises progress
	name     string
	n, total int
	progress func(phase string, done, total int)
}

func newPhase(name string, total int, progress func(string, int, int)) *phase {
	return &phase{name: name, total: total, progress: progress}
}

func (p *phase) done() {
	if p.progress == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.progress(p.name, p.n, p.total)
}
