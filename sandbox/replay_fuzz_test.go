//go:build !race

// Two protoactor remotes alive in one process race in grpc's global
// logger (protoactor sets it in every remote.Start), so this test runs
// without -race: make test runs it apart.

package sandbox_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/testkit"
)

// TestReplayAcrossHosts is the differential replay fuzzer through real
// hosts: random programs (sandbox/otp/otptest) run on member a; the
// sandbox is then observed on a (active), after passivation on a (a
// replay), on member b (moved: b replays the shared journal), and on a
// host started afresh after both stopped (a node restart). Every
// observation must be the same. OTPBOX_REPLAY_PROGRAMS raises the number
// of programs (`make fuzz` runs 200; each takes about a second). It runs
// twice: with journals kept whole, and with a snapshot every other
// execution (the processes saved with the globals; a program whose state
// cannot be saved keeps its journal).
func TestReplayAcrossHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hosts on a real Redis")
	}
	programs := 12
	if n, err := strconv.Atoi(os.Getenv("OTPBOX_REPLAY_PROGRAMS")); err == nil {
		programs = n
	}
	for _, every := range []int{-1, 2} {
		t.Run(fmt.Sprintf("snapshot every %d", every), func(t *testing.T) {
			replayAcrossHosts(t, programs, sandbox.Config{SnapshotEvery: every})
		})
	}
}

func replayAcrossHosts(t *testing.T, programs int, cfg sandbox.Config) {
	srv := redistest.Start(t)
	start := func(name string) *sandbox.Local { return startOnRedis(t, srv, name, cfg) }
	a, b := start("a"), start("b")
	limits := sandbox.Limits{MaxSteps: 200_000, MaxActors: 24, MaxMailbox: 64}
	ctx := t.Context()

	type sandboxRun struct {
		id    string
		code  []string
		views []string // as observed on a, after passivation, on b
	}
	var runs []*sandboxRun
	observe := func(l *sandbox.Local, id string) string {
		t.Helper()
		tree, err := l.Tree(ctx, id)
		require.NoError(t, err)
		restarts, err := l.Restarts(ctx, id)
		require.NoError(t, err)
		trace, err := l.Trace(ctx, id)
		require.NoError(t, err)
		info, err := l.Info(ctx, id)
		require.NoError(t, err)
		raw, err := json.Marshal(map[string]any{"tree": tree, "restarts": restarts, "trace": trace,
			"globals": info.Globals, "actors": info.Actors, "heap": info.HeapBytes, "executions": info.Executions})
		require.NoError(t, err)
		return string(raw)
	}
	for i := range programs {
		data := make([]byte, 48)
		for k := range data {
			data[k] = byte((i*131 + k*17 + k*k*7) % 251)
		}
		run := &sandboxRun{id: fmt.Sprintf("p%d", i), code: otptest.Program(data)}
		runs = append(runs, run)
		_, err := a.Create(ctx, run.id, sandbox.Requirements{Limits: limits})
		require.NoError(t, err)
		for _, code := range run.code {
			_, _ = a.Execute(ctx, run.id, code) // failures are part of the programs
		}
		run.views = append(run.views, observe(a, run.id))
		require.NoError(t, a.Passivate(ctx, run.id))
		waitPassivated(t, a, run.id)
		run.views = append(run.views, observe(a, run.id))
		require.NoError(t, a.Passivate(ctx, run.id))
		waitPassivated(t, a, run.id)
		run.views = append(run.views, observe(b, run.id))
		require.NoError(t, b.Passivate(ctx, run.id))
		waitPassivated(t, b, run.id)
	}
	if cfg.SnapshotEvery > 0 {
		taken, skipped := a.Snapshots()
		t.Logf("snapshots on a: %d taken, %d skipped", taken, skipped)
		require.NotZero(t, taken)
	}
	a.Shutdown()
	b.Shutdown()
	c := start("c")
	for _, run := range runs {
		run.views = append(run.views, observe(c, run.id))
		for k, where := range []string{"after passivation", "on another member", "after a restart"} {
			if run.views[k+1] != run.views[0] {
				t.Fatalf("%s diverged %s:\nlive:   %s\nreplay: %s\nprogram:\n%v", run.id, where, run.views[0], run.views[k+1], run.code[1:])
			}
		}
	}
}

// waitPassivated waits until id has no activation on l.
func waitPassivated(t *testing.T, l *sandbox.Local, id string) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, func() error {
		if _, ok := l.Directory().Lookup(sandbox.Kind, id); ok {
			return fmt.Errorf("%s still active", id)
		}
		return nil
	})
}
