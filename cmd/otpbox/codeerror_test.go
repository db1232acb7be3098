package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/api"
)

func TestProblemDetails(t *testing.T) {
	runtime := &api.Error{StatusCode: 422, Kind: api.ErrRuntime, Title: "Runtime error", Detail: "list index 5 out of range",
		Backtrace: "Traceback (most recent call last):\n  <sandbox>:3:2: in <toplevel>\n  <sandbox>:2:13: in f\nError: list index 5 out of range"}
	for _, tc := range []struct {
		name  string
		code  string
		p     *api.Error
		first int
		want  []string
	}{
		{"runtime error: the caret is on the line of the code that ran", "def f(a):\n    return a[5]\nf([1])", runtime, 1, []string{
			"  at line 3, col 2:",
			"    f([1])",
			"     ^",
			"Traceback (most recent call last):",
			"  <sandbox>:3:2: in <toplevel>",
			"  <sandbox>:2:13: in f",
			"Error: list index 5 out of range",
		}},
		{"lines of a script", "def f(a):\n    return a[5]\nf([1])", runtime, 10, []string{
			"  at line 12, col 2:", "    f([1])", "     ^",
			"Traceback (most recent call last):", "  <sandbox>:3:2: in <toplevel>", "  <sandbox>:2:13: in f", "Error: list index 5 out of range",
		}},
		{"syntax error, tabs kept under the caret", "if True:\n\tx = (1 +", &api.Error{StatusCode: 422, Kind: api.ErrSyntax, Line: 2, Col: 10, Detail: "got end of file"}, 1, []string{
			"  at line 2, col 10:",
			"    \tx = (1 +",
			"    \t        ^",
		}},
		{"a limit has no position", "while True:\n    pass", &api.Error{StatusCode: 422, Kind: api.ErrLimitExceeded, Limit: "steps"}, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problemDetails(tc.code, tc.p, tc.first)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// exit runs the command line and returns what it printed and the exit
// code, as the binary would.
func (c *cli) exit(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(c.stdin), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return c.env[k] }}
	code = m.Exit(m.Run(context.Background(), args))
	return out.String(), errOut.String(), code
}

func TestExecShowsTheFailingLine(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	c.ok("sandbox", "create", "s1")
	_, errOut, code := c.exit("sandbox", "exec", "s1", "x = 1\ny = x / 0")
	want := strings.Join([]string{
		"otpbox: exec in sandbox s1: Runtime error (422): floating-point division by zero",
		"  at line 2, col 7:",
		"    y = x / 0",
		"          ^",
		"Traceback (most recent call last):",
		"  exec:2:7: in <toplevel>",
		"Error: floating-point division by zero",
		"",
	}, "\n")
	if code != ExitError || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	_, errOut, code = c.exit("sandbox", "exec", "s1", "x = (1 +")
	if code != ExitError || !strings.Contains(errOut, "Syntax error (422): got end of file, want primary expression [line 1, col 9]\n  at line 1, col 9:\n    x = (1 +\n            ^\n") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}

	// --json keeps every field of the problem, on stdout.
	out, errOut, code := c.exit("sandbox", "exec", "s1", "--json", "x = 1\ny = x / 0")
	var p map[string]any
	decode(t, out, &p)
	if code != ExitError || p["type"] != "urn:otpbox:problem:runtime_error" || p["status"] != float64(422) || p["title"] != "Runtime error" ||
		p["detail"] != "floating-point division by zero" || !strings.Contains(p["backtrace"].(string), "exec:2:7: in <toplevel>") {
		t.Errorf("exit %d, --json printed %v (stderr %q)", code, p, errOut)
	}
	out, _, _ = c.exit("sandbox", "exec", "s1", "--json", "x = (1 +")
	decode(t, out, &p)
	if p["line"] != float64(1) || p["col"] != float64(9) {
		t.Errorf("--json printed %v", p)
	}
}

func TestREPLPipedScriptSaysWhichLinesFailed(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	c.ok("sandbox", "create", "s1")
	c.stdin = strings.Join([]string{
		"x = 1",
		"",
		"def f():",
		"    return 1 // 0",
		"",
		"f()",
		"y = x + 1",
		"z = (",
	}, "\n")
	out, errOut, code := c.exit("repl", "s1")
	if code != ExitError || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{
		"line 6: error: floored division by zero\n  at line 6, col 2:\n    f()\n     ^\nTraceback (most recent call last):\n  exec:1:2: in <expr>\n  exec:2:14: in f\n",
		"line 8: syntax error: got end of file, want primary expression\n  at line 8, col 6:\n    z = (\n         ^\n",
		"otpbox: repl s1: 2 of 5 blocks failed, at lines 6, 8\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// The blocks that did not fail ran.
	if out := c.ok("sandbox", "exec", "s1", "y"); out != "2\n" {
		t.Errorf("y = %q", out)
	}
	c.stdin = "1 + 1\n"
	if out := c.ok("repl", "s1"); out != "2\n" {
		t.Errorf("a script without errors printed %q", out)
	}
}

func TestREPLJSON(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	c.ok("sandbox", "create", "s1")
	c.stdin = "6 * 7\n1 // 0\n"
	out, _, code := c.exit("repl", "s1", "--json")
	dec := json.NewDecoder(strings.NewReader(out))
	var res api.Result
	var p map[string]any
	if err := dec.Decode(&res); err != nil || res.Value != "42" {
		t.Errorf("first result %+v, %v", res, err)
	}
	if err := dec.Decode(&p); err != nil || p["detail"] != "floored division by zero" || p["backtrace"] == nil {
		t.Errorf("second: problem %v, %v", p, err)
	}
	if code != ExitError {
		t.Errorf("exit %d", code)
	}
}

// blockingNode answers a sandbox's info, and holds every exec until its
// request is cancelled, saying when one arrived.
func blockingNode(t *testing.T) (url string, arrived <-chan struct{}, cancelled <-chan struct{}) {
	a, c := make(chan struct{}, 8), make(chan struct{}, 8)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id": "s1", "state": "active"}`)
			return
		}
		if strings.Contains(r.URL.Path, "exec") {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), "forever") {
				a <- struct{}{}
				<-r.Context().Done()
				c <- struct{}{}
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"value": "2"}`)
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL, a, c
}

// TestREPLInterruptCancelsTheExecution: Ctrl-C while an execution runs
// cancels its request and the REPL reads the next line; Ctrl-C with no
// execution running ends the command.
func TestREPLInterruptCancelsTheExecution(t *testing.T) {
	url, arrived, cancelled := blockingNode(t)
	stdin, feed := io.Pipe()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: stdin, Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Interrupts: make(chan os.Signal, 1)}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background(), []string{"repl", "s1", "--addr", url}) }()
	_, _ = io.WriteString(feed, "forever()\n")
	<-arrived
	m.Interrupts <- os.Interrupt
	<-cancelled
	_, _ = io.WriteString(feed, "1 + 1\n")
	_ = feed.Close()
	err := <-done
	var script *ScriptError
	if !errors.As(err, &script) || len(script.Failed) != 1 || script.Failed[0] != 1 {
		t.Errorf("repl = %v", err)
	}
	if out.String() != "2\n" || !strings.HasPrefix(errOut.String(), "line 1: interrupted: stopped waiting;") {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}

}

// TestInterruptRouting: an interrupt goes to the handler set with
// onInterrupt; with none, it cancels the command's context with
// errInterrupted.
func TestInterruptRouting(t *testing.T) {
	m := &Main{Interrupts: make(chan os.Signal)}
	ctx, stop := m.watchInterrupts(context.Background())
	defer stop()
	handled := make(chan struct{}, 1)
	restore := m.onInterrupt(func() { handled <- struct{}{} })
	m.Interrupts <- os.Interrupt
	<-handled
	restore()
	if ctx.Err() != nil {
		t.Fatal("a handled interrupt cancelled the command")
	}
	m.Interrupts <- os.Interrupt
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), errInterrupted) {
		t.Errorf("cause %v", context.Cause(ctx))
	}
}
