package supervision_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// Commands understood by the test worker.
type (
	// crash makes the worker exit with R.
	crash struct{ R supervision.Reason }
	// explode makes the worker panic.
	explode struct{}
	// ping is answered with pong.
	ping struct{}
	pong struct{ Args []any }
)

var errBoom = errors.New("boom")

// boom is the spec page's abnormal reason.
var boom = supervision.Abnormal(errBoom)

// worker is the test child: it answers ping, exits on crash and panics on
// explode. A non-nil gate makes its cleanup (Stopping) block until the gate
// is closed, to exercise shutdown timeouts and kills.
type worker struct {
	args     []any
	gate     chan struct{}
	entered  chan struct{}
	cleanups *atomic.Int32
}

func (w *worker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *ping:
		ctx.Respond(&pong{Args: w.args})
	case *crash:
		supervision.Exit(ctx, m.R)
	case *explode:
		panic("exploded")
	case *actor.Stopping:
		if w.entered != nil {
			w.entered <- struct{}{}
		}
		if w.gate != nil {
			<-w.gate
		}
		if w.cleanups != nil {
			w.cleanups.Add(1)
		}
	}
}

// plan scripts a child's start function: it fails the next Fail starts,
// ignores the next Ignore starts, and otherwise spawns a worker.
type plan struct {
	mu     sync.Mutex
	fail   int
	ignore int
	starts int
	// gate, when set, blocks the worker's cleanup until closed; entered
	// (buffered) receives a value when the cleanup begins.
	gate    chan struct{}
	entered chan struct{}
	clean   atomic.Int32
}

func (p *plan) start(sc *supervision.StartContext, args ...any) (*actor.PID, error) {
	p.mu.Lock()
	p.starts++
	switch {
	case p.fail > 0:
		p.fail--
		p.mu.Unlock()
		return nil, errBoom
	case p.ignore > 0:
		p.ignore--
		p.mu.Unlock()
		return nil, supervision.ErrIgnore
	}
	gate, entered := p.gate, p.entered
	p.mu.Unlock()
	return sc.Spawn(func() actor.Actor { return &worker{args: args, gate: gate, entered: entered, cleanups: &p.clean} })
}

// block makes the worker's cleanup wait for the returned release func;
// the release is also registered as a test cleanup so no goroutine stays
// blocked.
func (p *plan) block(t *testing.T) (release func()) {
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	p.set(func(p *plan) { p.gate, p.entered = gate, make(chan struct{}, 16) })
	return release
}

func (p *plan) set(f func(p *plan)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// fixture is one supervision scenario: an actor system, an event
// recorder, plans for each child id, and the supervisor under test.
type fixture struct {
	t     *testing.T
	kit   *testkit.Kit
	rec   *testkit.Recorder
	plans map[string]*plan
	sup   *supervision.Supervisor
	clock *fakeClock
	ctx   context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	kit := testkit.New(t)
	return &fixture{
		t:     t,
		kit:   kit,
		rec:   testkit.NewRecorder(t, kit.System()),
		plans: map[string]*plan{},
		clock: &fakeClock{now: time.Unix(1_000_000, 0)},
		ctx:   t.Context(),
	}
}

// plan returns the plan of child id, creating it.
func (f *fixture) plan(id string) *plan {
	p, ok := f.plans[id]
	if !ok {
		p = &plan{}
		f.plans[id] = p
	}
	return p
}

// child returns a permanent worker spec for id; opts adjust it.
func (f *fixture) child(id string, opts ...func(*supervision.ChildSpec)) supervision.ChildSpec {
	spec := supervision.ChildSpec{ID: id, Start: f.plan(id).start}
	for _, o := range opts {
		o(&spec)
	}
	return spec
}

func restart(r supervision.RestartType) func(*supervision.ChildSpec) {
	return func(s *supervision.ChildSpec) { s.Restart = r }
}

func shutdown(sd supervision.ShutdownSpec) func(*supervision.ChildSpec) {
	return func(s *supervision.ChildSpec) { s.Shutdown = sd }
}

func significant(s *supervision.ChildSpec) { s.Significant = true }

// flags returns the default flags of the spec page: intensity 5, period 10.
func flags(strategy supervision.Strategy) supervision.Flags {
	return supervision.Flags{Strategy: strategy, Intensity: 5, Period: 10 * time.Second}
}

// start starts the supervisor under test and clears the recorder.
func (f *fixture) start(fl supervision.Flags, children ...supervision.ChildSpec) *supervision.Supervisor {
	f.t.Helper()
	sup, err := f.tryStart(fl, children...)
	require.NoError(f.t, err)
	// Start is synchronous and events are published on the supervisor's
	// goroutine before it returns: the start events are all recorded.
	f.rec.Reset()
	return sup
}

func (f *fixture) tryStart(fl supervision.Flags, children ...supervision.ChildSpec) (*supervision.Supervisor, error) {
	sup, err := supervision.Start(f.kit.System(), supervision.Spec{Name: "sup", Flags: fl, Children: children, Clock: f.clock.Now})
	if err == nil {
		f.sup = sup
		f.t.Cleanup(func() { _ = sup.Stop(context.Background()) })
	}
	return sup, err
}

// pid returns the running pid of child id (nil when not running).
func (f *fixture) pid(id string) *actor.PID {
	f.t.Helper()
	children, err := f.sup.WhichChildren(f.ctx)
	require.NoError(f.t, err)
	for _, c := range children {
		if c.ID == id {
			return c.PID
		}
	}
	return nil
}

// ids returns the ids of WhichChildren, in its order, with "-" for a
// child that is not running.
func (f *fixture) which() []string {
	f.t.Helper()
	children, err := f.sup.WhichChildren(f.ctx)
	require.NoError(f.t, err)
	out := make([]string, len(children))
	for i, c := range children {
		switch {
		case c.PID != nil:
			out[i] = c.ID
		case c.Restarting:
			out[i] = c.ID + ":restarting"
		default:
			out[i] = c.ID + ":undefined"
		}
	}
	return out
}

// exit makes child id exit with reason r.
func (f *fixture) exit(id string, r supervision.Reason) {
	f.t.Helper()
	pid := f.pid(id)
	require.NotNil(f.t, pid, "child %s is not running", id)
	f.kit.Root().Send(pid, &crash{R: r})
}

// expect waits for the events and asserts their exact order.
func (f *fixture) expect(events ...string) {
	f.t.Helper()
	f.rec.ExpectSequence(events...)
	f.rec.Reset()
}

// counts returns CountChildren.
func (f *fixture) counts() supervision.Counts {
	f.t.Helper()
	n, err := f.sup.CountChildren(f.ctx)
	require.NoError(f.t, err)
	return n
}

// ping checks that pid answers.
func (f *fixture) ping(pid *actor.PID) *pong {
	f.t.Helper()
	res, err := f.kit.Root().RequestFuture(pid, &ping{}, 3*time.Second).Result()
	require.NoError(f.t, err)
	return res.(*pong)
}

// fakeClock is an injectable clock for restart intensity.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
