package bench_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/bench"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// users is a fake target for the open model, run in a synctest bubble:
// each execution takes serve(id, i) of virtual time (i counts executions
// from 0, set-up's included) and fails with fail(id, i) when set (i is -1
// for a create). Both are called with mu held.
type users struct {
	serve func(id string, i int) time.Duration
	fail  func(id string, i int) error

	mu      sync.Mutex // protects the fields below
	n       int
	boxes   map[string]int // executions per live sandbox
	created int
}

func newUsers() *users {
	return &users{boxes: make(map[string]int), serve: func(string, int) time.Duration { return time.Millisecond }}
}

func (u *users) Create(ctx context.Context, id string, _ server.Requirements) (*server.Info, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.failure(id, -1); err != nil {
		return nil, err
	}
	u.boxes[id] = 0
	u.created++
	return &server.Info{ID: id}, nil
}

func (u *users) failure(id string, i int) error {
	if u.fail == nil {
		return nil
	}
	return u.fail(id, i)
}

func (u *users) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	u.mu.Lock()
	i := u.n
	u.n++
	u.boxes[id]++
	err := u.failure(id, i)
	d := u.serve(id, i) // under mu: serve may look at boxes
	u.mu.Unlock()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return &server.Result{}, nil
}

func (u *users) Terminate(ctx context.Context, id string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.boxes, id)
	return nil
}

func (u *users) live() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.boxes)
}

// TestOpenSchedule: the requests go out at the rate, the users taking
// turns, and the latency is the service time when nothing queues.
func TestOpenSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUsers()
		var counts map[string]int
		u.serve = func(id string, i int) time.Duration {
			if i == 10+99 { // the last request: count per user before tear-down
				counts = make(map[string]int)
				for id, n := range u.boxes {
					counts[id] = n
				}
			}
			return time.Millisecond
		}
		rep, err := bench.RunOpen(t.Context(), u, bench.OpenOptions{Users: 10, Rates: []float64{100}, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		s := rep.Steps[0]
		if s.Requests != 100 || s.Errors != 0 || s.P50MS != 1 || s.P99MS != 1 || s.MaxMS != 1 {
			t.Errorf("step = %+v, want 100 requests of 1 ms", s)
		}
		// 100 answers from 0 to 991 ms.
		if want := 100 / 0.991; s.AchievedRate < want-0.01 || s.AchievedRate > want+0.01 {
			t.Errorf("achieved rate = %v, want %v", s.AchievedRate, want)
		}
		if len(counts) != 10 {
			t.Fatalf("users = %v", counts)
		}
		for id, n := range counts {
			if n != 1+10 { // set-up's init, then 10 at 100 ms intervals
				t.Errorf("user %s ran %d executions, want 11", id, n)
			}
		}
		if rep.Knee != 100 || rep.Users != 10 || rep.DurationS != 1 {
			t.Errorf("report = %+v", rep)
		}
		if u.live() != 0 {
			t.Errorf("%d sandboxes left", u.live())
		}
	})
}

// settling is a target that needs a while after set-up before it is
// ready.
type settling struct {
	*users
	took  time.Duration
	conns int
	execs int // executions done when Settle was called
}

func (s *settling) Settle(ctx context.Context, n int) error {
	s.conns = n
	s.mu.Lock()
	s.execs = s.n
	s.mu.Unlock()
	time.Sleep(s.took) // virtual time in the bubble: the node getting ready
	return nil
}

// TestOpenSettles: a Settler target settles after set-up and before the
// first rate, with at most the connections allowed, and the report says
// how long it took.
func TestOpenSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &settling{users: newUsers(), took: 300 * time.Millisecond}
		rep, err := bench.RunOpen(t.Context(), s, bench.OpenOptions{Users: 4, Rates: []float64{10}, Duration: time.Second, Connections: 3})
		if err != nil {
			t.Fatal(err)
		}
		if s.execs != 4 || s.conns != 3 {
			t.Errorf("settled after %d executions with %d connections; want 4 (set-up's) and 3", s.execs, s.conns)
		}
		if rep.SettleS != 0.3 || rep.Steps[0].Requests != 10 {
			t.Errorf("report = %+v", rep)
		}
	})
}

// TestOpenCoordinatedOmission: with one connection, a 500 ms stall of
// the first request delays the 45 requests due behind it, and each
// counts the delay from when it was due. A closed-loop tool would report
// one slow request; here p50 shows the stall.
func TestOpenCoordinatedOmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUsers()
		u.serve = func(_ string, i int) time.Duration {
			if i == 1 { // the first request after set-up's single init
				return 500 * time.Millisecond
			}
			return time.Millisecond
		}
		rep, err := bench.RunOpen(t.Context(), u, bench.OpenOptions{Users: 1, Rates: []float64{100}, Duration: time.Second, Connections: 1})
		if err != nil {
			t.Fatal(err)
		}
		s := rep.Steps[0]
		// Request k (due at 10k ms) is sent when k-1 answers, at 500+k-1
		// ms, until the queue drains: latency 500-9k ms for k ≤ 55.
		if s.Requests != 100 || s.MaxMS != 500 || s.P50MS < 45 || s.P50MS > 55 || s.P90MS < 400 {
			t.Errorf("step = %+v: the stall is hidden", s)
		}
		if rep.Knee != 0 {
			t.Errorf("knee = %v with p99 %v ms", rep.Knee, s.P99MS)
		}
	})
}

// TestOpenErrorsByKind: failures are counted by problem type, or as
// timeouts, and every sandbox is terminated.
func TestOpenErrorsByKind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUsers()
		overloaded := &api.Error{StatusCode: http.StatusTooManyRequests, Type: api.ProblemTypePrefix + "overloaded", Kind: api.ErrOverloaded}
		u.fail = func(id string, i int) error {
			switch {
			case i > 4 && i%10 == 0:
				return overloaded
			case i > 4 && i%10 == 1:
				return &api.Error{StatusCode: http.StatusBadGateway}
			}
			return nil
		}
		u.serve = func(_ string, i int) time.Duration {
			if i > 4 && i%10 == 2 {
				return time.Minute // past the request timeout
			}
			return time.Millisecond
		}
		rep, err := bench.RunOpen(t.Context(), u, bench.OpenOptions{Users: 5, Rates: []float64{50, 100}, Duration: time.Second, RequestTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range rep.Steps {
			n := int(s.TargetRate) / 10
			want := map[string]int{"overloaded": n, "http_502": n, bench.KindTimeout: n}
			if fmt.Sprint(s.ErrorsByKind) != fmt.Sprint(want) || s.Errors != 3*n || s.Requests != int(s.TargetRate) {
				t.Errorf("step %v: %d errors %v, want %v", s.TargetRate, s.Errors, s.ErrorsByKind, want)
			}
			if s.MaxMS != 1000 {
				t.Errorf("step %v: max = %v ms, want the 1 s timeout", s.TargetRate, s.MaxMS)
			}
			if s.Admitted.MaxMS != 1 || s.Admitted.P99MS != 1 {
				t.Errorf("step %v: admitted = %+v, want the 1 ms of the successes alone", s.TargetRate, s.Admitted)
			}
		}
		if rep.Knee != 0 || u.live() != 0 {
			t.Errorf("knee %v, %d sandboxes left", rep.Knee, u.live())
		}
	})
}

// TestOpenSetupFails: a sandbox that cannot be created stops the run
// before any load, and the others are terminated.
func TestOpenSetupFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUsers()
		var once sync.Once
		u.fail = func(id string, i int) error {
			var err error
			if i == -1 {
				once.Do(func() { err = errors.New("disk full") })
			}
			return err
		}
		var phases []string
		rep, err := bench.RunOpen(t.Context(), u, bench.OpenOptions{Users: 20, Rates: []float64{10}, SetupConcurrency: 1,
			Progress: func(p string, done, total int) {
				if len(phases) == 0 || phases[len(phases)-1] != p {
					phases = append(phases, p)
				}
			}})
		if !errors.Is(err, bench.ErrSetup) || len(rep.Steps) != 0 {
			t.Fatalf("RunOpen = %+v, %v; want ErrSetup", rep, err)
		}
		if u.live() != 0 || u.n != 0 {
			t.Errorf("%d sandboxes left, %d executions", u.live(), u.n)
		}
		if fmt.Sprint(phases) != "[set-up]" {
			t.Errorf("phases = %v", phases) // nothing to tear down: the first create failed
		}
	})
}

// TestOpenCancelled: a cancelled run returns the context's error and
// still terminates the sandboxes.
func TestOpenCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUsers()
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(1500*time.Millisecond, cancel)
		rep, err := bench.RunOpen(ctx, u, bench.OpenOptions{Users: 3, Rates: []float64{10, 20}, Duration: time.Second})
		if !errors.Is(err, context.Canceled) || len(rep.Steps) != 1 {
			t.Errorf("RunOpen = %+v, %v", rep, err)
		}
		if u.live() != 0 {
			t.Errorf("%d sandboxes left", u.live())
		}
	})
}

func TestOpenInvalid(t *testing.T) {
	for _, o := range []bench.OpenOptions{{Rates: []float64{1}}, {Users: 1}, {Users: 1, Rates: []float64{0}}} {
		if _, err := bench.RunOpen(context.Background(), newUsers(), o); err == nil {
			t.Errorf("RunOpen(%+v) succeeded", o)
		}
	}
}

func TestKnee(t *testing.T) {
	steps := []bench.Step{
		{TargetRate: 1000, Requests: 10},
		{TargetRate: 2000, Requests: 10},
		{TargetRate: 3000, Requests: 10, Errors: 1},
		{TargetRate: 4000, Requests: 10},
		{TargetRate: 5000, Requests: 0},
	}
	steps[0].P99MS, steps[1].P99MS, steps[2].P99MS, steps[3].P99MS = 5, 100, 20, 100.5
	if k := bench.Knee(steps, 100*time.Millisecond); k != 2000 {
		t.Errorf("knee = %v, want 2000", k)
	}
	if k := bench.Knee(steps[3:], 100*time.Millisecond); k != 0 {
		t.Errorf("knee = %v, want 0", k)
	}
}

// memoryUsers reports a node's memory that grows with its sandboxes.
type memoryUsers struct{ *users }

func (m memoryUsers) NodeMemory(context.Context) (bench.NodeMemory, error) {
	n := uint64(m.live())
	m.mu.Lock()
	cpu := 1 + float64(m.n)*100e-6 // 100 µs an execution
	m.mu.Unlock()
	return bench.NodeMemory{RSSBytes: 10<<20 + n*4096, HeapBytes: n * 2048, Sandboxes: n, CPUSeconds: cpu}, nil
}

// TestOpenSetupRetriesRefusals: set-up asks again after a node's 429
// (it sheds load); the node's memory is sampled before set-up, after it
// and after the last rate.
func TestOpenSetupRetriesRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUsers()
		refused := map[string]bool{}
		u.fail = func(id string, i int) error {
			if i == -1 && !refused[id] {
				refused[id] = true
				return &api.Error{StatusCode: http.StatusTooManyRequests, Kind: api.ErrOverloaded, RetryAfter: time.Second}
			}
			return nil
		}
		rep, err := bench.RunOpen(t.Context(), memoryUsers{u}, bench.OpenOptions{Users: 10, Rates: []float64{10}, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if u.created != 10 || len(rep.Steps) != 1 || rep.Steps[0].Errors != 0 {
			t.Fatalf("created %d, steps %+v", u.created, rep.Steps)
		}
		if got := rep.Steps[0].NodeCPUPerRequestUS; got < 99 || got > 101 {
			t.Errorf("node CPU per request = %v µs, want 100", got)
		}
		var when []string
		for _, m := range rep.Memory {
			when = append(when, fmt.Sprintf("%s: %d", m.When, m.Sandboxes))
		}
		if fmt.Sprint(when) != "[before set-up: 0 after set-up: 10 after the last rate: 10]" {
			t.Errorf("memory samples %v", when)
		}
	})
}
