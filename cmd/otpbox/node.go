package main

import (
	"context"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

// node runs `otpbox node` until ctx is done. Configuration layers, lowest
// first: defaults, the --config file (or OTPBOX_CONFIG), OTPBOX_*
// variables, flags.
func (m *Main) node(ctx context.Context, args []string) error {
	c := m.newCommand("node", "")
	flags := node.Flags(c.fs)
	path := c.fs.String("config", m.Getenv("OTPBOX_CONFIG"), "JSON configuration file; env OTPBOX_CONFIG")
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	cfg, err := m.nodeConfig(*path, *flags)
	if err != nil {
		return err
	}
	log, err := node.NewLogger(m.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	return node.Run(ctx, cfg, append([]node.Option{node.WithLogger(log)}, m.NodeOptions...)...)
}

// nodeConfig layers the configuration.
func (m *Main) nodeConfig(path string, flags node.Config) (node.Config, error) {
	cfg := node.DefaultConfig()
	if path != "" {
		file, err := node.LoadFile(path)
		if err != nil {
			return cfg, err
		}
		cfg = cfg.Merge(file)
	}
	env, err := node.FromEnv(m.Getenv)
	if err != nil {
		return cfg, err
	}
	return cfg.Merge(env).Merge(flags), nil
}
