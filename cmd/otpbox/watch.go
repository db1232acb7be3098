package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
)

// watchCmd is `otpbox sandbox watch ID`: the sandbox's events as they
// happen.
func (o *clientOpts) watchCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Print a sandbox's events as they happen",
		Long: `Watch prints the events of sandbox ID as they happen, wherever it runs in the
cluster: its executions (from anyone: the console, the CLI, a service) with their
results or errors, what happened to its processes (started, exited with a reason,
restarted, terminated, a supervisor giving up), the messages its workers handled,
its activations and passivations, and who else watches it. It runs until Ctrl-C,
or until the sandbox is deleted; a dropped connection is resumed without losing
events (or says how many were lost). --json prints one JSON object per line.`,
		Example: `  otpbox sandbox watch s1
  otpbox sandbox watch s1 --name ann --json | jq .type`,
		Args:              args(1, 1, "ID"),
		ValidArgsFunction: o.completeID,
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context() // no --timeout: it runs until stopped
			w := cmd.OutOrStdout()
			for e, err := range c.Sandboxes().Events(ctx, a[0], &api.WatchOptions{Viewer: name}) {
				if err != nil {
					return o.fail(ctx, "watch sandbox "+a[0], err)
				}
				if err := o.printEvent(cmd, w, e, func() string { return describeEvent(e) }); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the name the sandbox's other watchers see")
	return cmd
}

// eventsCommand is `otpbox events`: the node's events as they happen.
func (m *Main) eventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print a node's and its cluster's events as they happen",
		Long: `Events prints what the node sees as it happens: members joining, leaving or
changing health, placements of new sandboxes, its sandboxes being created,
activated, passivated, restarted and terminated, drains, rebalances, scaling
operations and the MemoryOptimizer's actions. It runs until Ctrl-C; --json prints
one JSON object per line.`,
		Example: `  otpbox events
  otpbox events --json`,
		Args: args(0, 0, ""),
	}
	o := m.clientFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := o.client(cmd)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		w := cmd.OutOrStdout()
		for e, err := range c.NodeEvents(ctx, nil) {
			if err != nil {
				return o.fail(ctx, "watch the node's events", err)
			}
			if err := o.printEvent(cmd, w, e, func() string { return describeNodeEvent(e) }); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

// printEvent writes one event: a JSON line with --json, a template's
// output with --format, a line for people otherwise.
func (o *clientOpts) printEvent(cmd *cobra.Command, w io.Writer, v any, human func() string) error {
	switch {
	case o.json:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case o.format != "":
		return o.execute(cmd, w, []any{v})
	}
	_, err := fmt.Fprintln(w, human())
	return err
}

func clock(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.Local().Format("15:04:05.000")
}

// oneLine shows s on one line, cut to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// describeEvent is a sandbox event for people.
func describeEvent(e api.Event) string {
	head := fmt.Sprintf("%s %-10s", clock(e.Time), e.Type)
	switch e.Type {
	case "hello":
		var names []string
		for _, v := range e.Viewers {
			names = append(names, v.Name)
		}
		s := fmt.Sprintf("%s watching %s on %s", head, e.Sandbox, e.Node)
		if len(names) > 0 {
			s += " with " + strings.Join(names, ", ")
		}
		return s
	case "exec":
		by := ""
		if e.By != "" {
			by = "[" + e.By + "] "
		}
		s := head + " " + by + oneLine(e.Code, 60)
		switch {
		case e.Error != nil:
			where := ""
			if e.Error.Line > 0 {
				where = fmt.Sprintf(" at %d:%d", e.Error.Line, e.Error.Col)
			}
			s += fmt.Sprintf("  ✗ %s%s: %s", e.Error.Kind, where, oneLine(e.Error.Detail, 80))
		case e.Value != "":
			s += "  → " + oneLine(e.Value, 60)
		}
		if e.Output != "" {
			s += "  (printed " + oneLine(e.Output, 40) + ")"
		}
		return s
	case "tree":
		who := e.PID
		if e.Path != "" {
			who += " " + e.Path
		} else if e.ChildID != "" {
			who += " " + e.ChildID
		}
		s := fmt.Sprintf("%s %s %s", head, e.Change, strings.TrimSpace(who))
		if e.Reason != "" {
			s += ": " + oneLine(e.Reason, 80)
		}
		return s
	case "trace":
		if e.Dropped > 0 {
			return fmt.Sprintf("%s %d more messages not shown", head, e.Dropped)
		}
		return fmt.Sprintf("%s %s %s %s", head, e.PID, e.Kind, oneLine(e.Value, 60))
	case "snapshot":
		n := 0
		var count func(t *api.TreeNode)
		count = func(t *api.TreeNode) {
			if t == nil {
				return
			}
			n++
			for _, c := range t.Children {
				count(c)
			}
		}
		if e.Tree != nil {
			count(e.Tree.Root)
		}
		return fmt.Sprintf("%s %d processes", head, max(n-1, 0))
	case "presence":
		var names []string
		for _, v := range e.Viewers {
			names = append(names, v.Name+"@"+v.Node)
		}
		return fmt.Sprintf("%s %s", head, strings.Join(names, ", "))
	case "gap":
		if e.Missed < 0 {
			return head + " some events were missed"
		}
		return fmt.Sprintf("%s %d events were missed", head, e.Missed)
	case "activated":
		return fmt.Sprintf("%s on %s", head, e.Node)
	}
	if e.Reason != "" {
		return head + " " + e.Reason
	}
	return head
}

// describeNodeEvent is a node event for people.
func describeNodeEvent(e api.NodeEvent) string {
	head := fmt.Sprintf("%s %-10s", clock(e.Time), e.Type)
	switch e.Type {
	case "hello":
		return head + " watching " + e.Node
	case "member":
		s := fmt.Sprintf("%s %s %s (%s)", head, e.Node, e.Change, e.Health)
		if e.Reason != "" {
			s += ": " + e.Reason
		}
		return s
	case "placement":
		return fmt.Sprintf("%s %s placed on %s", head, e.Sandbox, e.Node)
	case "sandbox":
		return fmt.Sprintf("%s %s %s on %s", head, e.Sandbox, e.Change, e.Node)
	case "drain":
		return fmt.Sprintf("%s %s drained: %d sandboxes moved", head, e.Node, e.Moved)
	case "rebalance":
		return fmt.Sprintf("%s %s", head, oneLine(string(e.Moves), 100))
	case "scaling":
		return fmt.Sprintf("%s %s %s", head, e.Change, oneLine(string(e.Operation), 100))
	case "memory":
		return fmt.Sprintf("%s %s: %s", head, e.Kind, oneLine(e.Detail, 100))
	case "gap":
		if e.Missed < 0 {
			return head + " some events were missed"
		}
		return fmt.Sprintf("%s %d events were missed", head, e.Missed)
	}
	return head
}
