package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/repl"
)

// replCommand is `otpbox repl ID`.
func (m *Main) replCommand() *cobra.Command {
	var o *clientOpts
	cmd := &cobra.Command{
		Use:   "repl ID",
		Short: "Start an interactive session in a sandbox",
		Long: `Repl runs an interactive session in sandbox ID. On a terminal it edits lines
and keeps a history in ~/.otpbox_history; otherwise it reads standard input
without prompts, so a script can be piped in. A line ending with ':' opens a
block that a blank line closes; an open bracket or triple-quoted string
continues on the next line. help() in the session explains the sandbox.

An error is printed with the failing line, a caret under the column and the
backtrace, and the session goes on. Ctrl-C while code runs cancels the wait
for it and returns to the prompt (the sandbox still finishes or fails that
execution, within its limits, before it runs the next); Ctrl-C while typing
drops the pending block; Ctrl-D, ':quit' or the end of the input leaves. A
piped script's errors name their line, and if any block failed the command
exits 1 saying which. --timeout bounds each execution; --json prints each
result, and each error's problem, as JSON on standard output.`,
		Example: `  otpbox repl s1
  otpbox repl s1 < script.star`,
		Args: args(1, 1, "ID"),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			id := a[0]
			ctx, cancel := o.context(cmd.Context())
			_, err = c.Sandboxes().Info(ctx, id)
			cancel()
			if err != nil {
				return o.fail(ctx, "open sandbox "+id, err)
			}
			return m.session(cmd, o, c, id)
		},
	}
	o = m.clientFlags(cmd.Flags())
	cmd.ValidArgsFunction = func(cmd *cobra.Command, a []string, s string) ([]string, cobra.ShellCompDirective) {
		return o.completeID(cmd, a, s)
	}
	return cmd
}

// ScriptError reports the blocks of a piped script that failed.
type ScriptError struct {
	Sandbox string
	Ran     int   // blocks run
	Failed  []int // the input lines where the failed blocks start
}

// Error says how many blocks failed, and at which lines.
func (e *ScriptError) Error() string {
	lines := make([]string, len(e.Failed))
	for i, l := range e.Failed {
		lines[i] = strconv.Itoa(l)
	}
	what := "line"
	if len(lines) > 1 {
		what = "lines"
	}
	return fmt.Sprintf("repl %s: %d of %d blocks failed, at %s %s", e.Sandbox, len(e.Failed), e.Ran, what, strings.Join(lines, ", "))
}

// session reads blocks of code and runs each in sandbox id until the
// input ends. A piped script whose blocks failed ends with a
// *ScriptError.
func (m *Main) session(cmd *cobra.Command, o *clientOpts, c *api.Client, id string) error {
	in, err := m.lines()
	if err != nil {
		return err
	}
	defer in.Close()
	_, piped := in.(*plain)
	if !piped {
		fmt.Fprintf(m.Stdout, "sandbox %s: help() explains the sandbox's builtins, :quit leaves\n", id)
	}
	ctx := cmd.Context()
	var (
		b      repl.Block
		lineNo int // lines read
		start  int // the line where the pending block starts
		script = &ScriptError{Sandbox: id}
	)
	run := func() {
		script.Ran++
		if !m.replExec(cmd, o, c, id, b.Code(), start, piped) {
			script.Failed = append(script.Failed, start)
		}
	}
	result := func() error {
		if piped && len(script.Failed) > 0 {
			return script
		}
		return nil
	}
	for {
		line, err := in.ReadLine(b.Prompt())
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			b.Reset()
			continue
		case errors.Is(err, io.EOF):
			if b.Pending() {
				run()
			}
			return result()
		case err != nil:
			return err
		}
		lineNo++
		if !b.Pending() {
			start = lineNo
			if line == ":quit" || line == ":q" {
				return result()
			}
		}
		if b.Add(line) {
			run()
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
	}
}

// replExec runs one block, which starts at line start of the input, and
// prints its outcome: errors are printed, not returned, and the session
// goes on. It reports whether the block ran without error. An interrupt
// while it waits cancels the request and ends the wait.
func (m *Main) replExec(cmd *cobra.Command, o *clientOpts, c *api.Client, id, code string, start int, piped bool) bool {
	ctx, cancel := o.context(cmd.Context())
	defer cancel()
	exec, interrupt := context.WithCancel(ctx)
	defer interrupt()
	restore := m.onInterrupt(interrupt)
	res, err := c.Sandboxes().Exec(exec, id, code)
	restore()
	prefix, first := "", 1
	if piped {
		prefix, first = fmt.Sprintf("line %d: ", start), start
	}
	var problem *api.Error
	switch {
	case errors.As(err, &problem):
		if o.json {
			if err := printJSON(cmd.OutOrStdout(), problemJSON(problem)); err != nil {
				fmt.Fprintln(m.Stderr, prefix+"error:", err)
			}
			return false
		}
		printProblem(m.Stderr, prefix, code, problem, first)
		return false
	case err != nil && exec.Err() != nil && ctx.Err() == nil:
		fmt.Fprintln(m.Stderr, prefix+"interrupted: stopped waiting; the sandbox still finishes or fails this execution, within its limits, before it runs the next")
		return false
	case err != nil:
		fmt.Fprintln(m.Stderr, prefix+"error:", o.fail(ctx, "exec in sandbox "+id, err))
		return false
	}
	if err := o.print(cmd, res, func(w io.Writer) error { return printResult(w, res) }); err != nil {
		fmt.Fprintln(m.Stderr, prefix+"error:", err)
	}
	return true
}

// lineReader reads one line after showing prompt.
type lineReader interface {
	ReadLine(prompt string) (string, error)
	Close() error
}

// lines returns a line editor on a terminal, a plain reader otherwise.
func (m *Main) lines() (lineReader, error) {
	if isTerminal(m.Stdin) && isTerminal(m.Stdout) {
		history := ""
		if home, err := os.UserHomeDir(); err == nil {
			history = filepath.Join(home, ".otpbox_history")
		}
		rl, err := readline.NewEx(&readline.Config{Prompt: repl.Prompt, HistoryFile: history, InterruptPrompt: "^C"})
		if err != nil {
			return nil, fmt.Errorf("line editor: %w", err)
		}
		return editor{rl}, nil
	}
	return &plain{s: bufio.NewScanner(m.Stdin)}, nil
}

// isTerminal reports whether w is a terminal (not merely a character
// device such as /dev/null).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type editor struct{ rl *readline.Instance }

func (e editor) ReadLine(prompt string) (string, error) {
	e.rl.SetPrompt(prompt)
	return e.rl.Readline()
}

func (e editor) Close() error { return e.rl.Close() }

// plain reads lines from a pipe or file, without prompts.
type plain struct{ s *bufio.Scanner }

func (p *plain) ReadLine(string) (string, error) {
	if p.s.Scan() {
		return p.s.Text(), nil
	}
	if err := p.s.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (p *plain) Close() error { return nil }
