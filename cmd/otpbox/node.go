package main

import (
	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

// nodeCommand is `otpbox node`: it runs a node until the context is done
// (the first SIGTERM or Ctrl-C), then drains it.
func (m *Main) nodeCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a node: the HTTP API, the sandboxes and the node's supervision tree",
		Long: `Node runs an otpbox node until SIGTERM or Ctrl-C, then drains it: readiness
fails, new work is refused, calls in flight finish, sandboxes are passivated,
and the process exits 0 within --drain-timeout (a second signal kills it).

Configuration layers, lowest first: the defaults, the JSON file of --config
(env OTPBOX_CONFIG), the OTPBOX_* variables, the flags. Any layer can set any
key, zero included. Sizes take units (64MiB, 1GiB, 1GB), durations too (30s,
1m30s). Every flag, variable and key is listed in docs/configuration.md.

With --consul and --redis the node joins a cluster; see docs/cluster.md.`,
		Example: `  otpbox node
  otpbox node --http 0.0.0.0:4000 --token change-me --data-dir /var/lib/otpbox
  otpbox node --config otpbox.json --memory-limit 2GiB
  otpbox node --consul 127.0.0.1:8500 --redis redis://127.0.0.1:6379 --node n1 --http 127.0.0.1:4101`,
		Args: args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("config") {
				file = m.Getenv("OTPBOX_CONFIG")
			}
			cfg, err := node.Load(node.Sources{File: file, Getenv: m.Getenv, Flags: cmd.Flags()})
			if err != nil {
				return err
			}
			log, err := node.NewLogger(m.Stderr, cfg.LogLevel, cfg.LogFormat)
			if err != nil {
				return err
			}
			return node.Run(cmd.Context(), cfg, append([]node.Option{node.WithLogger(log)}, m.NodeOptions...)...)
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "JSON configuration `file`; env OTPBOX_CONFIG")
	node.RegisterFlags(cmd.Flags())
	cmd.Flags().SortFlags = false
	return cmd
}
