package sandbox_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/redis"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/testkit"
)

// slowStore is a working store whose appends wait for the test: the
// journal write that finishes after the caller gave up.
type slowStore struct {
	sandbox.Store
	entered chan struct{} // gets a value when an append waits
	release chan struct{} // closed to let the appends go on
}

func (s *slowStore) Append(ctx context.Context, id string, e sandbox.Entry) (uint64, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.Append(ctx, id, e)
}

// TestTimedOutButJournaledRetriedOnce is the failure: a call
// times out (the client sees 503 timeout) while its execution is being
// journaled; the client retries with the same request id and gets the
// first answer, and the execution is applied once.
func TestTimedOutButJournaledRetriedOnce(t *testing.T) {
	kit := testkit.New(t)
	store := &slowStore{Store: openStore(t, t.TempDir()), entered: make(chan struct{}, 1), release: make(chan struct{})}
	local, err := sandbox.StartLocal(kit.System(), sandbox.Config{Store: store})
	require.NoError(t, err)
	t.Cleanup(func() { local.Shutdown(); _ = store.Store.Close() })
	ctx := t.Context()
	_, err = local.Create(ctx, "s", sandbox.Requirements{})
	require.NoError(t, err)

	call := sandbox.WithRequestID(ctx, "key-1")
	first, cancel := context.WithCancel(call)
	done := make(chan error, 1)
	go func() {
		_, err := local.Execute(first, "s", "n = 41\nn += 1\nn")
		done <- err
	}()
	<-store.entered // executed, now being journaled
	cancel()        // the caller gives up (the API answers 503)
	require.ErrorIs(t, <-done, context.Canceled)
	close(store.release) // the journal write completes after all

	res, err := local.Execute(call, "s", "n = 41\nn += 1\nn") // the retry
	require.NoError(t, err)
	assert.Equal(t, "42", res.Value, "the retry gets the first answer")
	entries, err := store.Load(ctx, "s")
	require.NoError(t, err)
	require.Len(t, entries, 1, "applied once")
	assert.Equal(t, "key-1", entries[0].ID)

	// The same id with other code names another call.
	_, err = local.Execute(call, "s", "n += 100")
	require.ErrorIs(t, err, sandbox.ErrRequestMismatch)
	store.entered = make(chan struct{}, 10)
	res, err = local.Execute(ctx, "s", "n")
	require.NoError(t, err)
	assert.Equal(t, "42", res.Value)
}

// TestRequestIDAcrossFailover: the retry reaches another node, which
// rebuilt the sandbox from the shared journal.
func TestRequestIDAcrossFailover(t *testing.T) {
	srv := redistest.Start(t)
	start := func(name string) *sandbox.Local {
		kit := testkit.New(t)
		store := redis.New(srv.Client())
		local, err := sandbox.StartLocal(kit.System(), sandbox.Config{Store: store, Node: name})
		require.NoError(t, err)
		t.Cleanup(func() { local.Shutdown(); _ = store.Close() })
		return local
	}
	ctx := t.Context()
	a := start("a")
	_, err := a.Create(sandbox.WithRequestID(ctx, "create-1"), "fo", sandbox.Requirements{})
	require.NoError(t, err)
	call := sandbox.WithRequestID(ctx, "exec-1")
	res, err := a.Execute(call, "fo", "xs = [1]\nxs.append(2)\nlen(xs)")
	require.NoError(t, err)
	require.Equal(t, "2", res.Value)
	a.Shutdown()

	b := start("b")
	info, err := b.Create(sandbox.WithRequestID(ctx, "create-1"), "fo", sandbox.Requirements{})
	require.NoError(t, err, "the create's retry finds the sandbox it made")
	assert.Equal(t, "fo", info.ID)
	res, err = b.Execute(call, "fo", "xs = [1]\nxs.append(2)\nlen(xs)")
	require.NoError(t, err)
	assert.Equal(t, "2", res.Value, "answered from the journal")
	res, err = b.Execute(ctx, "fo", "xs")
	require.NoError(t, err)
	assert.Equal(t, "[1, 2]", res.Value, "not applied twice")
}

func TestCreateAndRestartRetries(t *testing.T) {
	n := newNode(t)
	ctx := n.ctx
	req := sandbox.Requirements{Limits: sandbox.Limits{MaxSteps: 5000}}
	_, err := n.local.Create(sandbox.WithRequestID(ctx, "c1"), "s", req)
	require.NoError(t, err)
	info, err := n.local.Create(sandbox.WithRequestID(ctx, "c1"), "s", req)
	require.NoError(t, err, "a retry of the create")
	assert.Equal(t, uint64(5000), info.Requirements.Limits.MaxSteps)
	_, err = n.local.Create(sandbox.WithRequestID(ctx, "c1"), "s", sandbox.Requirements{})
	require.ErrorIs(t, err, sandbox.ErrRequestMismatch)
	_, err = n.local.Create(sandbox.WithRequestID(ctx, "c2"), "s", req)
	require.ErrorIs(t, err, sandbox.ErrAlreadyExists)
	_, err = n.local.Create(ctx, "s", req)
	require.ErrorIs(t, err, sandbox.ErrAlreadyExists)

	n.exec("s", "before = 1")
	_, err = n.local.Restart(sandbox.WithRequestID(ctx, "r1"), "s")
	require.NoError(t, err)
	n.exec("s", "after = 2")
	_, err = n.local.Restart(sandbox.WithRequestID(ctx, "r1"), "s") // a retry
	require.NoError(t, err)
	assert.Equal(t, "2", n.exec("s", "after").Value, "the retry did not empty the journal again")
	require.NoError(t, n.local.Passivate(ctx, "s"))
	_, err = n.local.Restart(sandbox.WithRequestID(ctx, "r1"), "s") // after reactivation
	require.NoError(t, err)
	assert.Equal(t, "2", n.exec("s", "after").Value)
	_, err = n.local.Restart(sandbox.WithRequestID(ctx, "r2"), "s")
	require.NoError(t, err)
	_, err = n.local.Execute(ctx, "s", "after")
	var undefined *sandbox.SyntaxError
	require.ErrorAs(t, err, &undefined, "a new restart empties the journal")
}

// TestAnswerRetention: ids outlive their answers, which are bounded in
// bytes; a retry whose answer was dropped is refused, never applied
// again.
func TestAnswerRetention(t *testing.T) {
	n := newNode(t)
	n.create("big")
	ctx := n.ctx
	out := fmt.Sprintf("print(%q * 60000)", "x")
	for i := range 6 { // 6 × 60 KB > AnsweredBytes
		_, err := n.local.Execute(sandbox.WithRequestID(ctx, fmt.Sprint("k", i)), "big", out+"\n"+fmt.Sprint(i))
		require.NoError(t, err)
	}
	_, err := n.local.Execute(sandbox.WithRequestID(ctx, "k0"), "big", out+"\n0")
	require.ErrorIs(t, err, sandbox.ErrAnswerExpired)
	res, err := n.local.Execute(sandbox.WithRequestID(ctx, "k5"), "big", out+"\n5")
	require.NoError(t, err, "the latest answer is kept")
	assert.Equal(t, "5", res.Value)
	assert.Equal(t, 60001, len(res.Output))
	entries, err := n.store.Load(ctx, "big")
	require.NoError(t, err)
	assert.Len(t, entries, 6)
	assert.Equal(t, "k0", entries[0].ID)
}

// TestAnsweredRing: past AnsweredKeys executions the oldest id is
// forgotten, and each id still known is answered with its own first
// answer, wherever it sits among those kept.
func TestAnsweredRing(t *testing.T) {
	n := newNode(t)
	n.create("r")
	ctx := n.ctx
	n.exec("r", "n = 0")
	for i := range sandbox.AnsweredKeys + 1 {
		res, err := n.local.Execute(sandbox.WithRequestID(ctx, fmt.Sprint("k", i)), "r", "n += 1\nn")
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i+1), res.Value)
	}
	for _, i := range []int{1, 2, 128, sandbox.AnsweredKeys - 1, sandbox.AnsweredKeys} {
		res, err := n.local.Execute(sandbox.WithRequestID(ctx, fmt.Sprint("k", i)), "r", "n += 1\nn")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(i+1), res.Value, "k%d is answered from its first run", i)
	}
	_, err := n.local.Execute(sandbox.WithRequestID(ctx, "k1"), "r", "n")
	require.ErrorIs(t, err, sandbox.ErrRequestMismatch)
	res, err := n.local.Execute(sandbox.WithRequestID(ctx, "k0"), "r", "n += 1\nn")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(sandbox.AnsweredKeys+2), res.Value, "k0 was forgotten: this is a new execution")
}
