package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// root builds the command tree for one Run.
func (m *Main) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "otpbox",
		Short: "Run an otpbox node, and drive one from the command line",
		Long: `otpbox runs a node (an actor runtime with Erlang/OTP supervision and sandboxes
that run Starlark code with their own supervision trees), and drives a node
through its HTTP API: sandboxes, the cluster, the cache and memory.

The client commands talk to --addr (default http://127.0.0.1:4000, env
OTPBOX_ADDR) and send --token (env OTPBOX_TOKEN) as a bearer token.`,
		Example: `  otpbox node                       # a node with the defaults
  otpbox sandbox create s1
  otpbox sandbox exec s1 'x = 20; x + 22'
  otpbox repl s1`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noSuchCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usage(cmd, "no command given")
		},
	}
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &UsageError{Command: cmd.CommandPath(), Err: err}
	})
	root.AddCommand(
		m.nodeCommand(),
		m.sandboxCommand(),
		m.replCommand(),
		m.clusterCommand(),
		m.cacheCommand(),
		m.memoryCommand(),
		m.healthCommand(),
		m.eventsCommand(),
		m.benchCommand(),
		m.versionCommand(),
	)
	root.InitDefaultCompletionCmd()
	root.SetHelpCommand(helpCommand(root))
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			c.Example = `  source <(otpbox completion bash)          # this shell
  otpbox completion bash > /etc/bash_completion.d/otpbox
  otpbox completion zsh > "${fpath[1]}/_otpbox"
  otpbox completion fish > ~/.config/fish/completions/otpbox.fish`
		}
	}
	root.SetUsageFunc(func(cmd *cobra.Command) error {
		if cmd != root {
			return defaultUsage(cmd)
		}
		return rootUsage(cmd.OutOrStderr(), root)
	})
	return root
}

// helpCommand is `otpbox help [command]`: cobra's, except that an
// unknown topic is an *UnknownCommandError (exit 127), not a help page.
func helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "Print the help of a command",
		Long:    "Help prints the description, usage, flags and examples of any command, on standard output.",
		Example: "  otpbox help sandbox exec",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, sub.Name()+"\t"+sub.Short)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				name, parent := strings.Join(args, " "), root.CommandPath()
				if cmd != nil && len(rest) > 0 {
					name, parent = rest[0], cmd.CommandPath()
				}
				var suggestions []string
				if cmd != nil && len(rest) > 0 {
					cmd.SuggestionsMinimumDistance = 2
					suggestions = cmd.SuggestionsFor(rest[0])
				}
				return &UnknownCommandError{Name: name, Parent: parent, Suggestions: suggestions}
			}
			return cmd.Help()
		},
	}
}

// defaultUsage is cobra's usage of a command that is not the root.
var defaultUsage = (&cobra.Command{}).UsageFunc()

// group returns a command that only holds subcommands: alone it is a
// usage error, and an unknown subcommand is an *UnknownCommandError
// with suggestions.
func group(use, short, long, example string) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: noSuchCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usage(cmd, "%s needs a command: %s", cmd.CommandPath(), strings.Join(names(cmd), ", "))
		},
	}
}

// noSuchCommand refuses the arguments of a command that only holds
// subcommands: the first one names no subcommand.
func noSuchCommand(cmd *cobra.Command, a []string) error {
	if len(a) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	return &UnknownCommandError{Name: a[0], Parent: cmd.CommandPath(), Suggestions: cmd.SuggestionsFor(a[0])}
}

func names(cmd *cobra.Command) []string {
	var out []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			out = append(out, c.Name())
		}
	}
	return out
}

// rootUsage lists every command, subcommands included, so that the
// top-level usage shows all that otpbox does.
func rootUsage(w io.Writer, root *cobra.Command) error {
	fmt.Fprintf(w, "Usage:\n  otpbox <command> [flags] [args]\n\nCommands:\n")
	t := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			if sub.Runnable() && (!sub.HasAvailableSubCommands() || sub.Name() == "memory") {
				path := strings.TrimPrefix(sub.CommandPath(), "otpbox ")
				use := strings.TrimPrefix(sub.Use, sub.Name())
				if sub.HasParent() && sub.Parent().Name() == "completion" {
					continue
				}
				fmt.Fprintf(t, "  %s%s\t%s\n", path, use, sub.Short)
			}
			walk(sub)
		}
	}
	walk(root)
	fmt.Fprintf(t, "  completion bash|zsh|fish|powershell\t%s\n", "Print a shell completion script")
	fmt.Fprintf(t, "  help [command]\t%s\n", "Print the help of a command")
	t.Flush()
	fmt.Fprintf(w, `
Client flags (every command that talks to a node):
  --addr URL        node API (env OTPBOX_ADDR; default http://127.0.0.1:4000)
  --token TOKEN     bearer token (env OTPBOX_TOKEN)
  --json            print the answer as JSON
  --format TEMPLATE print the answer through a Go template ({{.ID}}; per item for lists)
  --timeout DUR     deadline of the command's requests (default 30s)

Run 'otpbox <command> --help' for a command's description, flags and examples.
`)
	return nil
}

// normalizeArgs lets the flags of a command be written with one dash, as
// Go's flag package and Consul accept (-json, -addr=…, -format): such an
// argument becomes --name when name is a long flag of the command that
// args run. Arguments after "--" are left alone.
func normalizeArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		if len(name) > 1 && lookup(cmd, name) != nil {
			out[i] = "-" + a
		}
	}
	return out
}

func lookup(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	return cmd.InheritedFlags().Lookup(name)
}
