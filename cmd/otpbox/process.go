package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
)

// processRef reads a process argument: a pid as shown ("<0.7.0>") or a
// path of child ids ("tree1/w1").
func processRef(s string) api.ProcessRef {
	if strings.HasPrefix(s, "<") {
		return api.ProcessRef{PID: s}
	}
	return api.ProcessRef{Path: s}
}

func (o *clientOpts) processCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "process ID PID|PATH",
		Short: "Describe a process of a sandbox",
		Long: `Process describes a live process of sandbox ID, named by its pid ("<0.7.0>") or
by its path of child ids from the sandbox's root ("tree1/w1"): its type and
status, a worker's state and recent messages, a supervisor's strategy and
children, its mailbox length and the restarts of its child id.`,
		Example: `  otpbox sandbox process s1 tree1/c
  otpbox sandbox process s1 '<0.4.0>' --json`,
		Args:              args(2, 2, "ID PID|PATH"),
		ValidArgsFunction: o.completeID,
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			info, err := c.Sandboxes().Process(ctx, a[0], processRef(a[1]))
			if err != nil {
				return o.fail(ctx, fmt.Sprintf("describe process %s of sandbox %s", a[1], a[0]), err)
			}
			return o.print(cmd, info, func(w io.Writer) error { return printProcess(w, info) })
		},
	}
}

func printProcess(w io.Writer, p *api.ProcessInfo) error {
	t := table(w)
	fmt.Fprintf(t, "PID\t%s\n", p.PID)
	fmt.Fprintf(t, "PATH\t%s\n", dash(p.Path))
	fmt.Fprintf(t, "TYPE\t%s\n", p.Type)
	fmt.Fprintf(t, "STATUS\t%s\n", p.Status)
	if p.Supervisor != "" {
		fmt.Fprintf(t, "SUPERVISOR\t%s\n", p.Supervisor)
	}
	if p.Type == "supervisor" {
		fmt.Fprintf(t, "STRATEGY\t%s\n", p.Strategy)
		fmt.Fprintf(t, "CHILDREN\t%d\n", p.Children)
	} else {
		fmt.Fprintf(t, "STATE\t%s\n", p.State)
	}
	fmt.Fprintf(t, "MAILBOX\t%d\n", p.Mailbox)
	fmt.Fprintf(t, "RESTARTS\t%d\n", len(p.Restarts))
	if err := t.Flush(); err != nil {
		return err
	}
	if len(p.Messages) > 0 {
		fmt.Fprintln(w, "\nRecent messages:")
		t = table(w)
		for _, m := range p.Messages {
			fmt.Fprintf(t, "  %s\t%s\t%s\n", stamp(m.Time), m.Kind, m.Value)
		}
		return t.Flush()
	}
	return nil
}

// actionCmd is one of the process actions: it runs as code in the
// sandbox, which it prints.
func (o *clientOpts) actionCmd(action, use, short, long, example string) *cobra.Command {
	n := 2
	names := "ID PID|PATH"
	if action == api.ActionExit {
		n, names = 3, "ID PID|PATH REASON"
	}
	return &cobra.Command{
		Use: use, Short: short, Long: long + `

The action runs in the sandbox as the code that does it, which is printed (and
journaled like any execution: it replays exactly, and the sandbox's watchers
see it).`,
		Example:           example,
		Args:              args(n, n, names),
		ValidArgsFunction: o.completeID,
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			act := api.ProcessAction{Action: action, ProcessRef: processRef(a[1])}
			if action == api.ActionExit {
				act.Reason = a[2]
			}
			res, err := c.Sandboxes().Act(ctx, a[0], act)
			if err != nil {
				return o.fail(ctx, fmt.Sprintf("%s process %s of sandbox %s", action, a[1], a[0]), err)
			}
			return o.print(cmd, res, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, res.Code)
				return err
			})
		},
	}
}

func (o *clientOpts) actionCmds() []*cobra.Command {
	return []*cobra.Command{
		o.actionCmd(api.ActionKill, "kill ID PID|PATH", "Kill a process of a sandbox",
			`Kill sends the exit signal kill to a process of sandbox ID (by pid, or by
path: "tree1/w1"): it dies at once, whatever it does, and its supervisor
restarts it as its restart type says (a killed supervisor's children die too).`,
			`  otpbox sandbox kill s1 tree1/c`),
		o.actionCmd(api.ActionCrash, "crash ID PID|PATH", "Crash a process of a sandbox (an abnormal exit)",
			`Crash makes a process of sandbox ID exit with the abnormal reason "crashed", as
an error in it would: its supervisor sees a crash and restarts it (even a
transient child).`,
			`  otpbox sandbox crash s1 tree1/c`),
		o.actionCmd(api.ActionExit, "exit ID PID|PATH REASON", "Send an exit signal with a reason to a process",
			`Exit sends the exit signal REASON to a process of sandbox ID: "normal" (a worker
ignores it from others), "shutdown", "kill", or any other text, an abnormal exit
with that reason. A supervisor traps exits: only kill stops it.`,
			`  otpbox sandbox exit s1 tree1/c shutdown`),
		o.actionCmd(api.ActionTerminate, "terminate-child ID PID|PATH", "Stop a child through its supervisor",
			`Terminate-child asks the child's supervisor to stop it (terminate_child): it is
not restarted, and its spec stays, so restart-child can start it again.`,
			`  otpbox sandbox terminate-child s1 tree1/c`),
		o.actionCmd(api.ActionRestart, "restart-child ID PATH", "Start a terminated child again through its supervisor",
			`Restart-child asks the supervisor to start a child it terminated
(restart_child); the child is named by its path, since it has no pid.`,
			`  otpbox sandbox restart-child s1 tree1/c`),
	}
}
