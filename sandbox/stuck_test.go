package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/testkit"
)

// TestStuckExecutionIsAbandoned stands in for an interpreter path that no
// limit can interrupt with a builtin that blocks until released: the
// caller gives up at its deadline, the host reports the sandbox stuck,
// the next call gets a fresh activation from the journal, and the stuck
// execution, once it ends, leaves no trace.
func TestStuckExecutionIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	block := starlark.NewBuiltin("block", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		<-release
		return starlark.None, nil
	})
	n := startNode(t, t.TempDir(), sandbox.Config{Builtins: starlark.StringDict{"block": block}})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	_, err := n.local.Create(n.ctx, "s", sandbox.Requirements{Limits: sandbox.Limits{MaxDuration: 20 * time.Millisecond}})
	require.NoError(t, err)
	n.exec("s", "x = 1")

	ctx, cancel := context.WithTimeout(n.ctx, 1500*time.Millisecond)
	defer cancel()
	_, err = n.local.Execute(ctx, "s", "x = 2\nblock()")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, []string{"s"}, n.local.Stuck(), "past its 20 ms limit by more than a second")

	assert.Equal(t, "1", n.exec("s", "x").Value, "a fresh activation, from the journal")
	close(release)
	testkit.Eventually(t, 5*time.Second, func() error {
		if len(n.local.Stuck()) != 0 {
			return errors.New("still stuck")
		}
		return nil
	})
	assert.Equal(t, "2", n.exec("s", "x + 1").Value, "the stuck execution was dropped")
}
