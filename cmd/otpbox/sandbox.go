package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/client"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

const sandboxVerbs = "create|exec|rm|ls|info|restart|migrate|tree|restarts|trace"

// sandbox runs `otpbox sandbox VERB`.
func (m *Main) sandbox(ctx context.Context, args []string) error {
	verb, args, err := m.subcommand("sandbox", args, sandboxVerbs)
	if err != nil {
		return err
	}
	switch verb {
	case "create":
		return m.sandboxCreate(ctx, args)
	case "exec":
		return m.sandboxExec(ctx, args)
	case "ls":
		return m.sandboxList(ctx, args)
	case "tree":
		return m.sandboxTree(ctx, args)
	case "restarts":
		return m.sandboxRestarts(ctx, args)
	case "trace":
		return m.sandboxTrace(ctx, args)
	case "migrate":
		return m.sandboxMigrate(ctx, args)
	case "rm", "info", "restart":
		return m.sandboxByID(ctx, verb, args)
	}
	return unknownVerb("sandbox", verb, sandboxVerbs)
}

func (m *Main) sandboxCreate(ctx context.Context, args []string) error {
	c := m.newCommand("sandbox create", "ID").clientFlags()
	var req server.Requirements
	var raw string
	c.fs.Int64Var(&req.MemoryLimit, "memory-limit", 0, "most memory the sandbox may use, bytes")
	c.fs.Int64Var(&req.CPULimit, "cpu-limit", 0, "most CPU the sandbox may use, millicores")
	c.fs.Uint64Var(&req.Limits.MaxSteps, "max-steps", 0, "step budget of one execution (0: the host's default)")
	c.fs.DurationVar(&req.Limits.MaxDuration, "max-duration", 0, "wall-clock limit of one execution (0: the host's default)")
	c.fs.IntVar(&req.Limits.MaxOutputBytes, "max-output", 0, "most output of one execution, bytes (0: the host's default)")
	c.fs.StringVar(&raw, "requirements", "", "requirements as JSON (replaces the flags above)")
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if raw != "" {
		req = server.Requirements{}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return fmt.Errorf("--requirements: %w", err)
		}
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	info, err := cl.Create(ctx, pos[0], req)
	if err != nil {
		return err
	}
	return c.output(info, func(w io.Writer) { printInfo(w, info) })
}

func (m *Main) sandboxExec(ctx context.Context, args []string) error {
	c := m.newCommand("sandbox exec", `ID [CODE|-]`).clientFlags()
	pos, err := c.parse(args, 1, 2)
	if err != nil {
		return err
	}
	code := ""
	if len(pos) == 2 && pos[1] != "-" {
		code = pos[1]
	} else {
		b, err := io.ReadAll(m.Stdin)
		if err != nil {
			return fmt.Errorf("read code from stdin: %w", err)
		}
		code = string(b)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	res, err := cl.Execute(ctx, pos[0], code)
	if err != nil {
		return err
	}
	return c.output(res, func(w io.Writer) { printResult(w, res) })
}

// sandboxByID runs the verbs that take only an id: rm, info, restart.
func (m *Main) sandboxByID(ctx context.Context, verb string, args []string) error {
	c := m.newCommand("sandbox "+verb, "ID").clientFlags()
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	var info *server.Info
	switch verb {
	case "rm":
		return cl.Terminate(ctx, pos[0])
	case "info":
		info, err = cl.Info(ctx, pos[0])
	case "restart":
		info, err = cl.Restart(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	return c.output(info, func(w io.Writer) { printInfo(w, info) })
}

func (m *Main) sandboxMigrate(ctx context.Context, args []string) error {
	c := m.newCommand("sandbox migrate", "ID NODE").clientFlags()
	pos, err := c.parse(args, 2, 2)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	info, err := cl.Migrate(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	return c.output(info, func(w io.Writer) { printInfo(w, info) })
}

func (m *Main) sandboxList(ctx context.Context, args []string) error {
	c := m.newCommand("sandbox ls", "").clientFlags()
	var node string
	c.fs.StringVar(&node, "node", "", "only the sandboxes on this node")
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	infos, err := cl.List(ctx, node)
	if err != nil {
		return err
	}
	return c.output(server.SandboxList{Sandboxes: infos}, func(w io.Writer) {
		t := table(w)
		fmt.Fprintln(t, "ID\tNODE\tSTATE\tEXECUTIONS\tCREATED\tLAST ACTIVE")
		for _, in := range infos {
			fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%s\t%s\n", in.ID, in.Node, in.State, in.Executions, stamp(in.CreatedAt), stamp(in.LastActive))
		}
		t.Flush()
	})
}

func (m *Main) sandboxTree(ctx context.Context, args []string) error {
	c, id, cl, err := m.idCommand("sandbox tree", args)
	if err != nil {
		return err
	}
	tree, err := cl.Tree(ctx, id)
	if err != nil {
		return err
	}
	return c.output(tree, func(w io.Writer) {
		if tree.Root == nil {
			fmt.Fprintln(w, "no supervision trees")
			return
		}
		printTree(w, tree.Root, "", "")
	})
}

// idCommand parses the arguments of a client command that takes one
// sandbox ID and no flags of its own, and makes its client.
func (m *Main) idCommand(name string, args []string) (*command, string, *client.Client, error) {
	c := m.newCommand(name, "ID").clientFlags()
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return nil, "", nil, err
	}
	cl, err := c.client()
	if err != nil {
		return nil, "", nil, err
	}
	return c, pos[0], cl, nil
}

func (m *Main) sandboxRestarts(ctx context.Context, args []string) error {
	c, id, cl, err := m.idCommand("sandbox restarts", args)
	if err != nil {
		return err
	}
	recs, err := cl.Restarts(ctx, id)
	if err != nil {
		return err
	}
	return c.output(server.RestartList{Restarts: recs}, func(w io.Writer) {
		t := table(w)
		fmt.Fprintln(t, "TIME\tSUPERVISOR\tCHILD\tPID\tREASON")
		for _, r := range recs {
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", stamp(r.Time), r.Supervisor, dash(r.ChildID), dash(r.PID), r.Reason)
		}
		t.Flush()
	})
}

func (m *Main) sandboxTrace(ctx context.Context, args []string) error {
	c, id, cl, err := m.idCommand("sandbox trace", args)
	if err != nil {
		return err
	}
	entries, err := cl.Trace(ctx, id)
	if err != nil {
		return err
	}
	return c.output(server.TraceList{Trace: entries}, func(w io.Writer) {
		t := table(w)
		fmt.Fprintln(t, "TIME\tPID\tKIND\tVALUE")
		for _, e := range entries {
			for _, m := range e.Messages {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", stamp(m.Time), e.PID, m.Kind, m.Value)
			}
		}
		t.Flush()
	})
}

func printInfo(w io.Writer, in *server.Info) {
	t := table(w)
	fmt.Fprintf(t, "ID\t%s\n", in.ID)
	fmt.Fprintf(t, "Node\t%s\n", in.Node)
	fmt.Fprintf(t, "State\t%s\n", in.State)
	fmt.Fprintf(t, "Created\t%s\n", stamp(in.CreatedAt))
	fmt.Fprintf(t, "Last active\t%s\n", stamp(in.LastActive))
	fmt.Fprintf(t, "Executions\t%d\n", in.Executions)
	if in.State == server.Active {
		fmt.Fprintf(t, "Globals\t%d (about %d bytes)\n", in.Globals, in.HeapBytes)
		fmt.Fprintf(t, "Actors\t%d\n", in.Actors)
	}
	if b, err := json.Marshal(in.Requirements); err == nil {
		fmt.Fprintf(t, "Requirements\t%s\n", b)
	}
	t.Flush()
}

// printResult prints what the code printed, then its value unless the
// code ended with a statement or None ("").
func printResult(w io.Writer, r *server.Result) {
	fmt.Fprint(w, r.Output)
	if r.Value != "" {
		fmt.Fprintln(w, r.Value)
	}
}

// printTree prints one process of a sandbox's tree and its children:
// "id (type[, strategy]) status[ state=…]"; a process without an id (the
// root supervisor) is named by its pid.
func printTree(w io.Writer, t *server.Node, prefix, branch string) {
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
