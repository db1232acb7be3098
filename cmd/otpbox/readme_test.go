package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

// docCommand is an otpbox command line quoted in the documentation.
type docCommand struct {
	file string
	args []string
}

// docCommands returns the otpbox command lines of the ```sh blocks of the
// README and docs/*.md ("otpbox …" or "bin/otpbox …", continuation lines
// joined, comments dropped).
func docCommands(t *testing.T) []docCommand {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	block := regexp.MustCompile("(?s)```sh\n(.*?)```")
	var out []docCommand
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(b), -1) {
			text := strings.ReplaceAll(m[1], "\\\n", " ")
			for _, line := range strings.Split(text, "\n") {
				line = strings.TrimSpace(line)
				cmd, ok := strings.CutPrefix(line, "otpbox ")
				if !ok {
					cmd, ok = strings.CutPrefix(line, "bin/otpbox ")
				}
				if !ok {
					continue
				}
				args := shellWords(t, cmd)
				for i, a := range args {
					if a == "&" || strings.HasPrefix(a, "#") {
						args = args[:i]
						break
					}
				}
				out = append(out, docCommand{filepath.Base(f), args})
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d otpbox command lines in the docs", len(out))
	}
	return out
}

// shellWords splits a command line as sh does for the docs' simple
// lines: blanks separate words, '…' and "…" quote.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
loop:
	for _, r := range s {
		switch {
		case quote == 0 && !in && r == '#':
			break loop // a comment
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestDocumentedCommandsExist checks every otpbox command line of the
// README and docs/: the command exists (a command that runs, not a
// group), and so does each of its flags.
func TestDocumentedCommandsExist(t *testing.T) {
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	m.defaults()
	for _, dc := range docCommands(t) {
		root := m.root()
		cmd, rest, err := root.Find(dc.args)
		if err != nil || cmd == root || !cmd.Runnable() {
			t.Errorf("%s: otpbox %s: no such command (%v)", dc.file, strings.Join(dc.args, " "), err)
			continue
		}
		if cmd.Args != nil {
			if err := cmd.ValidateArgs(positional(cmd, rest)); err != nil {
				t.Errorf("%s: otpbox %s: %v", dc.file, strings.Join(dc.args, " "), err)
			}
		}
		for _, a := range rest {
			if a == "--" {
				break
			}
			name, ok := strings.CutPrefix(a, "--")
			if !ok {
				continue
			}
			name, _, _ = strings.Cut(name, "=")
			if lookup(cmd, name) == nil {
				t.Errorf("%s: otpbox %s: %s has no flag --%s", dc.file, strings.Join(dc.args, " "), cmd.CommandPath(), name)
			}
		}
	}
}

// positional drops the flags (and their values) from args.
func positional(cmd *cobra.Command, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i+1:]...)
		}
		if name, ok := strings.CutPrefix(a, "--"); ok {
			if strings.Contains(name, "=") {
				continue
			}
			if f := lookup(cmd, name); f != nil && f.NoOptDefVal == "" {
				i++ // its value
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// TestEveryCommandIsDocumented: every command has a description, a long
// description and examples, and its help (on stdout) shows them.
func TestEveryCommandIsDocumented(t *testing.T) {
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	m.defaults()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.HasParent() && sub.Parent().Name() == "completion" {
				continue // cobra's, one per shell
			}
			if sub.Short == "" || sub.Long == "" || sub.Example == "" {
				t.Errorf("%s: Short %q, Long %d bytes, Example %d bytes", sub.CommandPath(), sub.Short, len(sub.Long), len(sub.Example))
			}
			walk(sub)
		}
	}
	walk(m.root())
	out, _, err := newCLI(t).run("sandbox", "restart", "--help")
	if err != nil || !strings.Contains(out, "journal is emptied") || !strings.Contains(out, "Examples:") {
		t.Errorf("sandbox restart --help = %v:\n%s", err, out)
	}
	out, _, _ = newCLI(t).run("--help")
	for _, want := range []string{"cluster scaling", "cluster drain NODE", "cache clear", "memory optimize", "health ready", "completion bash"} {
		if !strings.Contains(out, want) {
			t.Errorf("otpbox --help lacks %q:\n%s", want, out)
		}
	}
}

// TestReadmeExamplesRun runs the README's command block against a real
// node in process (named n2, so that the README's migrate to n2 moves the
// sandbox to the node itself). A node that runs alone answers drain with
// not implemented; the long-running commands (node, repl, bench) are
// left out.
func TestReadmeExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	cfg := node.DefaultConfig()
	cfg.HTTPAddr, cfg.AdminAddr, cfg.DataDir, cfg.Node = "127.0.0.1:0", "off", t.TempDir(), "n2"
	n, err := node.Start(cfg, node.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	c := newCLI(t, "OTPBOX_ADDR", "http://"+n.HTTPAddr())
	ran := 0
	for _, dc := range docCommands(t) {
		if dc.file != "README.md" || len(dc.args) == 0 {
			continue
		}
		switch dc.args[0] {
		case "node", "repl", "bench", "events":
			continue // they run until stopped: TestNodeCommand, the REPL's, bench's and TestWatchKillAndProcessCommands run them
		}
		if len(dc.args) > 1 && dc.args[1] == "watch" {
			continue
		}
		out, errOut, err := c.run(dc.args...)
		line := "otpbox " + strings.Join(dc.args, " ")
		if len(dc.args) > 1 && dc.args[0] == "cluster" && dc.args[1] == "drain" {
			if !errors.Is(err, api.ErrNotImplemented) {
				t.Errorf("%s on a node that runs alone = %v, want not implemented", line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, errOut)
			continue
		}
		ran++
		if line == "otpbox sandbox exec s1 x + 22" && out != "42\n" {
			t.Errorf("%s printed %q", line, out)
		}
		if dc.args[0] == "sandbox" && dc.args[1] == "rm" && !strings.HasPrefix(out, "removed sandbox s1") {
			t.Errorf("%s printed %q", line, out)
		}
	}
	if ran < 20 {
		t.Errorf("ran %d README commands", ran)
	}
}
