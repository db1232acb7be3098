package supervision_test

// OTP's own test suite for supervisor (lib/stdlib/test/supervisor_SUITE.erl
// in erlang/otp), ported case by case: TestSupervisorSuite_<case>. This
// file: the groups sup_start, sup_start_map and sup_stop, and the API
// cases (child_adm, child_adm_simple, extra_return, child_specs,
// sup_flags). docs/supervision.md lists every case, and why the few that
// cannot apply to Go do not.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// suiteFlags are the suite's usual flags: {one_for_one, 2, 3600}.
func suiteFlags(s supervision.Strategy) supervision.Flags {
	return supervision.Flags{Strategy: s, Intensity: 2, Period: 3600 * time.Second}
}

// count is the suite's get_child_counts: [specs, active, supervisors,
// workers].
func (f *fixture) count() [4]int {
	f.t.Helper()
	n := f.counts()
	return [4]int{n.Specs, n.Active, n.Supervisors, n.Workers}
}

// countOf is count for another supervisor.
func countOf(t *testing.T, sup *supervision.Supervisor) [4]int {
	t.Helper()
	n, err := sup.CountChildren(t.Context())
	require.NoError(t, err)
	return [4]int{n.Specs, n.Active, n.Supervisors, n.Workers}
}

// children is WhichChildren's pids, in its order.
func (f *fixture) children() []*actor.PID {
	f.t.Helper()
	cs, err := f.sup.WhichChildren(f.ctx)
	require.NoError(f.t, err)
	out := make([]*actor.PID, len(cs))
	for i, c := range cs {
		out[i] = c.PID
	}
	return out
}

// kill makes pid exit with reason r and waits until its supervisor has
// dealt with the exit (the event after X is recorded).
func (f *fixture) kill(pid *actor.PID, r supervision.Reason) {
	f.t.Helper()
	f.kit.Root().Send(pid, &crash{R: r})
}

// started adds a supervisor child of fixture f's spec, with a nested spec.
func nested(id string, spec supervision.Spec, opts ...func(*supervision.ChildSpec)) supervision.ChildSpec {
	cs := supervision.ChildSpec{ID: id, Type: supervision.SupervisorChild, Start: supervision.Nested(spec)}
	for _, o := range opts {
		o(&cs)
	}
	return cs
}

func TestSupervisorSuite_sup_start_normal(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	<-sup.Done()
	assert.Equal(t, supervision.Shutdown, sup.Reason())
}

// A supervisor's init cannot return ignore in Go (its Spec is a value);
// the start function of a supervisor child can: the parent keeps the
// spec with no process, as for any ignored child.
func TestSupervisorSuite_sup_start_ignore_init(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	ignoring := supervision.ChildSpec{ID: "sub", Type: supervision.SupervisorChild,
		Start: func(*supervision.StartContext, ...any) (*actor.PID, error) { return nil, supervision.ErrIgnore }}
	pid, err := sup.StartChild(f.ctx, ignoring)
	require.NoError(t, err)
	assert.Nil(t, pid)
	assert.Equal(t, []string{"sub:undefined"}, f.which())
	assert.Equal(t, [4]int{1, 0, 1, 0}, f.count())
}

func TestSupervisorSuite_sup_start_ignore_child(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	f.plan("child1").set(func(p *plan) { p.ignore = 1 })
	pid, err := sup.StartChild(f.ctx, f.child("child1", shutdown(supervision.Timeout(time.Second))))
	require.NoError(t, err)
	assert.Nil(t, pid, "{ok, undefined}")
	pid2, err := sup.StartChild(f.ctx, f.child("child2", shutdown(supervision.Timeout(time.Second))))
	require.NoError(t, err)
	assert.Equal(t, []*actor.PID{pid2, nil}, f.children())
	assert.Equal(t, []string{"child2", "child1:undefined"}, f.which())
	assert.Equal(t, [4]int{2, 1, 0, 2}, f.count())
}

func TestSupervisorSuite_sup_start_ignore_temporary_child(t *testing.T) {
	f := newFixture(t)
	f.plan("child1").set(func(p *plan) { p.ignore = 1 })
	f.start(suiteFlags(supervision.OneForOne), f.child("child1", restart(supervision.Temporary)), f.child("child2", restart(supervision.Temporary)))
	assert.Equal(t, []string{"child2"}, f.which(), "the ignored temporary child's spec is not kept")
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_sup_start_ignore_temporary_child_start_child(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	f.plan("child1").set(func(p *plan) { p.ignore = 1 })
	pid, err := sup.StartChild(f.ctx, f.child("child1", restart(supervision.Temporary)))
	require.NoError(t, err)
	assert.Nil(t, pid)
	_, err = sup.StartChild(f.ctx, f.child("child2", restart(supervision.Temporary)))
	require.NoError(t, err)
	assert.Equal(t, []string{"child2"}, f.which())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_sup_start_ignore_temporary_child_start_child_simple(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(suiteFlags(0), restart(supervision.Temporary))
	f.plan("t").set(func(p *plan) { p.ignore = 1 })
	pid, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	assert.Nil(t, pid)
	pid2, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, []*actor.PID{pid2}, f.children())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_sup_start_ignore_permanent_child_start_child_simple(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(suiteFlags(0))
	f.plan("t").set(func(p *plan) { p.ignore = 1 })
	pid, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	assert.Nil(t, pid)
	pid2, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, []*actor.PID{pid2}, f.children())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
	// Regression in OTP: the supervisor terminates without error.
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	assert.Equal(t, supervision.Shutdown, sup.Reason())
}

// A supervisor's init cannot crash in Go (its Spec is a value); the start
// function of a supervisor child can: a panic is the child's start error,
// and its parent goes on.
func TestSupervisorSuite_sup_start_fail(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	_, err := sup.StartChild(f.ctx, supervision.ChildSpec{ID: "sub", Type: supervision.SupervisorChild,
		Start: func(*supervision.StartContext, ...any) (*actor.PID, error) { panic("badmatch") }})
	var pe *supervision.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "badmatch", pe.Value)
	assert.Empty(t, f.which())
}

func TestSupervisorSuite_sup_start_child_returns_error(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	reason := errors.New("reason")
	_, err := sup.StartChild(f.ctx, supervision.ChildSpec{ID: "child1",
		Start: func(*supervision.StartContext, ...any) (*actor.PID, error) { return nil, reason }})
	assert.Same(t, reason, err, "{error, reason}")
	// A start function that returns something else than the pid it
	// spawned (OTP: any other term) is a bad return.
	_, err = sup.StartChild(f.ctx, supervision.ChildSpec{ID: "child2",
		Start: func(sc *supervision.StartContext, _ ...any) (*actor.PID, error) {
			return sc.System().NewLocalPID("elsewhere"), nil
		}})
	assert.ErrorIs(t, err, supervision.ErrBadReturn)
	assert.Empty(t, f.which())
}

func TestSupervisorSuite_sup_start_restart_child_returns_error(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne), f.child("child1"))
	require.NoError(t, sup.TerminateChild(f.ctx, "child1"))
	f.plan("child1").set(func(p *plan) { p.fail = 1 })
	_, err := sup.RestartChild(f.ctx, "child1")
	assert.ErrorIs(t, err, errBoom)
	assert.Equal(t, []string{"child1:undefined"}, f.which(), "the spec is kept")
}

func TestSupervisorSuite_sup_start_child_returns_error_simple(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(suiteFlags(0))
	f.plan("t").set(func(p *plan) { p.fail = 2 })
	_, err := sup.StartChildWith(f.ctx, "return", "error")
	assert.Same(t, errBoom, err)
	_, err = sup.StartChildWith(f.ctx, "return", "error_reason")
	assert.Same(t, errBoom, err)
	assert.Empty(t, f.children())
}

func TestSupervisorSuite_sup_start_map(t *testing.T) {
	f := newFixture(t)
	sup := f.start(supervision.Flags{}, f.child("child1"), f.child("child2", shutdown(supervision.BrutalKill)),
		nested("child3", supervision.Spec{}))
	for id, want := range map[string]supervision.ChildSpec{
		"child1": {ID: "child1", Restart: supervision.Permanent, Shutdown: supervision.Timeout(5 * time.Second), Type: supervision.Worker},
		"child2": {ID: "child2", Restart: supervision.Permanent, Shutdown: supervision.BrutalKill, Type: supervision.Worker},
		"child3": {ID: "child3", Restart: supervision.Permanent, Shutdown: supervision.Infinity, Type: supervision.SupervisorChild},
	} {
		got, err := sup.GetChildSpec(f.ctx, id)
		require.NoError(t, err)
		assert.NotNil(t, got.Start)
		got.Start = nil
		assert.Equal(t, want, got, id)
	}
	_, err := sup.GetChildSpec(f.ctx, "child4")
	assert.ErrorIs(t, err, supervision.ErrNotFound)
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
}

func TestSupervisorSuite_sup_start_map_simple(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(supervision.Flags{}, restart(supervision.Temporary))
	for range 3 {
		pid, err := sup.StartChildWith(f.ctx)
		require.NoError(t, err)
		spec, err := sup.GetChildSpec(f.ctx, pid.Id)
		require.NoError(t, err)
		assert.Equal(t, supervision.Temporary, spec.Restart)
		assert.Equal(t, supervision.Timeout(5*time.Second), spec.Shutdown)
		assert.Equal(t, supervision.Worker, spec.Type)
	}
	stranger := f.kit.Root().Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	_, err := sup.GetChildSpec(f.ctx, stranger.Id)
	assert.ErrorIs(t, err, supervision.ErrNotFound, "not a child")
}

// The cases of a child spec that is not a map, or has a key OTP does not
// know, cannot be written in Go: a ChildSpec is a struct.
func TestSupervisorSuite_sup_start_map_faulty_specs(t *testing.T) {
	f := newFixture(t)
	_, err := f.tryStart(supervision.Flags{}, supervision.ChildSpec{Start: f.plan("x").start})
	var se *supervision.SpecError
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, supervision.ErrMissingID)
	assert.True(t, se.InStart, "{start_spec, missing_id}")
	_, err = f.tryStart(supervision.Flags{}, supervision.ChildSpec{ID: "child2"})
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, supervision.ErrMissingStart)
	assert.True(t, se.InStart)
}

func TestSupervisorSuite_sup_stop_infinity(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	_, err := sup.StartChild(f.ctx, nested("child1", supervision.Spec{}, shutdown(supervision.Infinity)))
	require.NoError(t, err)
	_, err = sup.StartChild(f.ctx, f.child("child2", shutdown(supervision.Infinity)))
	require.NoError(t, err)
	f.rec.Reset()
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	events := f.rec.WaitFor(4)
	assert.Equal(t, "T(child2)", events[0].String())
	assert.Equal(t, "T(child1)", events[2].String(), "after the nested supervisor's own exit")
	assert.Equal(t, supervision.Shutdown, events[2].Reason, "both exit with shutdown")
	assert.Equal(t, supervision.Shutdown, events[0].Reason)
}

// sup_stop_timeout: child2 sleeps through its shutdown of 1000 ms and is
// killed, child1 exits with shutdown; on the virtual clock the stop takes
// exactly the timeout.
func TestSupervisorSuite_sup_stop_timeout(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		kit := testkit.New(t)
		rec := testkit.NewRecorder(t, kit.System())
		sup, err := supervision.Start(kit.System(), supervision.Spec{Name: "sup_test", Flags: suiteFlags(supervision.OneForOne)})
		require.NoError(t, err)
		_, err = sup.StartChild(t.Context(), supervision.ChildSpec{ID: "child1", Start: supervision.Spawn(func() actor.Actor { return slowStop{} }),
			Shutdown: supervision.Timeout(time.Second)})
		require.NoError(t, err)
		_, err = sup.StartChild(t.Context(), supervision.ChildSpec{ID: "child2", Start: supervision.Spawn(func() actor.Actor { return slowStop{d: 200 * time.Second} }),
			Shutdown: supervision.Timeout(time.Second)})
		require.NoError(t, err)
		rec.Reset()
		start := time.Now()
		require.NoError(t, sup.Exit(t.Context(), supervision.Shutdown))
		assert.Equal(t, time.Second, time.Since(start))
		rec.ExpectSequence("K(child2)", "T(child1)", "Sup⇒shutdown")
		time.Sleep(200 * time.Second) // let the abandoned child2 finish its cleanup before the leak check
	})
}

func TestSupervisorSuite_sup_stop_brutal_kill(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	_, err := sup.StartChild(f.ctx, f.child("child1", shutdown(supervision.Timeout(time.Second))))
	require.NoError(t, err)
	_, err = sup.StartChild(f.ctx, f.child("child2", shutdown(supervision.BrutalKill)))
	require.NoError(t, err)
	f.rec.Reset()
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	f.expect("K(child2)", "T(child1)", "Sup⇒shutdown")
	assert.Zero(t, f.plan("child2").clean.Load(), "killed")
	assert.EqualValues(t, 1, f.plan("child1").clean.Load(), "shutdown")
}

// extra_return: a start function returns {ok, Pid, Info} in OTP; a Go
// StartFunc returns a pid and an error, with no third value. The rest of
// the case, the API around one child, applies.
func TestSupervisorSuite_extra_return(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne), f.child("child1"))
	cpid := f.pid("child1")
	assert.ErrorIs(t, sup.TerminateChild(f.ctx, "hej"), supervision.ErrNotFound)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "hej"), supervision.ErrNotFound)
	_, err := sup.RestartChild(f.ctx, "hej")
	assert.ErrorIs(t, err, supervision.ErrNotFound)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "child1"), supervision.ErrRunning)
	_, err = sup.RestartChild(f.ctx, "child1")
	assert.ErrorIs(t, err, supervision.ErrRunning)
	assert.Equal(t, []*actor.PID{cpid}, f.children())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())

	require.NoError(t, sup.TerminateChild(f.ctx, "child1"))
	assert.Equal(t, []string{"child1:undefined"}, f.which())
	assert.Equal(t, [4]int{1, 0, 0, 1}, f.count())
	cpid2, err := sup.RestartChild(f.ctx, "child1")
	require.NoError(t, err)
	assert.Equal(t, []*actor.PID{cpid2}, f.children())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())

	require.NoError(t, sup.TerminateChild(f.ctx, "child1"))
	require.NoError(t, sup.TerminateChild(f.ctx, "child1"))
	require.NoError(t, sup.DeleteChild(f.ctx, "child1"))
	_, err = sup.RestartChild(f.ctx, "child1")
	assert.ErrorIs(t, err, supervision.ErrNotFound)
	assert.Empty(t, f.which())
	assert.Equal(t, [4]int{0, 0, 0, 0}, f.count())

	cpid3, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
	// It is restarted automatically.
	f.rec.Reset()
	f.kill(cpid3, boom)
	f.expect("X(child1,boom)", "S(child1)")
	cpid4 := f.pid("child1")
	require.NotNil(t, cpid4)
	assert.False(t, cpid4.Equal(cpid3))
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_child_adm(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne), f.child("child1"))
	cpid := f.pid("child1")
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())

	// Start of an already running process.
	_, err := sup.StartChild(f.ctx, f.child("child1"))
	var already *supervision.AlreadyStartedError
	require.ErrorAs(t, err, &already)
	assert.True(t, already.PID.Equal(cpid))

	// Termination.
	assert.ErrorIs(t, sup.TerminateChild(f.ctx, "hej"), supervision.ErrNotFound)
	require.NoError(t, sup.TerminateChild(f.ctx, "child1"))
	f.expect("T(child1)")
	assert.Equal(t, []string{"child1:undefined"}, f.which())
	assert.Equal(t, [4]int{1, 0, 0, 1}, f.count())
	require.NoError(t, sup.TerminateChild(f.ctx, "child1"), "like deleting something that does not exist, it succeeds")

	// Start of an existing but not running process.
	_, err = sup.StartChild(f.ctx, f.child("child1"))
	assert.ErrorIs(t, err, supervision.ErrAlreadyPresent)

	// Restart.
	cpid2, err := sup.RestartChild(f.ctx, "child1")
	require.NoError(t, err)
	assert.Equal(t, []*actor.PID{cpid2}, f.children())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
	_, err = sup.RestartChild(f.ctx, "child1")
	assert.ErrorIs(t, err, supervision.ErrRunning)
	_, err = sup.RestartChild(f.ctx, "child2")
	assert.ErrorIs(t, err, supervision.ErrNotFound)

	// Deletion.
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "child1"), supervision.ErrRunning)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "hej"), supervision.ErrNotFound)
	require.NoError(t, sup.TerminateChild(f.ctx, "child1"))
	require.NoError(t, sup.DeleteChild(f.ctx, "child1"))
	_, err = sup.RestartChild(f.ctx, "child1")
	assert.ErrorIs(t, err, supervision.ErrNotFound)
	assert.Empty(t, f.which())
	assert.Equal(t, [4]int{0, 0, 0, 0}, f.count())

	// Start.
	cpid3, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	assert.Equal(t, []*actor.PID{cpid3}, f.children())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())

	// Terminate with a pid is not allowed when not simple_one_for_one.
	assert.ErrorIs(t, sup.TerminateChildPID(f.ctx, cpid3), supervision.ErrNotFound)
	assert.Equal(t, []*actor.PID{cpid3}, f.children())

	// A supervisor that is not there: noproc.
	gone := f.startNamed("foo", suiteFlags(supervision.OneForOne))
	require.NoError(t, gone.Stop(f.ctx))
	_, err = gone.StartChild(f.ctx, f.child("child1"))
	assert.ErrorIs(t, err, supervision.ErrNoProc)
	assert.ErrorIs(t, gone.TerminateChild(f.ctx, "child1"), supervision.ErrNoProc)
	assert.ErrorIs(t, gone.DeleteChild(f.ctx, "child1"), supervision.ErrNoProc)
	_, err = gone.WhichChildren(f.ctx)
	assert.ErrorIs(t, err, supervision.ErrNoProc)
	_, err = gone.CountChildren(f.ctx)
	assert.ErrorIs(t, err, supervision.ErrNoProc)
}

// startNamed starts another top-level supervisor, stopped at the end of
// the test.
func (f *fixture) startNamed(name string, fl supervision.Flags, children ...supervision.ChildSpec) *supervision.Supervisor {
	f.t.Helper()
	sup, err := supervision.Start(f.kit.System(), supervision.Spec{Name: name, Flags: fl, Children: children, Clock: f.clock.Now})
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = sup.Stop(context.Background()) })
	return sup
}

func TestSupervisorSuite_child_adm_simple(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(suiteFlags(0))
	assert.Empty(t, f.children(), "children are all added dynamically")
	assert.Equal(t, [4]int{1, 0, 0, 0}, f.count())

	cpid1, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, []*actor.PID{cpid1}, f.children())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
	cpid2, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []*actor.PID{cpid1, cpid2}, f.children())
	assert.Equal(t, [4]int{1, 2, 0, 2}, f.count())

	// Termination.
	assert.ErrorIs(t, sup.TerminateChild(f.ctx, "child1"), supervision.ErrSimpleOneForOne)
	assert.Equal(t, [4]int{1, 2, 0, 2}, f.count())
	require.NoError(t, sup.TerminateChildPID(f.ctx, cpid1))
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
	_, alive := f.kit.System().ProcessRegistry.GetLocal(cpid1.Id)
	assert.False(t, alive)
	require.NoError(t, sup.TerminateChildPID(f.ctx, cpid1), "terminating a process that is gone is ok")
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
	stranger := f.kit.Root().Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	assert.ErrorIs(t, sup.TerminateChildPID(f.ctx, stranger), supervision.ErrNotFound, "a pid that is not a child")
	_, alive = f.kit.System().ProcessRegistry.GetLocal(stranger.Id)
	assert.True(t, alive)

	_, err = sup.RestartChild(f.ctx, "child1")
	assert.ErrorIs(t, err, supervision.ErrSimpleOneForOne)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "child1"), supervision.ErrSimpleOneForOne)
}

// child_specs: the bad specs a struct can hold (an invalid mfa, modules:
// nothing in Go) are refused by StartChild and CheckChildSpecs, and at
// supervisor start as {start_spec, …}.
func TestSupervisorSuite_child_specs(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	start := f.plan("child").start
	bad := []struct {
		spec supervision.ChildSpec
		err  error
	}{
		{supervision.ChildSpec{ID: "child"}, supervision.ErrMissingStart}, // B1: no start function
		{supervision.ChildSpec{ID: "child", Start: start, Restart: 7}, supervision.ErrInvalidRestartType},
		{supervision.ChildSpec{ID: "child", Start: start, Shutdown: -10}, supervision.ErrInvalidShutdown},
		{supervision.ChildSpec{ID: "child", Start: start, Type: 9}, supervision.ErrInvalidChildType},
	}
	for _, b := range bad {
		_, err := sup.StartChild(f.ctx, b.spec)
		var se *supervision.SpecError
		require.ErrorAs(t, err, &se)
		assert.ErrorIs(t, err, b.err)
		assert.False(t, se.InStart)
		assert.ErrorIs(t, supervision.CheckChildSpecs([]supervision.ChildSpec{b.spec}, supervision.Never), b.err)
	}
	good := []supervision.ChildSpec{
		{ID: "child", Start: start, Shutdown: supervision.Infinity, Type: supervision.SupervisorChild},
		{ID: "child", Start: start, Shutdown: supervision.Timeout(time.Second), Type: supervision.SupervisorChild},
		{ID: "child", Start: start, Restart: supervision.Temporary},
		{ID: "child", Start: start, Restart: supervision.Transient},
		{ID: "child", Start: start, Shutdown: supervision.Infinity},
	}
	for _, g := range good {
		assert.NoError(t, supervision.CheckChildSpecs([]supervision.ChildSpec{g}, supervision.Never))
	}
	assert.ErrorIs(t, supervision.CheckChildSpecs(good[:2], supervision.Never), supervision.ErrDuplicateChildName)
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))

	// Faulty child specs at supervisor start.
	_, err := f.tryStart(suiteFlags(supervision.OneForOne), bad[0].spec)
	var se *supervision.SpecError
	require.ErrorAs(t, err, &se)
	assert.True(t, se.InStart)
	_, err = f.tryStart(suiteFlags(supervision.SimpleOneForOne), bad[1].spec)
	assert.ErrorIs(t, err, supervision.ErrInvalidRestartType)
	// simple_one_for_one needs exactly one child.
	_, err = f.tryStart(suiteFlags(supervision.SimpleOneForOne))
	assert.ErrorIs(t, err, supervision.ErrBadStartSpec)
	_, err = f.tryStart(suiteFlags(supervision.SimpleOneForOne), good[0], good[1])
	assert.ErrorIs(t, err, supervision.ErrBadStartSpec)
}

// sup_flags: flags of a wrong type (infinity for a number, a tuple of
// the wrong size) and unknown flags cannot be written in Go: Flags is a
// struct of typed fields. A zero Period is Go's zero value and selects
// OTP's defaults; a period that is not a positive whole number of seconds
// is invalid_period, as OTP's 0 is.
func TestSupervisorSuite_sup_flags(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		flags supervision.Flags
		err   error
	}{
		{supervision.Flags{Strategy: 9}, supervision.ErrInvalidStrategy},
		{supervision.Flags{Intensity: -1, Period: time.Second}, supervision.ErrInvalidIntensity},
		{supervision.Flags{Intensity: 2, Period: -time.Second}, supervision.ErrInvalidPeriod},
		{supervision.Flags{Intensity: 2, Period: 1500 * time.Millisecond}, supervision.ErrInvalidPeriod},
		{supervision.Flags{AutoShutdown: 7}, supervision.ErrInvalidAutoShutdown},
	} {
		_, err := f.tryStart(tc.flags)
		var se *supervision.SpecError
		require.ErrorAs(t, err, &se)
		assert.ErrorIs(t, err, tc.err)
		assert.Empty(t, se.ID, "{supervisor_data, …}")
	}
	sup := f.start(supervision.Flags{})
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
}
