package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
)

// healthCommand is `otpbox health live|ready`.
func (m *Main) healthCommand() *cobra.Command {
	cmd := group("health", "Check a node's liveness and readiness",
		`The health commands ask a node whether its process answers (live) and whether
it takes work (ready). They exit 0 when it is, 1 when it is not, so scripts and
probes can use them.`,
		`  otpbox health live
  otpbox health ready && echo ready`)
	o := m.clientFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		o.plainCmd("live", "Check that the node's process answers",
			`Live prints "ok" and exits 0 when the node answers its liveness check.`,
			`  otpbox health live --addr http://127.0.0.1:4000`,
			func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
				if err := c.Health().Live(ctx); err != nil {
					return o.fail(ctx, "check liveness", err)
				}
				return o.print(cmd, map[string]string{"status": "ok"}, func(w io.Writer) error {
					_, err := fmt.Fprintln(w, "ok")
					return err
				})
			}),
		o.plainCmd("ready", "Check that the node takes work",
			`Ready prints the node's readiness: "ready" (exit 0), or "degraded" or
"not_ready" with the reason (exit 1). Degraded means the node takes work but
something is wrong (a restart in its tree in the last minute, a failing cache
tier, or most of --max-inflight in use); not ready means it is starting,
draining, or part of its tree is down.`,
			`  otpbox health ready
  until otpbox health ready; do sleep 1; done`,
			func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
				r, err := c.Health().Ready(ctx)
				if err != nil {
					return o.fail(ctx, "check readiness", err)
				}
				type readiness struct {
					Status string `json:"status"`
					Reason string `json:"reason,omitempty"`
				}
				if err := o.print(cmd, readiness{r.Status, r.Reason}, func(w io.Writer) error {
					if r.Reason != "" {
						_, err := fmt.Fprintf(w, "%s: %s\n", r.Status, r.Reason)
						return err
					}
					_, err := fmt.Fprintln(w, r.Status)
					return err
				}); err != nil {
					return err
				}
				if r.Status != api.Ready {
					return fmt.Errorf("the node at %s is %s", o.addr, r.Status)
				}
				return nil
			}),
	)
	return cmd
}
