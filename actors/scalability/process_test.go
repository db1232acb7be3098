package scalability_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/actors/scalability"
	"github.com/otpbox/otpbox/testkit"
)

// fakeProvider returns a ProcessProvider that starts this test binary as a
// fake node (see fakeNode) with env, closed in t.Cleanup.
func fakeProvider(t *testing.T, edit func(*scalability.ProcessConfig), env ...string) (*scalability.ProcessProvider, string) {
	t.Helper()
	base := t.TempDir()
	cfg := scalability.ProcessConfig{
		Binary: os.Args[0], Consul: "127.0.0.1:8500", Cluster: "blue", Redis: "redis://127.0.0.1:6379/2",
		BaseDir: base, NamePrefix: "fake", ExtraArgs: []string{"--log-level", "debug"},
		Env:    append([]string{"OTPBOX_FAKE_NODE=1"}, env...),
		Logger: slog.New(slog.DiscardHandler), ReadyTimeout: 20 * time.Second, StopTimeout: 10 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := scalability.NewProcessProvider(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p, base
}

func readLog(t *testing.T, base, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(base, name, "node.log"))
	require.NoError(t, err)
	return string(b)
}

var pidLine = regexp.MustCompile(`(?m)^pid (\d+)$`)

func logPID(t *testing.T, base, name string) int {
	t.Helper()
	m := pidLine.FindStringSubmatch(readLog(t, base, name))
	require.NotNil(t, m, "no pid in the log")
	pid, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return pid
}

// gone reports whether no process has pid (the provider reaped it).
func gone(pid int) error {
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("process %d still exists (kill 0: %v)", pid, err)
	}
	return nil
}

func ready(t *testing.T, addr string) int {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/v1/health/ready")
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestProcessProviderStartsAndStopsNodes(t *testing.T) {
	t.Cleanup(func() { testkit.VerifyNoLeaks(t) }) // after the provider closes
	p, base := fakeProvider(t, nil, "OTPBOX_FAKE_NOT_READY=3")

	names, err := p.AddNodes(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"fake-1", "fake-2"}, names)
	nodes := p.Nodes()
	require.Len(t, nodes, 2)
	for _, n := range nodes {
		assert.Regexp(t, `^127\.0\.0\.1:\d+$`, n.HTTP)
		assert.Equal(t, filepath.Join(base, n.Name), n.DataDir)
		assert.Equal(t, http.StatusOK, ready(t, n.HTTP), "AddNodes returned once ready")
		log := readLog(t, base, n.Name)
		assert.Regexp(t, `(?s)(ready 503\n){3}ready 200\n`, log, "the provider waited through 503s")
		assert.Contains(t, log, fmt.Sprintf("args: %q\n", []string{"node", "--node", n.Name, "--http", n.HTTP, "--admin", "off",
			"--data-dir", n.DataDir, "--consul", "127.0.0.1:8500", "--cluster", "blue", "--redis", "redis://127.0.0.1:6379/2",
			"--log-level", "debug"}))
		assert.Equal(t, n.PID, logPID(t, base, n.Name))
	}

	require.NoError(t, p.RemoveNode(ctx, "fake-1"))
	assert.Contains(t, readLog(t, base, "fake-1"), "sigterm\n", "stopped with SIGTERM")
	assert.NoError(t, gone(nodes[0].PID))
	require.Len(t, p.Nodes(), 1)
	assert.Equal(t, "fake-2", p.Nodes()[0].Name)
	assert.ErrorIs(t, p.RemoveNode(ctx, "fake-1"), scalability.ErrUnknownNode)
	assert.ErrorIs(t, p.RemoveNode(ctx, "stranger"), scalability.ErrUnknownNode)

	require.NoError(t, p.Close())
	assert.Contains(t, readLog(t, base, "fake-2"), "sigterm\n")
	assert.NoError(t, gone(nodes[1].PID))
	assert.Empty(t, p.Nodes())
	_, err = p.AddNodes(ctx, 1)
	assert.ErrorIs(t, err, scalability.ErrClosed)
}

func TestProcessProviderKillsAStubbornNode(t *testing.T) {
	t.Cleanup(func() { testkit.VerifyNoLeaks(t) }) // after the provider closes
	p, base := fakeProvider(t, func(c *scalability.ProcessConfig) { c.StopTimeout = 300 * time.Millisecond },
		"OTPBOX_FAKE_IGNORE_TERM=1")
	names, err := p.AddNodes(ctx, 1)
	require.NoError(t, err)
	pid := p.Nodes()[0].PID
	require.NoError(t, p.RemoveNode(ctx, names[0]))
	assert.NoError(t, gone(pid), "killed after the stop timeout")
	assert.NotContains(t, readLog(t, base, names[0]), "sigterm")
}

func TestProcessProviderNodeNeverReady(t *testing.T) {
	t.Cleanup(func() { testkit.VerifyNoLeaks(t) }) // after the provider closes
	p, base := fakeProvider(t, func(c *scalability.ProcessConfig) { c.ReadyTimeout = 500 * time.Millisecond },
		"OTPBOX_FAKE_NEVER_READY=1")
	names, err := p.AddNodes(ctx, 1)
	assert.Empty(t, names)
	assert.ErrorIs(t, err, scalability.ErrNotReady)
	assert.ErrorContains(t, err, "503")
	assert.Empty(t, p.Nodes())
	assert.NoError(t, gone(logPID(t, base, "fake-1")), "an unready node is killed")

	// The caller's deadline is not the ready timeout.
	p2, base2 := fakeProvider(t, nil, "OTPBOX_FAKE_NEVER_READY=1")
	c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = p2.AddNodes(c, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, scalability.ErrNotReady)
	assert.NoError(t, gone(logPID(t, base2, "fake-1")))
}

func TestProcessProviderNodeExits(t *testing.T) {
	t.Cleanup(func() { testkit.VerifyNoLeaks(t) }) // after the provider closes
	p, _ := fakeProvider(t, nil, "OTPBOX_FAKE_EXIT=3")
	names, err := p.AddNodes(ctx, 2)
	assert.Empty(t, names)
	assert.ErrorIs(t, err, scalability.ErrExited)
	assert.ErrorContains(t, err, "exit status 3")
	assert.ErrorContains(t, err, "fake node failing on purpose")
	assert.ErrorContains(t, err, "node fake-1")
	assert.ErrorContains(t, err, "node fake-2")
}

func TestNewProcessProviderNeedsBaseDir(t *testing.T) {
	_, err := scalability.NewProcessProvider(scalability.ProcessConfig{})
	var ce *scalability.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "base_dir", ce.Field)
}
