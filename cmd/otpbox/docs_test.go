package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/repl"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
)

// realNode starts a node in process (the real sandbox host, on the
// embedded store) and returns its API address.
func realNode(t *testing.T) string {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.HTTPAddr, cfg.AdminAddr, cfg.DataDir, cfg.Node = "127.0.0.1:0", "off", t.TempDir(), "n1"
	n, err := node.Start(cfg, node.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return "http://" + n.HTTPAddr()
}

// docBlock is a ```python block of the documentation.
type docBlock struct {
	file      string
	line      int // of the block's first code line
	code      string
	continued bool // ```python continued: runs in the sandbox of the block before
}

// docBlocks returns the ```python blocks of the README and docs/*.md.
func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	fence := regexp.MustCompile("(?m)^```python( continued)?\n")
	var out []docBlock
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, m := range fence.FindAllStringSubmatchIndex(text, -1) {
			body := text[m[1]:]
			end := strings.Index(body, "\n```")
			if end < 0 {
				t.Fatalf("%s: unclosed ```python block", f)
			}
			out = append(out, docBlock{file: filepath.Base(f), line: strings.Count(text[:m[1]], "\n") + 1,
				code: body[:end+1], continued: m[2] >= 0})
		}
	}
	return out
}

// TestDocsExamplesRun runs every Starlark example of the README and
// docs/ in a sandbox of a real node, as the REPL runs it, and checks
// what the REPL printed against what the example shows: a session
// (">>> " lines) chunk by chunk, the output lines exactly, and of a
// failed chunk the first lines it printed; a plain program must run
// without error. Each block runs in a new sandbox, unless it is marked
// ```python continued.
func TestDocsExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	addr := realNode(t)
	client, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	blocks := docBlocks(t)
	if len(blocks) < 20 {
		t.Fatalf("only %d Starlark examples in the docs", len(blocks))
	}
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut}
	m.defaults()
	cmd := &cobra.Command{}
	cmd.SetOut(&out)
	cmd.SetContext(t.Context())
	o := &clientOpts{m: m, addr: addr, timeout: 30 * time.Second}
	id := ""
	for i, b := range blocks {
		if !b.continued || id == "" {
			id = fmt.Sprintf("doc%d", i)
			if _, err := client.Sandboxes().Create(t.Context(), id, api.Requirements{}); err != nil {
				t.Fatal(err)
			}
		}
		where := fmt.Sprintf("%s:%d", b.file, b.line)
		if !otptest.IsSession(b.code) {
			out.Reset()
			errOut.Reset()
			if !m.replExec(cmd, o, client, id, b.code, 1, false) {
				t.Errorf("%s: the example fails:\n%s", where, errOut.String())
			}
			continue
		}
		for _, c := range otptest.ParseSession(b.code) {
			if !typable(c.Code) {
				t.Errorf("%s, example line %d: the REPL does not read these lines as one block:\n%s", where, c.Line, c.Code)
			}
			out.Reset()
			errOut.Reset()
			ok := m.replExec(cmd, o, client, id, c.Code, 1, false)
			printed := out.String()
			if !ok {
				printed = errOut.String()
			}
			got := strings.Split(strings.TrimSuffix(printed, "\n"), "\n")
			if printed == "" {
				got = nil
			}
			if !ok && len(got) > len(c.Output) {
				got = got[:len(c.Output)] // the failing line and the backtrace follow
			}
			if strings.Join(got, "\n") != strings.Join(c.Output, "\n") || (ok && strings.HasPrefix(strings.Join(c.Output, ""), "error:")) {
				t.Errorf("%s, example line %d:\n%s\nprinted:\n%s\nthe docs show:\n%s", where, c.Line, c.Code, printed, strings.Join(c.Output, "\n"))
			}
		}
	}
}

// TestREPLInterruptOnANode: Ctrl-C while a real sandbox runs a long
// execution: the REPL stops waiting at once, says so, and goes on with
// the next line, which the sandbox runs once the long one ends (at its
// max_duration here).
func TestREPLInterruptOnANode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	addr := realNode(t)
	target, _ := url.Parse(addr)
	arrived := make(chan struct{}, 1)
	proxy := httputil.NewSingleHostReverseProxy(target)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/exec") {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer ts.Close()
	newCLI(t, "OTPBOX_ADDR", addr).ok("sandbox", "create", "s1", "--max-duration", "2s", "--max-steps", "100000000")

	stdin, feed := io.Pipe()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: stdin, Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Interrupts: make(chan os.Signal, 1)}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background(), []string{"repl", "s1", "--addr", ts.URL}) }()
	_, _ = io.WriteString(feed, "while True:\n    pass\n\n")
	<-arrived
	m.Interrupts <- os.Interrupt
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

// TestReadmeShowsAnExecError checks the exec error the README shows
// against a real node's.
func TestReadmeShowsAnExecError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "adds the failing line and the backtrace under it:\n\n```\n")
	want, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("the README shows no exec error")
	}
	c := newCLI(t, "OTPBOX_ADDR", realNode(t))
	c.ok("sandbox", "create", "s1")
	_, errOut, code := c.exit("sandbox", "exec", "s1", "x = 1\ny = x / 0")
	if code != ExitError || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nthe README shows:\n%s", code, errOut, want)
	}
}

// TestDocLinks checks the links between the README and docs/: every
// relative link names a file that exists, and every #anchor a heading of
// its target (GitHub's slugs).
func TestDocLinks(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(withoutCode(string(raw)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
			}
			body, err := os.ReadFile(file)
			if err != nil {
				if _, serr := os.Stat(file); serr != nil {
					t.Errorf("%s: link %s: %v", filepath.Base(f), target, serr)
				}
				continue
			}
			if anchor != "" && !slugs(string(body))[anchor] {
				t.Errorf("%s: link %s: no heading with that anchor in %s", filepath.Base(f), target, filepath.Base(file))
			}
		}
	}
}

// withoutCode drops fenced code blocks.
func withoutCode(s string) string {
	return regexp.MustCompile("(?s)```.*?```").ReplaceAllString(s, "")
}

// slugs returns the anchors GitHub gives the headings of a Markdown
// text: lower case, punctuation but - and _ dropped, spaces as -, and
// -1, -2… for repeats.
func slugs(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range strings.Split(withoutCode(text), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		s := b.String()
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// typable reports whether the REPL, given code line by line, runs it as
// one block: complete at its last line and not before.
func typable(code string) bool {
	var b repl.Block
	lines := strings.Split(code, "\n")
	for i, l := range lines {
		if b.Add(l) != (i == len(lines)-1) {
			return false
		}
	}
	return true
}
