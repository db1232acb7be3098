package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// liveOutput is a command's standard output that a test can wait on.
type liveOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLiveOutput() *liveOutput { return &liveOutput{changed: make(chan struct{}, 1)} }

func (o *liveOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return o.buf.Write(p)
}

func (o *liveOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output has s, within a deadline.
func (o *liveOutput) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for !strings.Contains(o.String(), s) {
		select {
		case <-o.changed:
		case <-deadline:
			t.Fatalf("no %q in the output within the deadline:\n%s", s, o.String())
		}
	}
}

// runLive runs a command that streams until its context is cancelled.
func runLive(t *testing.T, args ...string) (*liveOutput, func() error) {
	out := newLiveOutput()
	var errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, args) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return out, func() error {
		err := stop()
		if err != nil {
			t.Logf("stderr: %s", errOut.String())
		}
		return err
	}
}

func TestWatchKillAndProcessCommands(t *testing.T) {
	addr := realNode(t)
	c := newCLI(t)
	c.ok("sandbox", "create", "w1", "--addr", addr)

	events, stopEvents := runLive(t, "events", "--addr", addr, "--json")
	events.waitFor(t, `"type":"hello"`)
	watch, stopWatch := runLive(t, "sandbox", "watch", "w1", "--addr", addr, "--name", "ann")
	watch.waitFor(t, "watching w1 on n1 with ann")

	c.ok("sandbox", "exec", "w1", "--addr", addr, `sup = start_supervisor(supervisor(children=[{"id": "c", "start": worker(init=lambda a: 0)}]))`)
	watch.waitFor(t, "started <0.3.0> tree1/c")
	out := c.ok("sandbox", "kill", "w1", "tree1/c", "--addr", addr)
	assert.Equal(t, "kill(pid(\"<0.3.0>\"))\n", out)
	watch.waitFor(t, "exited <0.3.0> tree1/c: killed")
	watch.waitFor(t, "restarted")

	out = c.ok("sandbox", "process", "w1", "tree1/c", "--addr", addr)
	assert.Regexp(t, `(?m)^TYPE\s+worker$`, out)
	assert.Regexp(t, `(?m)^RESTARTS\s+1$`, out)
	out = c.ok("sandbox", "exit", "w1", "tree1/c", "shutdown", "--addr", addr, "--json")
	var res struct{ Code string }
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Equal(t, `exit(pid("<0.4.0>"), "shutdown")`, res.Code)

	_, _, err := c.run("sandbox", "crash", "w1", "tree1/nope", "--addr", addr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "crash process tree1/nope of sandbox w1: Process not found (404)")
	_, _, err = c.run("sandbox", "kill", "w1", "--addr", addr)
	assert.Equal(t, 2, (&Main{Stderr: &bytes.Buffer{}}).Exit(err), "a missing argument is a usage error")

	c.ok("sandbox", "create", "w2", "--addr", addr)
	events.waitFor(t, `"type":"sandbox","time"`)
	assert.Contains(t, events.String(), `"change":"created","sandbox":"w2"`)
	require.NoError(t, stopWatch())
	require.NoError(t, stopEvents())

	// Watching a sandbox that does not exist fails at once.
	_, _, err = c.run("sandbox", "watch", "nope", "--addr", addr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "watch sandbox nope: Sandbox not found (404)")
}
