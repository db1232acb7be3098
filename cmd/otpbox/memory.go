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

// memoryCommand is `otpbox memory [optimize]`.
func (m *Main) memoryCommand() *cobra.Command {
	var o *clientOpts
	stats := func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
		st, err := c.Memory().Stats(ctx)
		if err != nil {
			return o.fail(ctx, "get the node's memory", err)
		}
		return o.print(cmd, st, func(w io.Writer) error { return printMemory(w, st) })
	}
	long := `Memory prints the node's memory as its MemoryOptimizer sees it: what the Go
runtime uses against the limit (--memory-limit, the cgroup's, GOMEMLIMIT or the
host's), the heap, the Go soft limit in force, the threshold above which the
optimizer acts, and its last actions.`
	example := `  otpbox memory
  otpbox memory --format '{{.Utilization}}'
  otpbox memory optimize`
	cmd := &cobra.Command{Use: "memory", Short: "Show the node's memory and the MemoryOptimizer's actions", Long: long, Example: example, Args: noSuchCommand}
	o = m.clientFlags(cmd.PersistentFlags())
	cmd.RunE = o.plainCmd("memory", "", "", "", stats).RunE
	cmd.AddCommand(o.plainCmd("stats", "Show the node's memory (as otpbox memory does)", long, "  otpbox memory stats", stats),
		o.plainCmd("optimize", "Run a MemoryOptimizer pass now",
			`Optimize runs one pass of the MemoryOptimizer now: a GC that returns memory to
the OS and a clear of the L1 cache; above the threshold it also lowers the Go
soft limit and passivates idle sandboxes. It prints what the pass did and freed.`,
			`  otpbox memory optimize
  otpbox memory optimize --json`,
			func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
				r, err := c.Memory().Optimize(ctx)
				if err != nil {
					return o.fail(ctx, "optimize the node's memory", err)
				}
				return o.print(cmd, r, func(w io.Writer) error {
					kinds := make([]string, len(r.Actions))
					for i, a := range r.Actions {
						kinds[i] = a.Kind
					}
					took := (time.Duration(r.DurationUS) * time.Microsecond).Round(time.Microsecond)
					if r.FreedBytes >= 0 {
						fmt.Fprintf(w, "freed %s in %v (%s)\n", units.FormatSize(r.FreedBytes), took, dash(strings.Join(kinds, ", ")))
					} else {
						fmt.Fprintf(w, "freed nothing in %v (%s): use grew by %s meanwhile\n", took, dash(strings.Join(kinds, ", ")), units.FormatSize(-r.FreedBytes))
					}
					fmt.Fprintf(w, "used %s → %s of %s\n", units.FormatSize(int64(r.Before.Used)), units.FormatSize(int64(r.After.Used)), units.FormatSize(int64(r.After.Limit)))
					return nil
				})
			}))
	return cmd
}

func printMemory(w io.Writer, st *api.MemoryStats) error {
	t := table(w)
	src := ""
	if st.LimitSource != "" {
		src = ", limit from " + st.LimitSource
	}
	fmt.Fprintf(t, "Used\t%s of %s (%s%s)\n", units.FormatSize(int64(st.Used)), units.FormatSize(int64(st.Limit)), percent(st.Utilization), src)
	fmt.Fprintf(t, "Mapped\t%s (heap %s, stacks %s)\n", units.FormatSize(int64(st.Total)), units.FormatSize(int64(st.Heap)), units.FormatSize(int64(st.Stacks)))
	if st.Available > 0 {
		fmt.Fprintf(t, "Host available\t%s\n", units.FormatSize(int64(st.Available)))
	}
	soft := "none"
	if st.SoftLimit > 0 {
		soft = units.FormatSize(int64(st.SoftLimit))
	}
	fmt.Fprintf(t, "Go soft limit\t%s (heap goal %s)\n", soft, units.FormatSize(int64(st.HeapGoal)))
	fmt.Fprintf(t, "Goroutines\t%d\n", st.Goroutines)
	fmt.Fprintf(t, "GC cycles\t%d\n", st.GCCycles)
	fmt.Fprintf(t, "Threshold\t%s (%d optimizations)\n", percent(st.Threshold), st.Optimizations)
	for _, a := range st.LastActions {
		fmt.Fprintf(t, "Action\t%s %s: %s\n", a.At.Local().Format(time.TimeOnly), a.Kind, a.Detail)
	}
	return t.Flush()
}
