package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/units"
)

// sandboxCommand is `otpbox sandbox …`.
func (m *Main) sandboxCommand() *cobra.Command {
	cmd := group("sandbox", "Create, run code in and inspect sandboxes",
		`A sandbox is an isolated Starlark session with its own OTP supervision trees,
hosted by a node (or by one member of a cluster) and kept in a journal, so that
it survives passivation and restarts of the node.`,
		`  otpbox sandbox create s1 --max-duration 2s --memory-limit 64MiB
  otpbox sandbox exec s1 'print("hello")'
  otpbox sandbox ls`)
	o := m.clientFlags(cmd.PersistentFlags())
	cmd.AddCommand(o.createCmd(), o.execCmd(), o.lsCmd(), o.infoCmd(), o.rmCmd(), o.restartCmd(),
		o.migrateCmd(), o.treeCmd(), o.restartsCmd(), o.traceCmd(), o.watchCmd(), o.processCmd())
	cmd.AddCommand(o.actionCmds()...)
	return cmd
}

// completeID completes a sandbox id from the node's list.
func (o *clientOpts) completeID(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	o.resolve()
	c, err := api.NewClient(&api.Config{Address: o.addr, Token: o.token, Retry: api.NoRetry})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
	defer cancel()
	infos, err := c.Sandboxes().List(ctx, nil)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ids := make([]string, len(infos))
	for i, in := range infos {
		ids[i] = in.ID + "\t" + in.State + " on " + in.Node
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// requirementFlags are the flags of `sandbox create`, in human units.
type requirementFlags struct {
	memoryHint, memoryLimit, maxCode, maxOutput, maxHeap units.Size
	journalLimit                                         units.Size
	replayLimit                                          uint64
	cpuHint, cpuLimit                                    units.Millicores
	maxDuration                                          units.Duration
	maxSteps                                             uint64
	maxGlobals, maxActors, maxMailbox                    int
	raw                                                  string
}

func (f *requirementFlags) requirements() api.Requirements {
	return api.Requirements{
		MemoryHint: int64(f.memoryHint), MemoryLimit: int64(f.memoryLimit),
		CPUHint: int64(f.cpuHint), CPULimit: int64(f.cpuLimit),
		JournalLimit: int64(f.journalLimit), ReplayLimit: f.replayLimit,
		Limits: api.Limits{
			MaxSteps: f.maxSteps, MaxDuration: time.Duration(f.maxDuration),
			MaxCodeBytes: int(f.maxCode), MaxOutputBytes: int(f.maxOutput), MaxGlobals: f.maxGlobals,
			MaxHeapBytes: int64(f.maxHeap), MaxActors: f.maxActors, MaxMailbox: f.maxMailbox,
		},
	}
}

func (o *clientOpts) createCmd() *cobra.Command {
	var f requirementFlags
	cmd := &cobra.Command{
		Use:   "create ID",
		Short: "Create a sandbox",
		Long: `Create creates sandbox ID with its requirements: resource hints and limits, and
the limits of each execution. Zero, the default, means the node's default
(1e6 steps, 5s, 64 KiB of code and of output, 1024 globals, 1 MiB of heap, 64
actors, 1024 messages per mailbox; a journal of 8 MiB that replays in 2e7
steps). Sizes take units (64MiB, 1GiB, 512kB),
durations too (2s, 500ms), CPU is millicores (500 or 500m). --requirements
takes the API's JSON instead of the flags (sizes in bytes, max_duration in
nanoseconds). In a cluster, the node's placement strategy picks the member
that hosts it.`,
		Example: `  otpbox sandbox create s1
  otpbox sandbox create s2 --max-duration 2s --max-steps 100000 --memory-limit 64MiB --cpu-limit 500m
  otpbox sandbox create s3 --requirements '{"limits": {"max_steps": 5000}}'`,
		Args: args(1, 1, "ID"),
		RunE: func(cmd *cobra.Command, a []string) error {
			req := f.requirements()
			if f.raw != "" {
				if cmd.Flags().NFlag() > 0 && changedAny(cmd, "memory-hint", "memory-limit", "cpu-hint", "cpu-limit", "max-steps",
					"max-duration", "max-code", "max-output", "max-globals", "max-heap", "max-actors", "max-mailbox", "journal-limit", "replay-limit") {
					return usage(cmd, "--requirements replaces the requirement flags: give one or the other")
				}
				req = api.Requirements{}
				dec := json.NewDecoder(strings.NewReader(f.raw))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&req); err != nil {
					return usage(cmd, "--requirements: %v", err)
				}
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			info, err := c.Sandboxes().Create(ctx, a[0], req)
			if err != nil {
				return o.fail(ctx, "create sandbox "+a[0], err)
			}
			return o.print(cmd, info, func(w io.Writer) error { return printInfo(w, info) })
		},
	}
	fs := cmd.Flags()
	fs.Var(&f.memoryHint, "memory-hint", "expected memory use (size: 64MiB)")
	fs.Var(&f.memoryLimit, "memory-limit", "most memory the sandbox may use (size: 1GiB)")
	fs.Var(&f.cpuHint, "cpu-hint", "expected CPU use (millicores: 250 or 250m)")
	fs.Var(&f.cpuLimit, "cpu-limit", "most CPU the sandbox may use (millicores)")
	fs.Uint64Var(&f.maxSteps, "max-steps", 0, "Starlark step budget of one execution")
	fs.Var(&f.maxDuration, "max-duration", "wall-clock limit of one execution (duration: 2s)")
	fs.Var(&f.maxCode, "max-code", "largest code of one execution (size)")
	fs.Var(&f.maxOutput, "max-output", "most output of one execution (size)")
	fs.IntVar(&f.maxGlobals, "max-globals", 0, "most global names of the session")
	fs.Var(&f.maxHeap, "max-heap", "most memory reachable from the session's globals (size)")
	fs.IntVar(&f.maxActors, "max-actors", 0, "most live actors")
	fs.IntVar(&f.maxMailbox, "max-mailbox", 0, "longest mailbox of an actor")
	fs.Var(&f.journalLimit, "journal-limit", "largest journal of the sandbox (size: 8MiB), a bound on its replay")
	fs.Uint64Var(&f.replayLimit, "replay-limit", 0, "most steps replaying the sandbox's journal may take")
	fs.StringVar(&f.raw, "requirements", "", "the requirements as the API's JSON, instead of the flags above")
	return cmd
}

func changedAny(cmd *cobra.Command, names ...string) bool {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

func (o *clientOpts) execCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "exec ID [CODE|-]",
		Short: "Run code in a sandbox",
		Long: `Exec runs CODE (Starlark) in sandbox ID and prints what it printed, then the
value of its final expression (nothing after a statement or for None). Without
CODE, or with "-", the code is read from standard input. Globals persist from
one execution to the next. In the code, help() prints an overview of the sandbox
language and help("start_child") one builtin's documentation. An error in the code (syntax, runtime, a limit)
exits 1 and is printed on standard error: the problem, then the failing line
with a caret under the column, then the backtrace. With --json the problem
is also printed on standard output, every field the node sent.`,
		Example: `  otpbox sandbox exec s1 '1 + 1'
  otpbox sandbox exec s1 < script.star
  otpbox sandbox exec s1 --json 'len([1, 2, 3])'
  otpbox sandbox exec s1 -- -1`,
		Args:              args(1, 2, "ID [CODE|-]"),
		ValidArgsFunction: o.completeID,
		RunE: func(cmd *cobra.Command, a []string) error {
			code := ""
			if len(a) == 2 && a[1] != "-" {
				code = a[1]
			} else {
				if isTerminal(cmd.InOrStdin()) {
					fmt.Fprintln(cmd.ErrOrStderr(), "otpbox: reading the code from standard input; end it with Ctrl-D")
				}
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("read code from stdin: %w", err)
				}
				code = string(b)
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			res, err := c.Sandboxes().Exec(ctx, a[0], code)
			var problem *api.Error
			if errors.As(err, &problem) && isCodeProblem(problem) {
				if o.json {
					if err := printJSON(cmd.OutOrStdout(), problemJSON(problem)); err != nil {
						return err
					}
				}
				return &CodeError{Action: "exec in sandbox " + a[0], Problem: problem, Code: code}
			}
			if err != nil {
				return o.fail(ctx, "exec in sandbox "+a[0], err)
			}
			return o.print(cmd, res, func(w io.Writer) error { return printResult(w, res) })
		},
	}
}

func (o *clientOpts) lsCmd() *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List sandboxes",
		Long: `Ls lists every sandbox the node knows (in a cluster, every sandbox of the
cluster), active or passivated, with the node that hosts it. --node keeps
those of the node asked. The list is read from the store: a sandbox's
session figures (executions, last active, memory, journal) are shown by
otpbox sandbox info ID.`,
		Example: `  otpbox sandbox ls
  otpbox sandbox ls --format '{{.ID}} {{.State}}'
  otpbox sandbox ls --json`,
		Args: args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			infos, err := c.Sandboxes().List(ctx, &api.ListOptions{Node: node})
			if err != nil {
				return o.fail(ctx, "list sandboxes", err)
			}
			return printItems(o, cmd, api.SandboxList{Sandboxes: infos}, infos, func(w io.Writer) error {
				t := table(w)
				// The list comes from the store: the session figures
				// (executions, last active) are in `sandbox info`.
				fmt.Fprintln(t, "ID\tNODE\tSTATE\tCREATED")
				for _, in := range infos {
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", in.ID, in.Node, in.State, stamp(in.CreatedAt))
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&node, "node", "", "only the sandboxes of this node (the node asked)")
	return cmd
}

// idCmd is a command that takes one sandbox id.
func (o *clientOpts) idCmd(use, short, long, example string, run func(ctx context.Context, cmd *cobra.Command, c *api.Client, id string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args:              args(1, 1, "ID"),
		ValidArgsFunction: o.completeID,
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			return run(ctx, cmd, c, a[0])
		},
	}
}

func (o *clientOpts) infoCmd() *cobra.Command {
	return o.idCmd("info ID", "Describe a sandbox",
		`Info describes sandbox ID: its node, state, requirements, and for an active
sandbox its session (executions, globals, heap, actors). It does not activate a
passivated sandbox.`,
		`  otpbox sandbox info s1
  otpbox sandbox info s1 --format '{{.Node}}'`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client, id string) error {
			info, err := c.Sandboxes().Info(ctx, id)
			if err != nil {
				return o.fail(ctx, "describe sandbox "+id, err)
			}
			return o.print(cmd, info, func(w io.Writer) error { return printInfo(w, info) })
		})
}

func (o *clientOpts) rmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID...",
		Aliases: []string{"terminate"},
		Short:   "Remove sandboxes and their journals",
		Long: `Rm terminates each sandbox ID: its session and trees stop and its journal is
deleted; it cannot be brought back. It prints each sandbox it removed, and
stops at the first that fails.`,
		Example: `  otpbox sandbox rm s1
  otpbox sandbox rm s1 s2 s3`,
		Args:              args(1, -1, "ID..."),
		ValidArgsFunction: o.completeID,
		RunE: func(cmd *cobra.Command, ids []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			var removed []string
			for _, id := range ids {
				if err := c.Sandboxes().Terminate(ctx, id); err != nil {
					return o.fail(ctx, "remove sandbox "+id, err)
				}
				removed = append(removed, id)
				if !o.json && o.format == "" {
					fmt.Fprintf(cmd.OutOrStdout(), "removed sandbox %s\n", id)
				}
			}
			type removal struct {
				Removed []string `json:"removed"`
			}
			if o.json || o.format != "" {
				return o.print(cmd, removal{removed}, nil)
			}
			return nil
		},
	}
}

func (o *clientOpts) restartCmd() *cobra.Command {
	return o.idCmd("restart ID", "Restart a sandbox with a fresh session, emptying its journal",
		`Restart gives sandbox ID a fresh session: its globals and supervision trees are
dropped and its journal is emptied, so nothing it ran before comes back, not
even after the node restarts. Its id, node and requirements stay.`,
		`  otpbox sandbox restart s1`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client, id string) error {
			info, err := c.Sandboxes().Restart(ctx, id)
			if err != nil {
				return o.fail(ctx, "restart sandbox "+id, err)
			}
			return o.print(cmd, info, func(w io.Writer) error { return printInfo(w, info) })
		})
}

func (o *clientOpts) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate ID NODE",
		Short: "Move a sandbox, with its state, to another node",
		Long: `Migrate moves sandbox ID to cluster member NODE: it is passivated where it runs
and activated on NODE from its journal, with its globals. On a single node the
only NODE is the node itself.`,
		Example:           `  otpbox sandbox migrate s1 n2`,
		Args:              args(2, 2, "ID NODE"),
		ValidArgsFunction: o.completeID,
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd.Context())
			defer cancel()
			info, err := c.Sandboxes().Migrate(ctx, a[0], a[1])
			if err != nil {
				return o.fail(ctx, fmt.Sprintf("migrate sandbox %s to %s", a[0], a[1]), err)
			}
			return o.print(cmd, info, func(w io.Writer) error { return printInfo(w, info) })
		},
	}
}

func (o *clientOpts) treeCmd() *cobra.Command {
	return o.idCmd("tree ID", "Show a sandbox's supervision trees",
		`Tree prints the supervision trees the code of sandbox ID started, under the
sandbox's root supervisor: each process with its id (or pid), type, strategy,
status and, for a worker, its state.`,
		`  otpbox sandbox tree s1
  otpbox sandbox tree s1 --json`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client, id string) error {
			tree, err := c.Sandboxes().Tree(ctx, id)
			if err != nil {
				return o.fail(ctx, "show the tree of sandbox "+id, err)
			}
			return o.print(cmd, tree, func(w io.Writer) error {
				if tree.Root == nil {
					_, err := fmt.Fprintln(w, "no supervision trees")
					return err
				}
				printTree(w, tree.Root, "", "")
				return nil
			})
		})
}

func (o *clientOpts) restartsCmd() *cobra.Command {
	return o.idCmd("restarts ID", "Show a sandbox's restart history",
		`Restarts lists the restarts in sandbox ID's trees, oldest first: when, which
supervisor restarted which child (or gave up, past its restart intensity), and
why.`,
		`  otpbox sandbox restarts s1`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client, id string) error {
			recs, err := c.Sandboxes().Restarts(ctx, id)
			if err != nil {
				return o.fail(ctx, "show the restarts of sandbox "+id, err)
			}
			return printItems(o, cmd, api.RestartList{Restarts: recs}, recs, func(w io.Writer) error {
				t := table(w)
				fmt.Fprintln(t, "TIME\tKIND\tSUPERVISOR\tCHILD\tPID\tREASON")
				for _, r := range recs {
					sup := r.Supervisor
					if r.Path != "" {
						sup += " (" + r.Path + ")"
					}
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(r.Time), dash(r.Kind), sup, dash(r.ChildID), dash(r.PID), r.Reason)
				}
				return t.Flush()
			})
		})
}

func (o *clientOpts) traceCmd() *cobra.Command {
	return o.idCmd("trace ID", "Show the recent messages of a sandbox's actors",
		`Trace prints the recent messages (calls, casts, exits) each actor of sandbox
ID handled, in time order per actor.`,
		`  otpbox sandbox trace s1`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client, id string) error {
			entries, err := c.Sandboxes().Trace(ctx, id)
			if err != nil {
				return o.fail(ctx, "show the trace of sandbox "+id, err)
			}
			return printItems(o, cmd, api.TraceList{Trace: entries}, entries, func(w io.Writer) error {
				t := table(w)
				fmt.Fprintln(t, "TIME\tPID\tKIND\tVALUE")
				for _, e := range entries {
					for _, m := range e.Messages {
						fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", stamp(m.Time), e.PID, m.Kind, m.Value)
					}
				}
				return t.Flush()
			})
		})
}

func printInfo(w io.Writer, in *api.Info) error {
	t := table(w)
	fmt.Fprintf(t, "ID\t%s\n", in.ID)
	fmt.Fprintf(t, "Node\t%s\n", in.Node)
	fmt.Fprintf(t, "State\t%s\n", in.State)
	fmt.Fprintf(t, "Created\t%s\n", stamp(in.CreatedAt))
	if in.State == api.StateActive {
		fmt.Fprintf(t, "Last active\t%s\n", stamp(in.LastActive))
		fmt.Fprintf(t, "Executions\t%d\n", in.Executions)
		fmt.Fprintf(t, "Globals\t%d (about %s)\n", in.Globals, units.FormatSize(in.HeapBytes))
		fmt.Fprintf(t, "Actors\t%d\n", in.Actors)
	}
	if j := in.Journal; j != nil {
		fmt.Fprintf(t, "Journal\t%s\n", describeJournal(j))
	}
	fmt.Fprintf(t, "Requirements\t%s\n", describeRequirements(in.Requirements))
	return t.Flush()
}

// describeJournal says what a sandbox's journal holds against its quotas
// ("12 entries, 3.1 KiB of 8 MiB, 4521 of 20000000 replay steps, from a
// snapshot of execution 1000").
func describeJournal(j *api.JournalInfo) string {
	s := fmt.Sprintf("%d entries, %s of %s, %d of %d replay steps", j.Entries,
		units.FormatSize(j.Bytes), units.FormatSize(j.Limit), j.ReplaySteps, j.ReplayLimit)
	if j.SnapshotSeq != 0 {
		s += fmt.Sprintf(", from a snapshot of execution %d", j.SnapshotSeq)
	}
	if j.SnapshotBlocked != "" {
		s += "; not snapshotted: " + j.SnapshotBlocked
	}
	return s
}

// describeRequirements lists the requirements that are set, in human
// units ("memory limit 64 MiB, max duration 2s"), or says that the node's
// defaults apply.
func describeRequirements(r api.Requirements) string {
	var parts []string
	size := func(name string, n int64) {
		if n != 0 {
			parts = append(parts, name+" "+units.FormatSize(n))
		}
	}
	count := func(name string, n int64, unit string) {
		if n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d%s", name, n, unit))
		}
	}
	size("memory hint", r.MemoryHint)
	size("memory limit", r.MemoryLimit)
	count("cpu hint", r.CPUHint, "m")
	count("cpu limit", r.CPULimit, "m")
	l := r.Limits
	count("max steps", int64(l.MaxSteps), "")
	if l.MaxDuration != 0 {
		parts = append(parts, "max duration "+l.MaxDuration.String())
	}
	size("max code", int64(l.MaxCodeBytes))
	size("max output", int64(l.MaxOutputBytes))
	count("max globals", int64(l.MaxGlobals), "")
	size("max heap", l.MaxHeapBytes)
	count("max actors", int64(l.MaxActors), "")
	count("max mailbox", int64(l.MaxMailbox), "")
	if len(parts) == 0 {
		return "the node's defaults"
	}
	return strings.Join(parts, ", ")
}

// printResult prints what the code printed, then its value unless the
// code ended with a statement or None ("").
func printResult(w io.Writer, r *api.Result) error {
	if _, err := io.WriteString(w, r.Output); err != nil {
		return err
	}
	if r.Value != "" {
		_, err := fmt.Fprintln(w, r.Value)
		return err
	}
	return nil
}

// printTree prints one process of a sandbox's tree and its children:
// "id (type[, strategy]) status[ state=…]"; a process without an id (the
// root supervisor) is named by its pid.
func printTree(w io.Writer, t *api.TreeNode, prefix, branch string) {
	name := t.ID
	if name == "" {
		name = dash(t.PID)
	}
	desc := t.Type
	if t.Strategy != "" {
		desc += ", " + t.Strategy
	}
	line := fmt.Sprintf("%s (%s) %s", name, desc, t.Status)
	if t.State != "" {
		line += " state=" + t.State
	}
	fmt.Fprintf(w, "%s%s%s\n", prefix, branch, line)
	switch branch {
	case "├── ":
		prefix += "│   "
	case "└── ":
		prefix += "    "
	}
	for i, c := range t.Children {
		b := "├── "
		if i == len(t.Children)-1 {
			b = "└── "
		}
		printTree(w, c, prefix, b)
	}
}
