package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
continues on the next line. Ctrl-C drops the pending block; Ctrl-D, ':quit' or
the end of the input leaves. An error is printed and the session goes on;
--timeout bounds each execution.`,
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

// session reads blocks of code and runs each in sandbox id until the
// input ends.
func (m *Main) session(cmd *cobra.Command, o *clientOpts, c *api.Client, id string) error {
	in, err := m.lines()
	if err != nil {
		return err
	}
	defer in.Close()
	ctx := cmd.Context()
	var b repl.Block
	for {
		line, err := in.ReadLine(b.Prompt())
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			b.Reset()
			continue
		case errors.Is(err, io.EOF):
			if b.Pending() {
				m.replExec(cmd, o, c, id, b.Code())
			}
			return nil
		case err != nil:
			return err
		}
		if !b.Pending() && (line == ":quit" || line == ":q") {
			return nil
		}
		if b.Add(line) {
			m.replExec(cmd, o, c, id, b.Code())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// replExec runs one block and prints its outcome; errors are printed, not
// returned, and the session goes on.
func (m *Main) replExec(cmd *cobra.Command, o *clientOpts, c *api.Client, id, code string) {
	ctx, cancel := o.context(cmd.Context())
	defer cancel()
	res, err := c.Sandboxes().Exec(ctx, id, code)
	var problem *api.Error
	switch {
	case errors.As(err, &problem):
		fmt.Fprintln(m.Stderr, "error:", problem) // the code's own error
		return
	case err != nil:
		fmt.Fprintln(m.Stderr, "error:", o.fail(ctx, "exec in sandbox "+id, err))
		return
	}
	if err := o.print(cmd, res, func(w io.Writer) error { return printResult(w, res) }); err != nil {
		fmt.Fprintln(m.Stderr, "error:", err)
	}
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
