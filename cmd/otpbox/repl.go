package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chzyer/readline"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/client"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/repl"
)

// repl runs `otpbox repl ID`: an interactive session in a sandbox. On a
// terminal it edits lines (history in ~/.otpbox_history); otherwise it
// reads stdin without prompts, so scripts can pipe code in. A line ending
// with ':' opens a block that a blank line closes; open brackets and
// triple-quoted strings continue. Ctrl-C drops the pending block; Ctrl-D,
// ":quit" or end of input leaves.
func (m *Main) repl(ctx context.Context, args []string) error {
	c, id, cl, err := m.idCommand("repl", args)
	if err != nil {
		return err
	}
	if _, err := cl.Info(ctx, id); err != nil {
		return err
	}
	in, err := m.lines()
	if err != nil {
		return err
	}
	defer in.Close()
	var b repl.Block
	for {
		line, err := in.ReadLine(b.Prompt())
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			b.Reset()
			continue
		case errors.Is(err, io.EOF):
			if b.Pending() {
				m.replExec(ctx, c, cl, id, b.Code())
			}
			return nil
		case err != nil:
			return err
		}
		if !b.Pending() && (line == ":quit" || line == ":q") {
			return nil
		}
		if b.Add(line) {
			m.replExec(ctx, c, cl, id, b.Code())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// replExec runs one block and prints its outcome; errors are printed, not
// returned, and the session goes on.
func (m *Main) replExec(ctx context.Context, c *command, cl *client.Client, id, code string) {
	res, err := cl.Execute(ctx, id, code)
	if err != nil {
		fmt.Fprintln(m.Stderr, "error:", err)
		return
	}
	if c.json {
		_ = printJSON(m.Stdout, res)
		return
	}
	printResult(m.Stdout, res)
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
