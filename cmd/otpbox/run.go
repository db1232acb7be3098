package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

// Main is the otpbox command. Its zero value uses the process's standard
// streams and environment; tests set the fields.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// NodeOptions are added to the options of `otpbox node` and of the
	// in-process node of `otpbox bench` (tests inject a sandbox host).
	NodeOptions []node.Option
	// Interrupts delivers the process's interrupts (Ctrl-C). While the
	// REPL waits for an execution, one cancels that execution and the
	// REPL goes on; otherwise one cancels the command, and the delivery
	// stops so that a second one kills the process. Nil: none.
	Interrupts chan os.Signal

	interrupt atomic.Pointer[func()] // the handler of the next interrupt (onInterrupt)
}

// Exit codes, as Consul's: 0 success, 1 an error, 2 a usage error, 127
// no such command.
const (
	ExitOK        = 0
	ExitError     = 1
	ExitUsage     = 2
	ExitNoCommand = 127
)

// UsageError is a command line with wrong flags or arguments. Its
// message says what is wrong; Command is the command it was for.
type UsageError struct {
	Command string // "otpbox sandbox exec"
	Err     error
}

// Error returns what is wrong with the command line.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// UnknownCommandError is a command name that does not exist, with the
// names it may have been a typo of.
type UnknownCommandError struct {
	Name        string // the unknown name
	Parent      string // "otpbox sandbox"
	Suggestions []string
}

// Error names the command and the names it may be a typo of.
func (e *UnknownCommandError) Error() string {
	msg := fmt.Sprintf("unknown command %q for %q", e.Name, e.Parent)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(quoteAll(e.Suggestions), " or ") + "?"
	}
	return msg
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// Run runs the command line args (without the program name). Help asked
// for (-h, --help, help) is printed on Stdout and returns nil.
func (m *Main) Run(ctx context.Context, args []string) error {
	m.defaults()
	ctx, stop := m.watchInterrupts(ctx)
	defer stop()
	root := m.root()
	root.SetArgs(normalizeArgs(root, args))
	return root.ExecuteContext(ctx)
}

// Exit prints err (if any) on Stderr as "otpbox: …" and returns the exit
// code: ExitUsage for a *UsageError (with where to find help),
// ExitNoCommand for an *UnknownCommandError, ExitError otherwise.
func (m *Main) Exit(err error) int {
	m.defaults()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(m.Stderr, "otpbox:", err)
	var (
		usage   *UsageError
		unknown *UnknownCommandError
		details detailer
	)
	if errors.As(err, &details) {
		if d := details.Details(); d != "" {
			fmt.Fprintln(m.Stderr, d)
		}
	}
	switch {
	case errors.As(err, &unknown):
		fmt.Fprintf(m.Stderr, "Run '%s --help' for the commands.\n", unknown.Parent)
		return ExitNoCommand
	case errors.As(err, &usage):
		fmt.Fprintf(m.Stderr, "Run '%s --help' for usage.\n", usage.Command)
		return ExitUsage
	}
	return ExitError
}

func (m *Main) defaults() {
	if m.Stdin == nil {
		m.Stdin = os.Stdin
	}
	if m.Stdout == nil {
		m.Stdout = os.Stdout
	}
	if m.Stderr == nil {
		m.Stderr = os.Stderr
	}
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
}

// usage returns a *UsageError for cmd.
func usage(cmd *cobra.Command, format string, a ...any) error {
	return &UsageError{Command: cmd.CommandPath(), Err: fmt.Errorf(format, a...)}
}

// args returns a positional-argument check: between min and max
// arguments (max < 0: any), named by names ("ID [CODE]") in the error.
func args(min, max int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) < min || (max >= 0 && len(a) > max) {
			if names == "" {
				return usage(cmd, "%s takes no arguments, got %q", cmd.CommandPath(), a)
			}
			return usage(cmd, "%s takes %s, got %d argument(s)", cmd.CommandPath(), names, len(a))
		}
		return nil
	}
}
