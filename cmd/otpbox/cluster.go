package main

import (
	"context"
	"fmt"
	"io"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

const clusterVerbs = "status|nodes|load"

// cluster runs `otpbox cluster status|nodes|load`.
func (m *Main) cluster(ctx context.Context, args []string) error {
	verb, args, err := m.subcommand("cluster", args, clusterVerbs)
	if err != nil {
		return err
	}
	if verb != "status" && verb != "nodes" && verb != "load" {
		return unknownVerb("cluster", verb, clusterVerbs)
	}
	c := m.newCommand("cluster "+verb, "").clientFlags()
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	switch verb {
	case "status":
		s, err := cl.ClusterStatus(ctx)
		if err != nil {
			return err
		}
		return c.output(s, func(w io.Writer) {
			t := table(w)
			fmt.Fprintf(t, "Nodes\t%d total, %d active\n", s.TotalNodes, s.ActiveNodes)
			fmt.Fprintf(t, "Sandboxes\t%d active, %d passivated\n", s.Sandboxes.Active, s.Sandboxes.Passivated)
			t.Flush()
		})
	case "nodes":
		nodes, err := cl.ClusterNodes(ctx)
		if err != nil {
			return err
		}
		return c.output(server.NodeList{Nodes: nodes}, func(w io.Writer) {
			t := table(w)
			fmt.Fprintln(t, "NAME\tADDRESS\tSTATUS\tACTIVE\tPASSIVATED")
			for _, n := range nodes {
				name := n.Name
				if n.Self {
					name += " (self)"
				}
				fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%d\n", name, n.Address, n.Status, n.Sandboxes.Active, n.Sandboxes.Passivated)
			}
			t.Flush()
		})
	default:
		load, err := cl.ClusterLoad(ctx)
		if err != nil {
			return err
		}
		return c.output(server.LoadDistribution{Nodes: load}, func(w io.Writer) {
			t := table(w)
			fmt.Fprintln(t, "NODE\tLOAD\tSHARE\tHEALTH")
			for _, l := range load {
				fmt.Fprintf(t, "%s\t%g\t%.1f%%\t%s\n", l.Node, l.Load, l.Percentage, l.Health)
			}
			t.Flush()
		})
	}
}
