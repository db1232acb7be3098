package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testkit.LeakOptions()...) }

// fakeNode is an API over an in-memory host behind a real HTTP server.
type fakeNode struct {
	url  string
	host *hosttest.Host
}

func newNode(t *testing.T, token string) *fakeNode {
	t.Helper()
	h := hosttest.New()
	h.Nodes = []string{"node2"}
	ts := httptest.NewServer(server.New(server.Config{Sandboxes: h, Counts: h.SandboxCounts, Node: "node1", Token: token}))
	t.Cleanup(ts.Close)
	return &fakeNode{url: ts.URL, host: h}
}

// cli runs the command with env and stdin and returns what it printed.
type cli struct {
	t     *testing.T
	env   map[string]string
	stdin string
	m     *Main
}

func newCLI(t *testing.T, env ...string) *cli {
	c := &cli{t: t, env: map[string]string{}}
	for i := 0; i+1 < len(env); i += 2 {
		c.env[env[i]] = env[i+1]
	}
	return c
}

func (c *cli) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(c.stdin), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return c.env[k] }}
	if c.m != nil {
		m.NodeOptions = c.m.NodeOptions
	}
	err = m.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

// ok runs the command and fails the test on an error.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("otpbox %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// logWatch is a log sink that reports the first line matching a pattern.
type logWatch struct {
	mu    sync.Mutex // protects buf and the matching state
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan []string
	done  bool
}

func newLogWatch(pattern string) *logWatch {
	return &logWatch{re: regexp.MustCompile(pattern), found: make(chan []string, 1)}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		if m := w.re.FindStringSubmatch(w.buf.String()); m != nil {
			w.done = true
			w.found <- m
		}
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
