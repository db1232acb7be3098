package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

const clusterVerbs = "status|nodes|load|scaling|drain NODE"

// cluster runs `otpbox cluster status|nodes|load|scaling|drain NODE`.
// With --json it prints the node's answer as it is.
func (m *Main) cluster(ctx context.Context, args []string) error {
	verb, args, err := m.subcommand("cluster", args, clusterVerbs)
	if err != nil {
		return err
	}
	paths := map[string]string{"status": "/v1/cluster/status", "nodes": "/v1/cluster/nodes",
		"load": "/v1/cluster/load", "scaling": "/v1/cluster/scaling"}
	if _, ok := paths[verb]; !ok && verb != "drain" {
		return unknownVerb("cluster", verb, clusterVerbs)
	}
	usage := ""
	minArgs := 0
	if verb == "drain" {
		usage, minArgs = "NODE", 1
	}
	c := m.newCommand("cluster "+verb, usage).clientFlags()
	pos, err := c.parse(args, minArgs, minArgs)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if verb == "drain" {
		r, err := cl.DrainNode(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.output(r, func(w io.Writer) { fmt.Fprintf(w, "%s drained: %d sandboxes moved\n", r.Node, r.Moved) })
	}
	raw, err := cl.Get(ctx, paths[verb])
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(c.m.Stdout, raw)
	}
	switch verb {
	case "status":
		var s server.ClusterStatus
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		t := table(c.m.Stdout)
		fmt.Fprintf(t, "Nodes\t%d total, %d active\n", s.TotalNodes, s.ActiveNodes)
		fmt.Fprintf(t, "Capacity\t%d sandbox slots, %.0f%% used\n", s.TotalCapacity, 100*s.CurrentUtilization)
		fmt.Fprintf(t, "Sandboxes\t%d active, %d passivated\n", s.Sandboxes.Active, s.Sandboxes.Passivated)
		for _, op := range s.PendingOperations {
			fmt.Fprintf(t, "Pending\t%s (%s) %s since %s\n", op.Kind, op.Reason, op.Phase, op.StartedAt.Format(time.TimeOnly))
		}
		return t.Flush()
	case "nodes":
		var l server.NodeList
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		t := table(c.m.Stdout)
		fmt.Fprintln(t, "NAME\tADDRESS\tSTATUS\tHEALTH\tACTIVE\tPASSIVATED")
		for _, n := range l.Nodes {
			name := n.Name
			if n.Self {
				name += " (self)"
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%d\t%d\n", name, n.Address, n.Status, n.Health, n.Sandboxes.Active, n.Sandboxes.Passivated)
		}
		return t.Flush()
	case "load":
		var l server.LoadDistribution
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		t := table(c.m.Stdout)
		fmt.Fprintln(t, "NODE\tLOAD\tSHARE\tHEALTH")
		for _, n := range l.Nodes {
			fmt.Fprintf(t, "%s\t%g\t%.1f%%\t%s\n", n.Node, n.Load, n.Percentage, n.Health)
		}
		return t.Flush()
	default: // scaling
		var ops struct {
			Operations []server.PendingOperation `json:"operations"`
		}
		if err := json.Unmarshal(raw, &ops); err != nil {
			return err
		}
		if len(ops.Operations) == 0 {
			fmt.Fprintln(c.m.Stdout, "no scaling operation yet")
			return nil
		}
		t := table(c.m.Stdout)
		fmt.Fprintln(t, "STARTED\tKIND\tREASON\tSTATE\tNODES")
		for _, op := range ops.Operations {
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", op.StartedAt.Format(time.TimeOnly), op.Kind, op.Reason, op.State, strings.Join(op.Nodes, ","))
		}
		return t.Flush()
	}
}
