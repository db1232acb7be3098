package supervision_test

// OTP's supervisor_SUITE, continued: the restart strategies
// (restart_one_for_one, restart_one_for_all, restart_simple_one_for_one,
// restart_rest_for_one), the restart types (normal_termination,
// shutdown_termination, abnormal_termination), multiple_restarts and
// temporary_bystander.

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// died is the reason the suite's children die with when told to die.
var died = supervision.Abnormal(errDied)

var errDied = errorString("died")

type errorString string

func (e errorString) Error() string { return string(e) }

// failRestarts makes child id's every start after the next one fail: the
// suite's supervisor_1:start_child(error).
func (f *fixture) failRestarts(id string) {
	f.plan(id).set(func(p *plan) { p.fail = 1 << 30 })
}

func TestSupervisorSuite_multiple_restarts(t *testing.T) {
	f := newFixture(t)
	sup := f.start(supervision.Flags{Strategy: supervision.OneForOne, Intensity: 1, Period: time.Second})
	_, err := sup.StartChild(f.ctx, f.child("child1", shutdown(supervision.BrutalKill)))
	require.NoError(t, err)
	f.rec.Reset()
	f.exit("child1", died)
	f.expect("X(child1,died)", "S(child1)")
	// Every 2.1 s, never more than one restart within the period.
	for range 3 {
		f.clock.Advance(2100 * time.Millisecond)
		f.exit("child1", died)
		f.expect("X(child1,died)", "S(child1)")
	}
	require.NoError(t, sup.TerminateChild(f.ctx, "child1"))
	require.NoError(t, sup.DeleteChild(f.ctx, "child1"))
	sup.Kill()
	<-sup.Done()
}

func TestSupervisorSuite_one_for_one(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	_, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	cpid2, err := sup.StartChild(f.ctx, f.child("child2"))
	require.NoError(t, err)
	f.rec.Reset()
	f.exit("child1", died)
	f.expect("X(child1,died)", "S(child1)")
	assert.Len(t, f.children(), 2)
	assert.Contains(t, f.children(), cpid2, "child2 is untouched")
	assert.Equal(t, [4]int{2, 2, 0, 2}, f.count())

	// The restart frequency: a third restart within the hour is too many.
	f.exit("child2", died)
	f.expect("X(child2,died)", "S(child2)")
	f.kill(f.children()[0], died)
	<-sup.Done()
	assert.Equal(t, supervision.Shutdown, sup.Reason())
}

func TestSupervisorSuite_one_for_one_escalation(t *testing.T) {
	f := newFixture(t)
	sup := f.start(supervision.Flags{Strategy: supervision.OneForOne, Intensity: 4, Period: 3600 * time.Second})
	_, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	_, err = sup.StartChild(f.ctx, f.child("child2"))
	require.NoError(t, err)
	f.failRestarts("child1")
	f.rec.Reset()
	f.exit("child1", died)
	f.expect("X(child1,died)", "F(child1)", "F(child1)", "F(child1)", "F(child1)", "Intensity", "T(child2)", "Sup⇒shutdown")
	<-sup.Done()
}

func TestSupervisorSuite_one_for_all(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForAll))
	cpid1, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	cpid2, err := sup.StartChild(f.ctx, f.child("child2"))
	require.NoError(t, err)
	f.rec.Reset()
	f.exit("child1", died)
	f.expect("X(child1,died)", "T(child2)", "S(child1)", "S(child2)")
	children := f.children()
	assert.Len(t, children, 2)
	assert.NotContains(t, children, cpid1, "no old child is alive")
	assert.NotContains(t, children, cpid2)
	assert.Equal(t, [4]int{2, 2, 0, 2}, f.count())

	f.kill(f.children()[0], died)
	f.expect("X(child2,died)", "T(child1)", "S(child1)", "S(child2)")
	f.kill(f.children()[0], died)
	<-sup.Done()
	assert.Equal(t, supervision.Shutdown, sup.Reason())
}

func TestSupervisorSuite_one_for_all_escalation(t *testing.T) {
	f := newFixture(t)
	sup := f.start(supervision.Flags{Strategy: supervision.OneForAll, Intensity: 4, Period: 3600 * time.Second})
	_, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	_, err = sup.StartChild(f.ctx, f.child("child2"))
	require.NoError(t, err)
	f.failRestarts("child2")
	f.rec.Reset()
	f.exit("child1", died)
	// child2 fails every restart; each retry is a one_for_all restart
	// that stops child1 again.
	f.expect("X(child1,died)", "T(child2)", "S(child1)", "F(child2)",
		"T(child1)", "S(child1)", "F(child2)",
		"T(child1)", "S(child1)", "F(child2)",
		"T(child1)", "S(child1)", "F(child2)",
		"Intensity", "T(child1)", "Sup⇒shutdown")
	<-sup.Done()
}

// one_for_all_other_child_fails_restart: in a one_for_all restart child1
// restarts but child2 fails; the restarted child1 is stopped before the
// retry starts both again.
func TestSupervisorSuite_one_for_all_other_child_fails_restart(t *testing.T) {
	f := newFixture(t)
	f.start(supervision.Flags{Strategy: supervision.OneForAll, Intensity: 3, Period: 3600 * time.Second}, f.child("child1"), f.child("child2"))
	f.plan("child2").set(func(p *plan) { p.fail = 1 })
	f.exit("child1", died)
	f.expect("X(child1,died)", "T(child2)", "S(child1)", "F(child2)", "T(child1)", "S(child1)", "S(child2)")
	assert.Equal(t, []string{"child2", "child1"}, f.which())
}

func TestSupervisorSuite_simple_one_for_one(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(suiteFlags(0))
	cpid1, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	cpid2, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	f.rec.Reset()
	f.kill(cpid1, died)
	f.rec.WaitFor(2)
	f.rec.Reset()
	children := f.children()
	assert.Len(t, children, 2)
	assert.Contains(t, children, cpid2)
	assert.Equal(t, [4]int{1, 2, 0, 2}, f.count())

	f.kill(cpid2, died)
	f.rec.WaitFor(2)
	f.kill(f.children()[0], died)
	<-sup.Done()
	assert.Equal(t, supervision.Shutdown, sup.Reason())
}

// simple_one_for_one_shutdown: the children are stopped together under
// one timer of 2000 ms: two exit within 1000 ms, the third needs 5000
// and is killed when the timer fires. On the virtual clock the stop takes
// exactly 2000 ms: not sequential (3000), not waiting for the slow one.
func TestSupervisorSuite_simple_one_for_one_shutdown(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		kit := testkit.New(t)
		rec := testkit.NewRecorder(t, kit.System())
		sup, err := supervision.Start(kit.System(), supervision.Spec{Name: "sup_test", Flags: suiteFlags(supervision.SimpleOneForOne),
			Children: []supervision.ChildSpec{{ID: "child", Shutdown: supervision.Timeout(2 * time.Second),
				Start: supervision.SpawnWith(func(args ...any) actor.Actor { return slowStop{d: args[0].(time.Duration)} })}}})
		require.NoError(t, err)
		for _, d := range []time.Duration{time.Second, time.Second, 5 * time.Second} {
			_, err := sup.StartChildWith(t.Context(), d)
			require.NoError(t, err)
		}
		rec.Reset()
		start := time.Now()
		require.NoError(t, sup.Exit(t.Context(), supervision.Shutdown))
		assert.Equal(t, 2*time.Second, time.Since(start))
		kinds := map[supervision.EventKind]int{}
		for _, e := range rec.WaitFor(4) {
			kinds[e.Kind]++
		}
		assert.Equal(t, map[supervision.EventKind]int{supervision.ChildTerminated: 2, supervision.ChildKilled: 1, supervision.SupervisorExited: 1}, kinds)
		time.Sleep(5 * time.Second) // let the killed child's cleanup end before the leak check
	})
}

// simple_one_for_one_extra: OTP's {ok, Pid, Info} has no counterpart in
// Go (a StartFunc returns a pid and an error); the restarts of the case
// apply, with the extra start arguments kept.
func TestSupervisorSuite_simple_one_for_one_extra(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(suiteFlags(0))
	cpid1, err := sup.StartChildWith(f.ctx, "extra_info")
	require.NoError(t, err)
	cpid2, err := sup.StartChildWith(f.ctx, "extra_info")
	require.NoError(t, err)
	f.rec.Reset()
	f.kill(cpid1, died)
	restarted := f.rec.WaitFor(2)[1].PID
	assert.Equal(t, []any{"extra_info"}, f.ping(restarted).Args)
	assert.Contains(t, f.children(), cpid2)
	assert.Equal(t, [4]int{1, 2, 0, 2}, f.count())
	f.kill(cpid2, died)
	f.rec.WaitFor(4)
	f.kill(f.children()[0], died)
	<-sup.Done()
}

// failOnRestartWith fails every start with "error" among its arguments
// but the first: the suite's supervisor_1:start_child(error) under
// simple_one_for_one.
type failOnRestartWith struct{ started bool }

func (s *failOnRestartWith) start(sc *supervision.StartContext, args ...any) (*actor.PID, error) {
	if len(args) > 0 && args[0] == "error" {
		if s.started {
			return nil, errBoom
		}
		s.started = true // only the supervisor's goroutine calls start
	}
	return sc.Spawn(func() actor.Actor { return &worker{args: args} })
}

func TestSupervisorSuite_simple_one_for_one_escalation(t *testing.T) {
	f := newFixture(t)
	s := &failOnRestartWith{}
	sup := f.start(supervision.Flags{Strategy: supervision.SimpleOneForOne, Intensity: 4, Period: 3600 * time.Second},
		supervision.ChildSpec{ID: "child", Start: s.start})
	cpid1, err := sup.StartChildWith(f.ctx, "error")
	require.NoError(t, err)
	cpid2, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	f.rec.Reset()
	f.kill(cpid1, died)
	<-sup.Done()
	events := f.rec.WaitFor(8)
	assert.Equal(t, "X("+cpid1.Id+",died)", events[0].String())
	for _, e := range events[1:5] {
		assert.Equal(t, supervision.ChildStartFailed, e.Kind)
	}
	assert.Equal(t, "Intensity", events[5].String())
	assert.Equal(t, "T("+cpid2.Id+")", events[6].String(), "child2 dies with its supervisor")
}

func TestSupervisorSuite_rest_for_one(t *testing.T) {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.RestForOne))
	cpid1, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	cpid2, err := sup.StartChild(f.ctx, f.child("child2"))
	require.NoError(t, err)
	cpid3, err := sup.StartChild(f.ctx, f.child("child3"))
	require.NoError(t, err)
	assert.Equal(t, [4]int{3, 3, 0, 3}, f.count())
	f.rec.Reset()
	f.exit("child2", died)
	f.expect("X(child2,died)", "T(child3)", "S(child2)", "S(child3)")
	children := f.children()
	assert.Len(t, children, 3)
	assert.Equal(t, [4]int{3, 3, 0, 3}, f.count())
	assert.Contains(t, children, cpid1)
	assert.NotContains(t, children, cpid2, "no old child is alive")
	assert.NotContains(t, children, cpid3)

	f.exit("child3", died)
	f.expect("X(child3,died)", "S(child3)")
	f.exit("child2", died)
	<-sup.Done()
	assert.Equal(t, supervision.Shutdown, sup.Reason())
}

func TestSupervisorSuite_rest_for_one_escalation(t *testing.T) {
	f := newFixture(t)
	sup := f.start(supervision.Flags{Strategy: supervision.RestForOne, Intensity: 4, Period: 3600 * time.Second})
	_, err := sup.StartChild(f.ctx, f.child("child1"))
	require.NoError(t, err)
	_, err = sup.StartChild(f.ctx, f.child("child2"))
	require.NoError(t, err)
	f.failRestarts("child2")
	f.rec.Reset()
	f.exit("child1", died)
	// The retries restart child2 alone: it is the one that failed.
	f.expect("X(child1,died)", "T(child2)", "S(child1)", "F(child2)", "F(child2)", "F(child2)", "F(child2)",
		"Intensity", "T(child1)", "Sup⇒shutdown")
	<-sup.Done()
}

// rest_for_one_other_child_fails_restart: child1 restarts, child2 fails;
// the retry restarts child2 only, not child1 again.
func TestSupervisorSuite_rest_for_one_other_child_fails_restart(t *testing.T) {
	f := newFixture(t)
	f.start(supervision.Flags{Strategy: supervision.RestForOne, Intensity: 3, Period: 3600 * time.Second}, f.child("child1"), f.child("child2"))
	f.plan("child2").set(func(p *plan) { p.fail = 1 })
	f.exit("child1", died)
	f.expect("X(child1,died)", "T(child2)", "S(child1)", "F(child2)", "S(child2)")
	assert.Equal(t, []string{"child2", "child1"}, f.which())
}

// terminateWith makes child1, started under a one_for_one supervisor
// with restart type rt, exit with reason r, and returns what the
// supervisor did.
func terminateWith(t *testing.T, rt supervision.RestartType, r supervision.Reason) *fixture {
	f := newFixture(t)
	sup := f.start(suiteFlags(supervision.OneForOne))
	_, err := sup.StartChild(f.ctx, f.child("child1", restart(rt)))
	require.NoError(t, err)
	f.rec.Reset()
	f.exit("child1", r)
	return f
}

func TestSupervisorSuite_permanent_normal(t *testing.T) {
	f := terminateWith(t, supervision.Permanent, supervision.Normal)
	f.expect("X(child1,normal)", "S(child1)")
	assert.Equal(t, []string{"child1"}, f.which(), "a permanent child is always restarted")
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_transient_normal(t *testing.T) {
	f := terminateWith(t, supervision.Transient, supervision.Normal)
	f.expect("X(child1,normal)")
	assert.Equal(t, []string{"child1:undefined"}, f.which())
	assert.Equal(t, [4]int{1, 0, 0, 1}, f.count())
}

func TestSupervisorSuite_temporary_normal(t *testing.T) {
	f := terminateWith(t, supervision.Temporary, supervision.Normal)
	f.expect("X(child1,normal)")
	assert.Empty(t, f.which())
	assert.Equal(t, [4]int{0, 0, 0, 0}, f.count())
}

func TestSupervisorSuite_permanent_shutdown(t *testing.T) {
	f := terminateWith(t, supervision.Permanent, supervision.Shutdown)
	f.expect("X(child1,shutdown)", "S(child1)")
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
	f.exit("child1", supervision.ShutdownWith("some_info"))
	f.expect("X(child1,{shutdown,some_info})", "S(child1)")
	assert.Equal(t, []string{"child1"}, f.which())
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_transient_shutdown(t *testing.T) {
	f := terminateWith(t, supervision.Transient, supervision.Shutdown)
	f.expect("X(child1,shutdown)")
	assert.Equal(t, []string{"child1:undefined"}, f.which())
	assert.Equal(t, [4]int{1, 0, 0, 1}, f.count())
	_, err := f.sup.RestartChild(f.ctx, "child1")
	require.NoError(t, err)
	f.rec.Reset()
	f.exit("child1", supervision.ShutdownWith("some_info"))
	f.expect("X(child1,{shutdown,some_info})")
	assert.Equal(t, []string{"child1:undefined"}, f.which())
	assert.Equal(t, [4]int{1, 0, 0, 1}, f.count())
}

func TestSupervisorSuite_temporary_shutdown(t *testing.T) {
	f := terminateWith(t, supervision.Temporary, supervision.Shutdown)
	f.expect("X(child1,shutdown)")
	assert.Equal(t, [4]int{0, 0, 0, 0}, f.count())
	_, err := f.sup.StartChild(f.ctx, f.child("child1", restart(supervision.Temporary)))
	require.NoError(t, err)
	f.rec.Reset()
	f.exit("child1", supervision.ShutdownWith("some_info"))
	f.expect("X(child1,{shutdown,some_info})")
	assert.Empty(t, f.which())
	assert.Equal(t, [4]int{0, 0, 0, 0}, f.count())
}

// faulty_application_shutdown: Go has no OTP applications; what the case
// checks of the supervisor, that a start which fails in a child's init
// fails with {shutdown, {failed_to_start_child, Id, Reason}} carrying the
// child's error, applies.
func TestSupervisorSuite_faulty_application_shutdown(t *testing.T) {
	f := newFixture(t)
	undef := errorString("undef")
	_, err := f.tryStart(suiteFlags(supervision.OneForOne), supervision.ChildSpec{ID: "app_faulty",
		Start: supervision.Spawn(func() actor.Actor { return initFails{undef} })})
	var failed *supervision.FailedToStartError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, "app_faulty", failed.ID)
	assert.ErrorIs(t, err, undef, "the child's own error is passed on")
}

// initFails is an actor whose init fails with err.
type initFails struct{ err error }

func (a initFails) Init(actor.Context) error { return a.err }
func (a initFails) Receive(actor.Context)    {}

func TestSupervisorSuite_permanent_abnormal(t *testing.T) {
	f := terminateWith(t, supervision.Permanent, died)
	f.expect("X(child1,died)", "S(child1)")
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_transient_abnormal(t *testing.T) {
	f := terminateWith(t, supervision.Transient, died)
	f.expect("X(child1,died)", "S(child1)")
	assert.Equal(t, [4]int{1, 1, 0, 1}, f.count())
}

func TestSupervisorSuite_temporary_abnormal(t *testing.T) {
	f := terminateWith(t, supervision.Temporary, died)
	f.expect("X(child1,died)")
	assert.Equal(t, [4]int{0, 0, 0, 0}, f.count())
}

// temporary_bystander: a temporary child stopped by a one_for_all or
// rest_for_one restart is not restarted (its start arguments are not
// kept), so the supervisor does not die trying.
func TestSupervisorSuite_temporary_bystander(t *testing.T) {
	for _, s := range []supervision.Strategy{supervision.OneForAll, supervision.RestForOne} {
		t.Run(s.String(), func(t *testing.T) {
			f := newFixture(t)
			sup := f.start(supervision.Flags{Strategy: s, Intensity: 2, Period: 300 * time.Second})
			_, err := sup.StartChild(f.ctx, f.child("child1", shutdown(supervision.Timeout(100*time.Millisecond))))
			require.NoError(t, err)
			_, err = sup.StartChild(f.ctx, f.child("child2", restart(supervision.Temporary), shutdown(supervision.Timeout(100*time.Millisecond))))
			require.NoError(t, err)
			f.rec.Reset()
			f.exit("child1", supervision.Normal)
			f.expect("X(child1,normal)", "T(child2)", "S(child1)")
			assert.Equal(t, []string{"child1"}, f.which(), "child2 has not been restarted")
			select {
			case <-sup.Done():
				t.Fatal("the supervisor died")
			default:
			}
		})
	}
}
