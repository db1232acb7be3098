package scalability_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/actors/scalability"
	"github.com/otpbox/otpbox/testkit"
)

// scaler is an operator's script: scale-out prints $2 names, scale-in
// appends its node to $LOG; both check the environment.
const scaler = `
case "$1" in
scale-out)
	[ "$OTPBOX_ACTION" = scale-out ] && [ "$OTPBOX_COUNT" = "$2" ] && [ -z "$OTPBOX_NODE" ] || exit 8
	i=1
	while [ "$i" -le "$2" ]; do echo "cmd-node-$i"; i=$((i+1)); done
	echo "   "
	;;
scale-in)
	[ "$OTPBOX_ACTION" = scale-in ] && [ "$OTPBOX_NODE" = "$2" ] || exit 9
	echo "removing $2" >&2
	[ -n "$LOG" ] || { echo "no LOG" >&2; exit 6; }
	echo "$2" >> "$LOG"
	;;
*) exit 7 ;;
esac
`

func command(t *testing.T, script string, timeout time.Duration, env ...string) *scalability.CommandProvider {
	t.Helper()
	p, err := scalability.NewCommandProvider(scalability.CommandConfig{
		Command: []string{"sh", "-c", script, "otpbox-scaler"}, Timeout: timeout, Env: env})
	require.NoError(t, err)
	return p
}

func TestCommandProvider(t *testing.T) {
	t.Cleanup(func() { testkit.VerifyNoLeaks(t) })
	log := filepath.Join(t.TempDir(), "removed")
	p := command(t, scaler, 10*time.Second, "LOG="+log, "OTPBOX_NODE=this-node")

	names, err := p.AddNodes(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"cmd-node-1", "cmd-node-2", "cmd-node-3"}, names)

	require.NoError(t, p.RemoveNode(ctx, "cmd-node-2"))
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Equal(t, "cmd-node-2\n", string(b))
}

func TestCommandProviderFailure(t *testing.T) {
	t.Cleanup(func() { testkit.VerifyNoLeaks(t) })
	p := command(t, `echo starting; printf 'x%.0s' $(seq 3000) >&2; echo >&2; echo "boom: quota exceeded" >&2; exit 3`, 10*time.Second)
	_, err := p.AddNodes(ctx, 1)
	var ce *scalability.CommandError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 3, ce.ExitCode)
	assert.True(t, strings.HasSuffix(ce.Stderr, "boom: quota exceeded\n"), ce.Stderr)
	assert.LessOrEqual(t, len(ce.Stderr), 2048, "only the tail")
	assert.ErrorContains(t, err, "exited with 3")
	assert.ErrorContains(t, err, "boom: quota exceeded")
	var exit *exec.ExitError
	assert.ErrorAs(t, err, &exit)
	assert.Equal(t, []string{"sh", "-c", ce.Args[2], "otpbox-scaler", "scale-out", "1"}, ce.Args)

	err = command(t, scaler, 10*time.Second).RemoveNode(ctx, "cmd-node-1") // $LOG unset
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 6, ce.ExitCode)
	assert.Equal(t, "removing cmd-node-1\nno LOG\n", ce.Stderr)
}

func TestCommandProviderTimeout(t *testing.T) {
	t.Cleanup(func() { testkit.VerifyNoLeaks(t) })
	pidf := filepath.Join(t.TempDir(), "pid")
	// The shell's child holds the pipes: the whole group must die.
	p := command(t, `sleep 30 & echo $! > "$PIDF"; echo "waiting" >&2; wait; echo never`, 300*time.Millisecond, "PIDF="+pidf)
	t0 := time.Now()
	_, err := p.AddNodes(ctx, 1)
	assert.Less(t, time.Since(t0), 5*time.Second)
	assert.ErrorIs(t, err, scalability.ErrCommandTimeout)
	var ce *scalability.CommandError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, -1, ce.ExitCode)
	assert.Equal(t, "waiting\n", ce.Stderr)
	b, err := os.ReadFile(pidf)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	testkit.Eventually(t, 5*time.Second, func() error { return dead(pid) })

	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err = command(t, `sleep 30`, time.Minute).AddNodes(c, 1)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, scalability.ErrCommandTimeout))
}

// dead reports whether pid is gone or a zombie: killed, waiting for init
// (not us) to reap it.
func dead(pid int) error {
	if gone(pid) == nil {
		return nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return gone(pid)
	}
	// pid (comm) state ...: the state follows the last ')'.
	if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
		return nil
	}
	return fmt.Errorf("process %d still runs", pid)
}

func TestNewCommandProviderNeedsACommand(t *testing.T) {
	_, err := scalability.NewCommandProvider(scalability.CommandConfig{})
	var ce *scalability.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "command", ce.Field)
}

// The manager scales out through a real CommandProvider.
func TestManagerWithCommandProvider(t *testing.T) {
	ms := newMembers("node-a", loaded("node-a", 0.9))
	log := filepath.Join(t.TempDir(), "removed")
	cfg := config()
	cfg.JoinTimeout = -1 // the names never join this fake membership
	e := start(t, scalability.Deps{Membership: ms, Provider: command(t, scaler, 10*time.Second, "LOG="+log)}, cfg)
	require.NotNil(t, e.check(t).Operation)
	op := e.finished(t)
	require.Equal(t, scalability.Succeeded, op.State, op.Error)
	assert.Equal(t, []string{"cmd-node-1"}, op.Nodes)
}
