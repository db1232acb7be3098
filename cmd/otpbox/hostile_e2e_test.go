package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
)

// TestHostilePrograms attacks one node the way the issue that shaped the
// sandbox runtime did, one attack class at a time, while a neighbour
// sandbox keeps running `1 + 1`. For each attack it asserts what must
// hold: the attacker gets a clear error of the expected kind, the node
// stays live and within memory, every one of the neighbour's executions
// succeeds, and the attacker's sandbox holds nothing afterwards (nothing
// runs between executions). It logs the figures the README reports: the
// node's peak RSS, the CPU it used in the half second after the attack
// returned, the neighbour's p99, and how long the attack took to stop.
func TestHostilePrograms(t *testing.T) {
	bin := binary(t)
	p := startNode(t, bin, t.TempDir(), "--admin", "off", "--log-level", "error")
	go func() { // drain the log: a node blocked on stderr would stall
		for range p.lines {
		}
	}()
	pid := p.cmd.Process.Pid
	c, err := api.NewClient(&api.Config{Address: "http://" + p.http, Retry: api.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	if _, err := c.Sandboxes().Create(ctx, "neighbour", api.Requirements{}); err != nil {
		t.Fatal(err)
	}

	const worker = `
def init(args):
    return 0
`
	attacks := []struct {
		name  string
		setup string   // run first, must succeed
		code  string   // the attack
		want  api.Kind // the attacker's error
		limit string   // and its limit, for limit_exceeded
		req   api.Requirements
		noisy int // run the attack this many times at once, in as many sandboxes
	}{
		{name: "background loop", code: worker + `
def spin(msg, state):
    while True:
        pass
sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=init, handle_cast=spin)}]))
cast(whereis(sup, "w"), 0)
`, want: api.ErrLimitExceeded, limit: "steps"},
		{name: "self-cast", setup: worker + `
def again(msg, state):
    cast(self(), msg)
    return state + 1
sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=init, handle_cast=again)}]))
`, code: `cast(whereis(sup, "w"), 1)`, want: api.ErrLimitExceeded, limit: "steps"},
		{name: "cast backlog", setup: worker + `
def slow(msg, state):
    for i in range(100):
        pass
    return state
pool = start_supervisor(supervisor(strategy="simple_one_for_one", children=[{"start": worker(init=init, handle_cast=slow)}]))
ws = [start_child(pool, ()) for i in range(60)]
`, code: "for i in range(1000):\n    for w in ws:\n        cast(w, i)", want: api.ErrLimitExceeded, limit: "steps"},
		{name: "restart storm", code: `
def boom(args):
    cast(self(), "die")
    return 0
def die(msg, state):
    fail("again")
start_supervisor(supervisor(intensity=1000000000, period=1, children=[{"id": "w", "start": worker(init=boom, handle_cast=die)}]))
`, want: api.ErrLimitExceeded, limit: "steps"},
		{name: "worker state growth", setup: worker + `
def grow(msg, state):
    return state + [msg] * 1000
sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=lambda a: [], handle_cast=grow)}]))
`, code: "for i in range(100):\n    cast(whereis(sup, \"w\"), \"x\" * 1000)", want: api.ErrLimitExceeded, limit: "heap"},
		{name: "nested values through mailboxes", setup: worker + `
def keep(msg, state):
    return msg
sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(init=init, handle_cast=keep)}]))
`, code: "x = [1]\nfor i in range(30):\n    x = [x, x]\ncast(whereis(sup, \"w\"), x)\nx = None", want: ""},
		{name: "huge client limits", code: "1 + 1", req: api.Requirements{Limits: api.Limits{MaxSteps: 1e15, MaxDuration: time.Hour, MaxHeapBytes: 8 << 30}},
			want: api.ErrInvalidRequirements},
		{name: "mass supervisors", code: "for i in range(60000):\n    start_supervisor(supervisor())", want: api.ErrLimitExceeded, limit: "actors"},
		{name: "uncancellable hashing", code: "t = (1,)\nfor i in range(64):\n    t = (t, t)\n{t: 1}", want: api.ErrLimitExceeded, limit: "steps"},
		{name: "noisy neighbours", code: "while True:\n    pass", want: api.ErrLimitExceeded,
			req: api.Requirements{Limits: api.Limits{MaxSteps: 100_000_000, MaxDuration: 2 * time.Second}}, noisy: 8},
	}
	var report []string
	for i, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			n := max(a.noisy, 1)
			ids := make([]string, n)
			for k := range ids {
				ids[k] = fmt.Sprintf("attacker-%d-%d", i, k)
				_, err := c.Sandboxes().Create(ctx, ids[k], a.req)
				if a.want == api.ErrInvalidRequirements {
					var e *api.Error
					if !errors.As(err, &e) || e.Kind != a.want || !strings.Contains(e.Detail, "ceiling") {
						t.Fatalf("create with %+v = %v, want %s naming the ceiling", a.req, err, a.want)
					}
					report = append(report, fmt.Sprintf("| %s | refused at create (400, %s) | | | | |", a.name, e.Detail))
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if a.setup != "" {
					if _, err := c.Sandboxes().Exec(ctx, ids[k], a.setup); err != nil {
						t.Fatalf("setup: %v", err)
					}
				}
			}

			stopNeighbour, neighbour := runNeighbour(t, c)
			cpu0 := cpuTime(t, pid)
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, n)
			for k := range ids {
				wg.Go(func() { _, errs[k] = c.Sandboxes().Exec(ctx, ids[k], a.code) })
			}
			wg.Wait()
			stopped := time.Since(start)
			cpuAttack := cpuTime(t, pid) - cpu0
			// What the node does once the attack returned: nothing of the
			// attacker's runs between executions.
			cpu1 := cpuTime(t, pid)
			time.Sleep(500 * time.Millisecond) // a measuring window, not a synchronisation
			cpuAfter := cpuTime(t, pid) - cpu1
			lat := stopNeighbour()

			for k, err := range errs {
				if a.want == "" {
					if err != nil {
						t.Fatalf("attack %d = %v, want success", k, err)
					}
					continue
				}
				var e *api.Error
				if !errors.As(err, &e) || e.Kind != a.want || (a.limit != "" && e.Limit != a.limit) {
					t.Fatalf("attack %d = %v, want %s (%s)", k, err, a.want, a.limit)
				}
			}
			for _, err := range neighbour.errs() {
				t.Errorf("the neighbour's execution failed: %v", err)
			}
			if resp, err := http.Get("http://" + p.http + "/v1/health/live"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("node not live after the attack: %v", err)
			} else {
				resp.Body.Close()
			}
			rss := peakRSS(t, pid)
			if rss > 512<<20 {
				t.Errorf("node peak RSS %d MiB, want under 512 MiB", rss>>20)
			}
			for _, id := range ids {
				tree, err := c.Sandboxes().Tree(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if a.want != "" && tree.Root != nil && len(tree.Root.Children) > 0 && a.setup == "" {
					t.Errorf("%s: the failed attack left a tree", id)
				}
			}
			report = append(report, fmt.Sprintf("| %s | %s | %d MiB | %v | %v | %v |", a.name, kindOf(errs[0]),
				rss>>20, cpuAfter.Round(time.Millisecond), p99(lat).Round(100*time.Microsecond), stopped.Round(time.Millisecond)))
			t.Logf("attack used %v of CPU", cpuAttack.Round(time.Millisecond))
		})
	}
	t.Log("\n| attack | answer | node peak RSS | CPU in the 0.5 s after | neighbour p99 (1 + 1) | stopped after |\n|---|---|---|---|---|---|\n" + strings.Join(report, "\n"))
}

func kindOf(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%d %s (%s)", e.StatusCode, e.Kind, e.Limit)
	}
	if err == nil {
		return "200"
	}
	return err.Error()
}

// neighbourRun is a sandbox running `1 + 1` over and over.
type neighbourRun struct {
	mu   sync.Mutex
	lat  []time.Duration
	errl []error
}

func (n *neighbourRun) errs() []error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.errl)
}

// runNeighbour starts the neighbour; stop ends it and returns its
// latencies.
func runNeighbour(t *testing.T, c *api.Client) (stop func() []time.Duration, n *neighbourRun) {
	n = &neighbourRun{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			start := time.Now()
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := c.Sandboxes().Exec(rctx, "neighbour", "1 + 1")
			rcancel()
			n.mu.Lock()
			if err != nil && ctx.Err() == nil {
				n.errl = append(n.errl, err)
			} else if err == nil {
				n.lat = append(n.lat, time.Since(start))
			}
			n.mu.Unlock()
		}
	}()
	return func() []time.Duration {
		cancel()
		<-done
		n.mu.Lock()
		defer n.mu.Unlock()
		return slices.Clone(n.lat)
	}, n
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, len(lat)*99/100)]
}

// cpuTime is the CPU (user and system) the process used so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// Fields after the command (which may hold spaces) start after ") ".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// peakRSS is the process's peak resident set (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
