package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/units"
)

// clusterCommand is `otpbox cluster …`.
func (m *Main) clusterCommand() *cobra.Command {
	cmd := group("cluster", "Inspect and operate the cluster the node belongs to",
		`The cluster commands ask the node's ScalabilityManager and LoadBalancer about
the cluster, and act on it (drain a member, rebalance). A node that runs alone is
a cluster of one.`,
		`  otpbox cluster status
  otpbox cluster nodes
  otpbox cluster drain n3`)
	o := m.clientFlags(cmd.PersistentFlags())
	cmd.AddCommand(o.statusCmd(), o.nodesCmd(), o.loadCmd(), o.scalingCmd(), o.drainCmd(), o.rebalanceCmd(), o.optimalNodeCmd())
	return cmd
}

// plainCmd is a client command without arguments.
func (o *clientOpts) plainCmd(use, short, long, example string, run func(ctx context.Context, cmd *cobra.Command, c *api.Client) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			return run(ctx, cmd, c)
		},
	}
}

func (o *clientOpts) statusCmd() *cobra.Command {
	return o.plainCmd("status", "Show the cluster's nodes, capacity and utilization",
		`Status prints the ScalabilityManager's view: the members, their sandbox slots
and how much of them (and of memory and CPU) is used, the sandboxes, and the
scaling operations in progress.`,
		`  otpbox cluster status
  otpbox cluster status --format '{{.CurrentUtilization}}'`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			s, err := c.Cluster().Status(ctx)
			if err != nil {
				return o.fail(ctx, "get the cluster status", err)
			}
			return o.print(cmd, s, func(w io.Writer) error {
				t := table(w)
				fmt.Fprintf(t, "Nodes\t%d total, %d active, %d draining\n", s.TotalNodes, s.ActiveNodes, s.DrainingNodes)
				fmt.Fprintf(t, "Capacity\t%d sandbox slots, %s used\n", s.TotalCapacity, percent(s.CurrentUtilization))
				fmt.Fprintf(t, "Utilization\tsandboxes %s, memory %s, cpu %s\n", percent(s.Utilization.Sandboxes), percent(s.Utilization.Memory), percent(s.Utilization.CPU))
				fmt.Fprintf(t, "Sandboxes\t%d active, %d passivated\n", s.Sandboxes.Active, s.Sandboxes.Passivated)
				if s.Leader != "" {
					fmt.Fprintf(t, "Leader\t%s\n", s.Leader)
				}
				fmt.Fprintf(t, "Auto-scaling\t%v\n", s.AutoScalingEnabled)
				for _, op := range s.PendingOperations {
					fmt.Fprintf(t, "Pending\t%s (%s) %s since %s\n", op.Kind, op.Reason, op.Phase, op.StartedAt.Local().Format(time.TimeOnly))
				}
				return t.Flush()
			})
		})
}

func (o *clientOpts) nodesCmd() *cobra.Command {
	return o.plainCmd("nodes", "List the cluster's members with their health and load",
		`Nodes lists the members as the node's membership sees them: address, status
(alive, leaving, down), Consul health (passing, warning, critical), and their
sandboxes.`,
		`  otpbox cluster nodes
  otpbox cluster nodes --format '{{.Name}} {{.Health}}'`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			nodes, err := c.Cluster().Nodes(ctx)
			if err != nil {
				return o.fail(ctx, "list the cluster's nodes", err)
			}
			return printItems(o, cmd, api.NodeList{Nodes: nodes}, nodes, func(w io.Writer) error {
				t := table(w)
				fmt.Fprintln(t, "NAME\tADDRESS\tSTATUS\tHEALTH\tACTIVE\tSLOTS\tMEMORY\tCPU")
				for _, n := range nodes {
					name := n.Name
					if n.Self {
						name += " (self)"
					}
					slots, mem, cpu := "-", "-", "-"
					if n.Capacity != nil {
						slots = fmt.Sprint(n.Capacity.Slots)
					}
					if n.Load != nil {
						mem, cpu = percent(n.Load.Memory), percent(n.Load.CPU)
					}
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", name, dash(n.Address), n.Status, n.Health, n.Sandboxes.Active, slots, mem, cpu)
				}
				return t.Flush()
			})
		})
}

func (o *clientOpts) loadCmd() *cobra.Command {
	return o.plainCmd("load", "Show the LoadBalancer's load distribution",
		`Load prints the LoadBalancer's view: its strategy, each member's sandboxes,
weight, load and share, whether it accepts new sandboxes, and the spread
(rebalancing runs above the threshold).`,
		`  otpbox cluster load`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			d, err := c.Cluster().Load(ctx)
			if err != nil {
				return o.fail(ctx, "get the load distribution", err)
			}
			return o.print(cmd, d, func(w io.Writer) error {
				fmt.Fprintf(w, "Strategy %s, spread %s (threshold %s)\n", dash(d.Strategy), percent(d.Spread), percent(d.Threshold))
				t := table(w)
				fmt.Fprintln(t, "NODE\tHEALTH\tACCEPTS\tSANDBOXES\tWEIGHT\tLOAD\tSHARE")
				for _, n := range d.Nodes {
					fmt.Fprintf(t, "%s\t%s\t%v\t%d\t%d\t%.3g\t%.1f%%\n", n.Node, dash(n.Health), n.Accepts, n.Sandboxes, n.Weight, n.Load, n.Percentage)
				}
				return t.Flush()
			})
		})
}

func (o *clientOpts) scalingCmd() *cobra.Command {
	return o.plainCmd("scaling", "List the ScalabilityManager's scaling operations",
		`Scaling lists the recent scale-out and scale-in operations, oldest first, with
their reason, state and nodes.`,
		`  otpbox cluster scaling`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			ops, err := c.Cluster().Scaling(ctx)
			if err != nil {
				return o.fail(ctx, "list the scaling operations", err)
			}
			type opList struct {
				Operations []api.ScalingOperation `json:"operations"`
			}
			return printItems(o, cmd, opList{ops}, ops, func(w io.Writer) error {
				if len(ops) == 0 {
					_, err := fmt.Fprintln(w, "no scaling operation yet")
					return err
				}
				t := table(w)
				fmt.Fprintln(t, "STARTED\tKIND\tREASON\tSTATE\tNODES\tTOOK")
				for _, op := range ops {
					took := "-"
					if !op.FinishedAt.IsZero() {
						took = op.FinishedAt.Sub(op.StartedAt).Round(time.Millisecond).String()
					}
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", op.StartedAt.Local().Format(time.TimeOnly), op.Kind, op.Reason, op.State, dash(strings.Join(op.Nodes, ",")), took)
				}
				return t.Flush()
			})
		})
}

func (o *clientOpts) drainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "drain NODE",
		Short: "Move every sandbox off a member and mark it draining",
		Long: `Drain moves every sandbox of member NODE, with its state, to the other members
(placed by the strategy) and marks NODE draining (warning in Consul), so that it
takes no new sandboxes and can be stopped. A node that runs alone has nowhere
to drain to (not implemented, 501); an unknown NODE is unknown_node (404).`,
		Example: `  otpbox cluster drain n3`,
		Args:    args(1, 1, "NODE"),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			r, err := c.Cluster().Drain(ctx, a[0])
			if err != nil {
				return o.fail(ctx, "drain node "+a[0], err)
			}
			return o.print(cmd, r, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s drained: %d sandboxes moved\n", r.Node, r.Moved)
				return err
			})
		},
	}
}

func (o *clientOpts) rebalanceCmd() *cobra.Command {
	return o.plainCmd("rebalance", "Run a rebalancing round of the LoadBalancer now",
		`Rebalance asks the LoadBalancer to move sandboxes from the most to the least
loaded members now, and prints the moves, or why it moved nothing (disabled,
cooldown, balanced, not_leader, …).`,
		`  otpbox cluster rebalance`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			r, err := c.Cluster().Rebalance(ctx)
			if err != nil {
				return o.fail(ctx, "rebalance", err)
			}
			return o.print(cmd, r, func(w io.Writer) error {
				if len(r.Moves) == 0 {
					fmt.Fprintf(w, "nothing moved (%s); spread %s\n", dash(r.Skipped), percent(r.SpreadBefore))
				}
				for _, mv := range r.Moves {
					fmt.Fprintf(w, "moved %s from %s to %s\n", mv.Identity, mv.From, mv.To)
				}
				for _, f := range r.Failures {
					fmt.Fprintf(w, "failed to move %s from %s\n", dash(f.Identity), f.From)
				}
				if len(r.Moves) > 0 {
					fmt.Fprintf(w, "spread %s → %s\n", percent(r.SpreadBefore), percent(r.SpreadAfter))
				}
				return nil
			})
		})
}

func (o *clientOpts) optimalNodeCmd() *cobra.Command {
	var (
		mem      units.Size
		cpu      float64
		locality string
	)
	cmd := o.plainCmd("optimal-node", "Ask which member would host a sandbox with these needs",
		`Optimal-node asks the ScalabilityManager for the member that fits a sandbox
needing --memory and --cpu best (by free memory, idle CPU and load), preferring
--locality (a member's name or zone). It fails when no member fits.`,
		`  otpbox cluster optimal-node --memory 256MiB --cpu 0.5 --locality east`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			node, err := c.Cluster().OptimalNode(ctx, api.NodeRequirements{MemoryBytes: uint64(mem), CPU: cpu, Locality: locality})
			if err != nil {
				return o.fail(ctx, "find the optimal node", err)
			}
			return o.print(cmd, map[string]string{"node": node}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, node)
				return err
			})
		})
	cmd.Flags().Var(&mem, "memory", "memory the sandbox needs free (size: 256MiB)")
	cmd.Flags().Float64Var(&cpu, "cpu", 0, "CPU cores the sandbox needs idle")
	cmd.Flags().StringVar(&locality, "locality", "", "preferred member name or zone")
	return cmd
}
