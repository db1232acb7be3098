package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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
}

// ErrUsage reports a command line that names no known command or has the
// wrong arguments.
var ErrUsage = errors.New("usage error")

const usage = `Usage: otpbox <command> [flags] [args]

Node:
  node                     run a node (HTTP API on 127.0.0.1:4000)

Client (flags --addr, --token, --json; env OTPBOX_ADDR, OTPBOX_TOKEN):
  sandbox create ID        create a sandbox
  sandbox exec ID [CODE]   execute code (CODE absent or "-": read stdin)
  sandbox rm ID            terminate a sandbox
  sandbox ls               list sandboxes
  sandbox info ID          describe a sandbox
  sandbox restart ID       restart a sandbox
  sandbox migrate ID NODE  move a sandbox to another node
  sandbox tree ID          show a sandbox's supervision tree
  sandbox restarts ID      show a sandbox's restart history
  sandbox trace ID         show a sandbox's supervision trace
  repl ID                  interactive session in a sandbox
  cluster status|nodes|load
  cache stats
  bench                    load test: create, execute "1 + 1", terminate
  version                  print the version

Run "otpbox <command> -h" for a command's flags.
`

// Run runs the command named by args[0]. It returns nil after -h.
func (m *Main) Run(ctx context.Context, args []string) error {
	m.defaults()
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return fmt.Errorf("no command given: %w", ErrUsage)
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "node":
		err = m.node(ctx, rest)
	case "sandbox":
		err = m.sandbox(ctx, rest)
	case "repl":
		err = m.repl(ctx, rest)
	case "cluster":
		err = m.cluster(ctx, rest)
	case "cache":
		err = m.cache(ctx, rest)
	case "bench":
		err = m.bench(ctx, rest)
	case "version":
		err = m.version(rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return fmt.Errorf("unknown command %q: %w", cmd, ErrUsage)
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
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
