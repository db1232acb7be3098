package otp

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// Doc documents one builtin of the sandbox language, or one topic. It is
// the one place the language is described: help(name) prints it, and
// docs/sandbox.md carries the same text (a test keeps them equal).
type Doc struct {
	// Name is what help takes: a builtin's name or a topic.
	Name string
	// Signature shows how it is called, with the defaults of its
	// optional arguments: "call(pid, msg, timeout=5)".
	Signature string
	// Summary is one sentence.
	Summary string
	// Args describe the arguments, in order.
	Args []Arg
	// Result is what a call gives back, in a few words, for the
	// signature line: "pid or None".
	Result string
	// Returns says what a call gives back.
	Returns string
	// Mirrors names the OTP function (or callback) it mirrors.
	Mirrors string
	// Notes are paragraphs: the rules, and the errors it gives.
	Notes []string
	// Example is a session: lines after ">>> " and "... " are code, one
	// execution per ">>> ", and the lines after it are what the REPL
	// prints (a failed execution: its first line, "error: …"). Each
	// example runs in a fresh sandbox, and a test checks its output.
	Example string
}

// Arg is one argument of a builtin.
type Arg struct{ Name, Text string }

// Docs returns the documentation of every builtin and topic, in the
// order of the reference.
func Docs() []Doc { return append([]Doc(nil), docs...) }

// DocOf returns the documentation of the builtin or topic name.
func DocOf(name string) (Doc, bool) {
	for _, d := range docs {
		if d.Name == name {
			return d, true
		}
	}
	return Doc{}, false
}

// Text is d as help(name) prints it.
func (d Doc) Text() string {
	var b strings.Builder
	b.WriteString(d.Signature)
	if d.Result != "" {
		b.WriteString(" -> " + d.Result)
	}
	b.WriteString("\n")
	wrap(&b, d.Summary, "    ")
	if len(d.Args) > 0 {
		b.WriteString("\n")
		width := 0
		for _, a := range d.Args {
			width = max(width, len(a.Name))
		}
		for _, a := range d.Args {
			wrapHanging(&b, "    "+a.Name+strings.Repeat(" ", width-len(a.Name)+2), a.Text)
		}
	}
	if d.Returns != "" {
		b.WriteString("\n")
		wrap(&b, "Returns "+d.Returns, "    ")
	}
	for _, n := range d.Notes {
		b.WriteString("\n")
		wrap(&b, n, "    ")
	}
	if d.Mirrors != "" {
		b.WriteString("\n")
		wrap(&b, "OTP: "+d.Mirrors, "    ")
	}
	if d.Example != "" {
		b.WriteString("\n    Example:\n")
		for _, l := range strings.Split(strings.TrimRight(d.Example, "\n"), "\n") {
			b.WriteString("      " + l + "\n")
		}
	}
	return b.String()
}

// lineWidth is the width help wraps its text to.
const lineWidth = 78

// wrap writes text wrapped to lineWidth, each line indented.
func wrap(b *strings.Builder, text, indent string) {
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > lineWidth {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}

// wrapHanging writes head then text, wrapped, the next lines indented
// under the text.
func wrapHanging(b *strings.Builder, head, text string) {
	indent := strings.Repeat(" ", len(head))
	line := head
	first := true
	for _, w := range strings.Fields(text) {
		if !first && len(line)+1+len(w) > lineWidth {
			b.WriteString(line + "\n")
			line = indent
			first = true
		}
		if !first {
			line += " "
		}
		line += w
		first = false
	}
	b.WriteString(line + "\n")
}

// bHelp is help(): the overview with a first exercise, or help(name).
func (rt *Runtime) bHelp(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var what starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name?", &what); err != nil {
		return nil, argError(b.Name(), err)
	}
	var text string
	switch w := what.(type) {
	case starlark.NoneType:
		text = Overview
	case starlark.String:
		t, err := rt.helpText(string(w))
		if err != nil {
			return nil, err
		}
		text = t
	case *starlark.Builtin:
		t, err := rt.helpText(w.Name())
		if err != nil {
			return nil, err
		}
		text = t
	case ignoreValue:
		text, _ = rt.helpText("ignore")
	default:
		return nil, fmt.Errorf("help(name): name must be the name of a builtin as a string, such as help(\"call\"), or the builtin itself; got %s", what.Type())
	}
	if err := rt.charge(uint64(len(text)) / 64); err != nil {
		return nil, err
	}
	thread.Print(thread, strings.TrimRight(text, "\n"))
	return starlark.None, nil
}

// helpText is help(name)'s text.
func (rt *Runtime) helpText(name string) (string, error) {
	d, ok := DocOf(name)
	if !ok {
		if _, universe := starlark.Universe[name]; universe {
			return fmt.Sprintf("%s is one of Starlark's own builtins, as in Python; the sandbox's reference\n(docs/sandbox.md) lists them.\n", name), nil
		}
		return "", fmt.Errorf("help(%q): no builtin or topic %q; help() lists them", name, name)
	}
	text := d.Text()
	if name == "limits" {
		text += "\n" + limitsText(rt.limits)
	}
	return text, nil
}

// limitsText lists a sandbox's limits.
func limitsText(l engine.Limits) string {
	return fmt.Sprintf(`    This sandbox's limits:
      max_steps         %d
      max_duration      %v
      max_code_bytes    %d
      max_output_bytes  %d
      max_globals       %d
      max_heap_bytes    %d (memory_limit)
      max_actors        %d
      max_mailbox       %d
`, l.MaxSteps, l.MaxDuration, l.MaxCodeBytes, l.MaxOutputBytes, l.MaxGlobals, l.MaxHeapBytes, l.MaxActors, l.MaxMailbox)
}

// FirstExercise is the exercise help() ends with, as a session.
const FirstExercise = `>>> counter = worker(init=lambda args: 0, handle_call=lambda msg, state: (state + 1, state + 1), handle_cast=lambda msg, state: fail(msg))
>>> sup = start_supervisor(supervisor(strategy="one_for_one", children=[{"id": "c", "start": counter}]))
>>> call(whereis(sup, "c"), "inc")
1
>>> call(whereis(sup, "c"), "inc")
2
>>> cast(whereis(sup, "c"), "boom")
>>> call(whereis(sup, "c"), "inc")
1
`

// Overview is what help() prints.
var Overview = `The otpbox sandbox: Starlark (a small Python) plus OTP's supervision.

Each line or block you run is one execution; globals persist between them.
The processes you start run only inside executions: an execution is answered
once every message it caused has been handled, and one that fails leaves
nothing behind.

Processes
  worker(init, handle_call, handle_cast)   a gen_server written in Starlark
  call(pid, msg, timeout=5)                ask a worker, wait for its reply
  cast(pid, msg)                           send a worker a message
  exit(pid, reason)   kill(pid)            end a process
  self()   is_alive(pid)   fail(msg)   ignore
Supervisors
  supervisor(strategy, intensity, period, auto_shutdown, children)
  start_supervisor(sup, name)              start a tree
  start_child   terminate_child   restart_child   delete_child
  which_children   count_children   get_childspec   whereis(sup, id)

help("call") explains a builtin; help("child_spec") the keys of a child
spec; help("limits") this sandbox's limits.

A first exercise: a counter under a one_for_one supervisor. Crash it, and
its supervisor starts a new process with a fresh state.
` + indent(FirstExercise, "  ") + `
Then give the supervisor two more children and try strategy="one_for_all"
and "rest_for_one": which children get new pids? Crash one more than
intensity times within period seconds and the supervisor gives up.`

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// childSpecKeys are the keys a child spec dict may have.
const childSpecKeys = `"id", "start", "args", "restart", "shutdown", "type", "significant"`

var docs = []Doc{
	{
		Name:      "worker",
		Result:    "worker",
		Signature: "worker(init=None, handle_call=None, handle_cast=None)",
		Summary:   "Defines a worker: a gen_server whose callbacks are Starlark functions. Give it to a supervisor as a child spec's \"start\".",
		Args: []Arg{
			{"init", "init(args) returns the initial state; args is the tuple of the child spec's \"args\" (plus start_child's under simple_one_for_one). Return ignore to start nothing; fail() to make the start fail. Without init the state is None."},
			{"handle_call", "handle_call(msg, state) returns (reply, new_state): the answer to call(pid, msg)."},
			{"handle_cast", "handle_cast(msg, state) returns new_state: what cast(pid, msg) does."},
		},
		Returns: "a worker definition, to start with start_child or a supervisor's children.",
		Mirrors: "a gen_server callback module: Module:init/1, Module:handle_call/3, Module:handle_cast/2.",
		Notes: []string{
			"An error in a callback (a bug, or fail(reason)) crashes the worker, and its supervisor applies the child's restart type. So does breaking the behaviour's rules: handle_call returning something else than a pair, a call to a worker without handle_call, a cast to one without handle_cast (OTP crashes a gen_server that gets a message it has no clause for).",
			"Keep a worker's data in its state: a callback cannot assign a global (Starlark's rule), and the messages it gets are frozen.",
		},
		Example: `>>> counter = worker(init=lambda args: 0,
...                  handle_call=lambda msg, state: (state + 1, state + 1),
...                  handle_cast=lambda msg, state: state + msg)
>>> sup = start_supervisor(supervisor(children=[{"id": "c", "start": counter}]))
>>> call(whereis(sup, "c"), "inc")
1
>>> cast(whereis(sup, "c"), 10)
>>> call(whereis(sup, "c"), "inc")
12
`,
	},
	{
		Name:      "supervisor",
		Result:    "supervisor",
		Signature: `supervisor(strategy="one_for_one", intensity=1, period=5, auto_shutdown="never", children=[])`,
		Summary:   "Defines a supervisor: its flags and its children. Start it with start_supervisor, or make it a child of another supervisor.",
		Args: []Arg{
			{"strategy", `"one_for_one": restart only the child that exited; "one_for_all": stop the others (in reverse start order) and restart them all; "rest_for_one": stop and restart the children started after it; "simple_one_for_one": children are started later, by start_child(sup, args), from the one child spec given (the template).`},
			{"intensity", "the most restarts allowed within period seconds (0 or more). One more and the supervisor stops all its children and exits with reason shutdown; its own supervisor then decides."},
			{"period", "the window of intensity, in whole seconds (1 or more)."},
			{"auto_shutdown", `"never"; "any_significant": the supervisor stops when a significant child exits and is not restarted; "all_significant": when the last one does.`},
			{"children", `child specs, dicts (help("child_spec")), started in this order.`},
		},
		Returns: "a supervisor definition.",
		Mirrors: "the {SupFlags, ChildSpecs} that a supervisor's Module:init/1 returns.",
		Notes: []string{
			"A flag with a wrong value is an error: invalid_strategy, invalid_intensity, invalid_period, invalid_auto_shutdown, or bad_combination (auto_shutdown with simple_one_for_one). A simple_one_for_one supervisor takes exactly one child spec. As in OTP, a flag the sandbox does not know is ignored, with a warning.",
		},
		Example: `>>> app = supervisor(strategy="one_for_all", intensity=3, period=10,
...                  children=[{"id": "db", "start": worker()}, {"id": "web", "start": worker()}])
>>> app
<supervisor one_for_all, 2 children>
>>> supervisor(strategy="all_for_one")
error: supervisor(strategy="one_for_one", intensity=1, period=5, auto_shutdown="never", children=[]): invalid_strategy "all_for_one": want one_for_one, one_for_all, rest_for_one or simple_one_for_one
`,
	},
	{
		Name:      "child_spec",
		Signature: "child_spec",
		Summary:   `A child spec is a dict that tells a supervisor how to start, restart and stop one child: {"id": "db", "start": worker(...)}. Its keys are ` + childSpecKeys + ".",
		Args: []Arg{
			{`"id"`, "a string naming the child within its supervisor. Required, except in the template of a simple_one_for_one supervisor."},
			{`"start"`, "a worker(...) or a supervisor(...): what runs. Required."},
			{`"args"`, "a tuple (or list) given to the worker's init; default (). Under simple_one_for_one, start_child's arguments are appended."},
			{`"restart"`, `"permanent" (default): always restarted; "transient": restarted only after an abnormal exit (a reason other than "normal" and "shutdown"); "temporary": never restarted, and its spec is removed when it exits.`},
			{`"shutdown"`, `milliseconds to wait for the child to stop, "brutal_kill" or "infinity". Default 5000 for a worker, "infinity" for a supervisor. In the sandbox a child stops at once (workers have no terminate callback), so it only shows in get_childspec.`},
			{`"type"`, `"worker" or "supervisor"; it must agree with "start", which decides it.`},
			{`"significant"`, "True makes the child's exit stop its supervisor, per the supervisor's auto_shutdown; only for transient and temporary children. Default False."},
		},
		Mirrors: "the child_spec() map of OTP's supervisor: #{id, start, restart, shutdown, type, significant}.",
		Notes: []string{
			"A wrong value is an error that names the key: missing_id, missing_start, invalid_restart_type, invalid_shutdown, invalid_child_type, invalid_significant, bad_combination. As in OTP, a key the sandbox does not know is ignored, with a warning.",
		},
		Example: `>>> w = worker(init=lambda args: args)
>>> sup = start_supervisor(supervisor(auto_shutdown="any_significant"))
>>> start_child(sup, {"id": "job", "start": w, "args": (1, 2), "restart": "transient", "shutdown": "brutal_kill", "significant": True})
<0.3.0>
>>> get_childspec(sup, "job")
{"id": "job", "restart": "transient", "shutdown": "brutal_kill", "type": "worker", "significant": True}
>>> start_child(sup, {"id": "x", "start": w, "restart": "sometimes"})
error: start_child(sup, spec): child "x": invalid_restart_type "sometimes": want "permanent", "transient" or "temporary"
`,
	},
	{
		Name:      "start_supervisor",
		Result:    "pid",
		Signature: "start_supervisor(sup, name=None)",
		Summary:   "Starts supervisor sup as a new tree of the sandbox and returns its pid once all its children have started, in order.",
		Args: []Arg{
			{"sup", "a supervisor(...) definition."},
			{"name", `the tree's id under the sandbox's root supervisor, as "sandbox tree" shows it; default "tree1", "tree2"...`},
		},
		Returns: "the supervisor's pid.",
		Mirrors: "supervisor:start_link/2, called from the sandbox's code: the code is the tree's parent, so exit(sup, reason) from the code stops the tree in order.",
		Notes: []string{
			"If a child fails to start, the children already started are stopped in reverse order and start_supervisor fails, saying which child and why (OTP's {shutdown, {failed_to_start_child, Id, Reason}}).",
			"Trees hang from the sandbox's root supervisor, so no crash escapes the sandbox; a tree that reaches its restart intensity is removed.",
		},
		Example: `>>> tree = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]), name="app")
>>> tree
<0.2.0>
>>> which_children(tree)
[{"id": "w", "pid": <0.3.0>, "type": "worker"}]
>>> start_supervisor(supervisor(children=[{"id": "bad", "start": worker(init=lambda args: fail("no database"))}]))
error: start_supervisor(sup): child "bad" failed to start: no database (in lambda at <sandbox>:1:91); the supervisor did not start
`,
	},
	{
		Name:      "start_child",
		Result:    "pid or None",
		Signature: "start_child(sup, spec)",
		Summary:   "Adds a child to supervisor sup and starts it. Under simple_one_for_one, the second argument is a tuple of extra arguments for the template: start_child(sup, args).",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
			{"spec", `a child spec dict (help("child_spec")); under simple_one_for_one, a tuple appended to the template's "args".`},
		},
		Returns: "the child's pid, or None if its init returned ignore.",
		Mirrors: "supervisor:start_child/2.",
		Notes: []string{
			"The new child goes last in start order. Errors: already_started (a child with that id runs), already_present (a spec with that id is kept but not running: restart_child or delete_child it), and the child's own start error, after which no spec is kept.",
		},
		Example: `>>> sup = start_supervisor(supervisor())
>>> start_child(sup, {"id": "w", "start": worker(), "restart": "transient"})
<0.3.0>
>>> pool = start_supervisor(supervisor(strategy="simple_one_for_one",
...                                    children=[{"start": worker(init=lambda args: args)}]))
>>> start_child(pool, ("job", 1))
<0.5.0>
>>> start_child(pool, ["job", 2])
error: start_child(sup, args): <0.4.0> is simple_one_for_one, so args must be a tuple of extra arguments for its template, got list; write ("job", 2) (a one-element tuple is (x,))
`,
	},
	{
		Name:      "terminate_child",
		Result:    "None",
		Signature: "terminate_child(sup, id)",
		Summary:   "Stops child id of supervisor sup. Its spec is kept (restart_child starts it again), unless it is temporary. A supervisor never restarts a child it was told to stop.",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
			{"id", "the child's id; under simple_one_for_one, the child's pid."},
		},
		Returns: "None.",
		Mirrors: "supervisor:terminate_child/2.",
		Notes: []string{
			"An unknown id is not_found. Under simple_one_for_one a pid that is no longer alive is fine, and a live pid that is not a child of sup is not_found.",
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
>>> terminate_child(sup, "w")
>>> which_children(sup)
[{"id": "w", "pid": None, "type": "worker"}]
>>> terminate_child(sup, "nope")
error: terminate_child(<0.2.0>, "nope"): not_found: <0.2.0> has no child "nope"; which_children(<0.2.0>) lists its children
`,
	},
	{
		Name:      "restart_child",
		Result:    "pid or None",
		Signature: "restart_child(sup, id)",
		Summary:   "Starts again child id of supervisor sup, whose spec is kept but which is not running (after terminate_child, or a transient child's normal exit).",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
			{"id", "the child's id."},
		},
		Returns: "the child's new pid, or None if its init returned ignore.",
		Mirrors: "supervisor:restart_child/2.",
		Notes: []string{
			"Errors: running (it runs already), restarting (its supervisor is retrying a failed restart), not_found, simple_one_for_one (those children have no ids). A restart by hand does not count toward the intensity.",
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
>>> restart_child(sup, "w")
error: restart_child(<0.2.0>, "w"): running: child "w" of <0.2.0> is running as <0.3.0>; terminate_child(<0.2.0>, "w") first
>>> terminate_child(sup, "w")
>>> restart_child(sup, "w")
<0.4.0>
`,
	},
	{
		Name:      "delete_child",
		Result:    "None",
		Signature: "delete_child(sup, id)",
		Summary:   "Removes the spec of child id of supervisor sup. The child must not be running: terminate_child it first.",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
			{"id", "the child's id."},
		},
		Returns: "None.",
		Mirrors: "supervisor:delete_child/2.",
		Notes: []string{
			"Errors: running, restarting, not_found, simple_one_for_one, as restart_child.",
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
>>> delete_child(sup, "w")
error: delete_child(<0.2.0>, "w"): running: child "w" of <0.2.0> is running as <0.3.0>; terminate_child(<0.2.0>, "w") first
>>> terminate_child(sup, "w")
>>> delete_child(sup, "w")
>>> which_children(sup)
[]
`,
	},
	{
		Name:      "which_children",
		Result:    "list of dicts",
		Signature: "which_children(sup)",
		Summary:   "Lists the children of supervisor sup, the most recently started first.",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
		},
		Returns: `a list of dicts {"id", "pid", "type"}: "id" is None under simple_one_for_one; "pid" is the child's pid, None when it is not running, or "restarting" while its supervisor retries a failed restart; "type" is "worker" or "supervisor".`,
		Mirrors: "supervisor:which_children/1.",
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "a", "start": worker()}, {"id": "b", "start": worker()}]))
>>> which_children(sup)
[{"id": "b", "pid": <0.4.0>, "type": "worker"}, {"id": "a", "pid": <0.3.0>, "type": "worker"}]
`,
	},
	{
		Name:      "count_children",
		Result:    "dict",
		Signature: "count_children(sup)",
		Summary:   "Counts the children of supervisor sup.",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
		},
		Returns: `a dict {"specs", "active", "supervisors", "workers"}: the child specs (1 under simple_one_for_one), the running children, and the children of each type, running or not.`,
		Mirrors: "supervisor:count_children/1.",
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "a", "start": worker()}, {"id": "b", "start": supervisor()}]))
>>> terminate_child(sup, "a")
>>> count_children(sup)
{"specs": 2, "active": 1, "supervisors": 1, "workers": 1}
`,
	},
	{
		Name:      "get_childspec",
		Result:    "dict",
		Signature: "get_childspec(sup, id)",
		Summary:   "Returns the child spec supervisor sup keeps for child id, with the defaults filled in.",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
			{"id", "the child's id; under simple_one_for_one, a child's pid (the template is returned)."},
		},
		Returns: `a dict {"id", "restart", "shutdown", "type", "significant"}; "shutdown" is milliseconds, "brutal_kill" or "infinity". The "start" and "args" of the spec are code and values the supervisor keeps to itself; they are not returned.`,
		Mirrors: "supervisor:get_childspec/2.",
		Notes: []string{
			"An unknown id (or pid) is not_found.",
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}, {"id": "s", "start": supervisor()}]))
>>> get_childspec(sup, "w")
{"id": "w", "restart": "permanent", "shutdown": 5000, "type": "worker", "significant": False}
>>> get_childspec(sup, "s")["shutdown"]
"infinity"
`,
	},
	{
		Name:      "whereis",
		Result:    "pid or None",
		Signature: "whereis(sup, id)",
		Summary:   "Finds the pid of child id of supervisor sup. A restarted child has a new pid: ask again after a crash rather than keeping an old pid.",
		Args: []Arg{
			{"sup", "a supervisor's pid."},
			{"id", "the child's id."},
		},
		Returns: "the child's pid, or None when it is not running (or has no such id: simple_one_for_one children have none).",
		Mirrors: "erlang:whereis/1 on a registered name; here the name is the child's id under its supervisor (lists:keyfind(Id, 1, supervisor:which_children(Sup))).",
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
>>> whereis(sup, "w")
<0.3.0>
>>> kill(whereis(sup, "w"))
>>> whereis(sup, "w")
<0.4.0>
`,
	},
	{
		Name:      "call",
		Result:    "reply",
		Signature: "call(pid, msg, timeout=5)",
		Summary:   "Sends msg to worker pid and waits for its handle_call's reply.",
		Args: []Arg{
			{"pid", "a worker's pid."},
			{"msg", "any value; it is frozen when sent."},
			{"timeout", "seconds to wait (default 5, as gen_server's). In the sandbox a handler takes no time, so a call times out only when it can never be answered: it waits on a call that waits on it."},
		},
		Returns: "the reply.",
		Mirrors: "gen_server:call/3.",
		Notes: []string{
			"Errors: noproc (pid is not alive), calling_self (a worker calling itself would wait forever), a supervisor (it answers only the supervisor builtins), the worker crashed while handling msg (the crash reason, and where), timeout.",
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "echo", "start": worker(handle_call=lambda msg, state: (msg, state))}]))
>>> call(whereis(sup, "echo"), "hello")
"hello"
>>> call(sup, "hello")
error: call(<0.2.0>, "hello"): <0.2.0> is a supervisor: it answers which_children, count_children, get_childspec, start_child, terminate_child, restart_child and delete_child, not call
`,
	},
	{
		Name:      "cast",
		Result:    "None",
		Signature: "cast(pid, msg)",
		Summary:   "Sends msg to worker pid without waiting: its handle_cast handles it before the execution ends.",
		Args: []Arg{
			{"pid", "a worker's pid."},
			{"msg", "any value; it is frozen when sent."},
		},
		Returns: "None, always: like OTP's, a cast never fails.",
		Mirrors: "gen_server:cast/2.",
		Notes: []string{
			"A cast to a process that is not alive, or to a supervisor, is dropped, with a warning. A worker without handle_cast crashes on a cast, as a gen_server does on a message it has no clause for.",
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "acc", "start": worker(init=lambda args: [], handle_call=lambda msg, state: (state, state), handle_cast=lambda msg, state: state + [msg])}]))
>>> cast(whereis(sup, "acc"), "a")
>>> cast(whereis(sup, "acc"), "b")
>>> call(whereis(sup, "acc"), "get")
["a", "b"]
`,
	},
	{
		Name:      "exit",
		Result:    "None",
		Signature: `exit(pid, reason="normal")`,
		Summary:   "Sends an exit signal to process pid.",
		Args: []Arg{
			{"pid", "a process's pid."},
			{"reason", `"normal", "shutdown", ("shutdown", term) (OTP's {shutdown, Term}: a normal stop that carries a term), "kill" (as kill(pid)), or any other text: an abnormal exit whose reason is the text.`},
		},
		Returns: "None.",
		Mirrors: "erlang:exit/2.",
		Notes: []string{
			`A worker ignores "normal" from others and exits with any other reason; exit(self(), reason) in a handler ends the worker with reason at once. A supervisor traps exits: it stops only for "kill", or for a signal from its parent, which for a tree is the sandbox's code: exit(tree, "shutdown") stops its children in reverse start order, then the tree. Its supervisor applies the child's restart type to the reason: a transient child that exits "normal", "shutdown" or ("shutdown", term) is not restarted.`,
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(), "restart": "transient"}]))
>>> exit(whereis(sup, "w"), "boom")
>>> whereis(sup, "w")
<0.4.0>
>>> exit(whereis(sup, "w"), "shutdown")
>>> whereis(sup, "w")
>>> exit(sup, "shutdown")
>>> is_alive(sup)
False
`,
	},
	{
		Name:      "kill",
		Result:    "None",
		Signature: "kill(pid)",
		Summary:   "Kills process pid at once: exit(pid, \"kill\"), which no process can trap. A killed supervisor's children die with it.",
		Args: []Arg{
			{"pid", "a process's pid."},
		},
		Returns: "None.",
		Mirrors: "erlang:exit(Pid, kill).",
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
>>> w = whereis(sup, "w")
>>> kill(sup)
>>> is_alive(w)
False
`,
	},
	{
		Name:      "self",
		Result:    "pid or None",
		Signature: "self()",
		Summary:   "Returns the pid of the process whose callback is running.",
		Returns:   "a pid inside a worker's callback, None in the sandbox's own code.",
		Mirrors:   "erlang:self/0.",
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "me", "start": worker(handle_call=lambda msg, state: (self(), state))}]))
>>> call(whereis(sup, "me"), "who?")
<0.3.0>
>>> self()
`,
	},
	{
		Name:      "is_alive",
		Result:    "bool",
		Signature: "is_alive(pid)",
		Summary:   "Tells whether process pid is alive.",
		Args: []Arg{
			{"pid", "a process's pid."},
		},
		Returns: "True or False.",
		Mirrors: "erlang:is_process_alive/1.",
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
>>> w = whereis(sup, "w")
>>> is_alive(w)
True
>>> kill(w)
>>> is_alive(w)
False
`,
	},
	{
		Name:      "pid",
		Result:    "pid",
		Signature: "pid(text)",
		Summary:   "Makes the pid that text shows, \"<0.7.0>\": how a pid seen in the tree, a trace or the console is written in code.",
		Args: []Arg{
			{"text", "a pid as it is shown, \"<0.N.0>\". pid(0, N, 0) is the same, as in Erlang's shell."},
		},
		Returns: "the pid, whether or not that process is alive (is_alive tells).",
		Mirrors: "erlang:list_to_pid/1 and the shell's pid/3.",
		Notes: []string{
			`The console's buttons run code with it: killing <0.4.0> runs kill(pid("<0.4.0>")), journaled like any execution.`,
		},
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
>>> whereis(sup, "w") == pid("<0.3.0>")
True
>>> pid(0, 3, 0)
<0.3.0>
>>> pid("3")
error: pid(text): text must be a pid as it is shown, "<0.N.0>"; got string "3"
`,
	},
	{
		Name:      "fail",
		Result:    "never returns",
		Signature: `fail(reason="fail")`,
		Summary:   "Raises an error with reason as its message. In a worker's callback it crashes the worker, with reason as its exit reason.",
		Args: []Arg{
			{"reason", "text."},
		},
		Returns: "nothing: it never returns.",
		Mirrors: "erlang:error/1 (or exit(Reason) from a gen_server callback).",
		Example: `>>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker(handle_call=lambda msg, state: fail("cannot " + msg))}]))
>>> call(whereis(sup, "w"), "divide")
error: call(<0.3.0>, "divide"): <0.3.0> crashed: cannot divide (in lambda at <sandbox>:1:108)
>>> fail("stop here")
error: stop here
`,
	},
	{
		Name:      "ignore",
		Signature: "ignore",
		Summary:   "The value a worker's init returns to start nothing: the start succeeds without a process.",
		Mirrors:   "ignore returned by a gen_server's Module:init/1.",
		Notes: []string{
			"start_child then returns None and which_children shows the child with pid None; its spec is kept (restart_child tries again) unless it is temporary. Under simple_one_for_one nothing is kept.",
		},
		Example: `>>> sup = start_supervisor(supervisor())
>>> start_child(sup, {"id": "maybe", "start": worker(init=lambda args: ignore)})
>>> which_children(sup)
[{"id": "maybe", "pid": None, "type": "worker"}]
`,
	},
	{
		Name:      "help",
		Result:    "None",
		Signature: "help(name=None)",
		Summary:   "Prints an overview of the sandbox with a first exercise, or the documentation of one builtin or topic.",
		Args: []Arg{
			{"name", `a builtin's name ("call") or the builtin itself (call), or a topic: "child_spec", "limits".`},
		},
		Returns: "None.",
		Example: `>>> help(is_alive)
is_alive(pid) -> bool
    Tells whether process pid is alive.

    pid  a process's pid.

    Returns True or False.

    OTP: erlang:is_process_alive/1.

    Example:
      >>> sup = start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))
      >>> w = whereis(sup, "w")
      >>> is_alive(w)
      True
      >>> kill(w)
      >>> is_alive(w)
      False
`,
	},
	{
		Name:      "limits",
		Signature: "limits",
		Summary:   "What bounds a sandbox. Every execution is bounded, and the sandbox as a whole is too; an execution that goes over a limit fails with \"limit exceeded\", naming it, and leaves nothing behind.",
		Args: []Arg{
			{"max_steps", "Starlark steps of one execution, the handlers and supervisors it runs included."},
			{"max_duration", "wall-clock time of one execution."},
			{"max_code_bytes", "the size of one execution's code."},
			{"max_output_bytes", "what one execution prints, plus its value."},
			{"max_globals", "the number of global names."},
			{"max_heap_bytes", "the memory the sandbox holds: its globals, worker states, mailboxes, traces and supervisors (the sandbox's memory_limit)."},
			{"max_actors", "live processes, workers and supervisors."},
			{"max_mailbox", "messages waiting in one process's mailbox."},
			{"journal_limit", "the size of the sandbox's journal: the code of its executions, and 256 bytes for each."},
			{"replay_limit", "the steps replaying the sandbox's journal takes: the sum of its executions' steps."},
		},
		Notes: []string{
			"The limits are set when the sandbox is created, within the node's ceilings. Every execution is journaled, and a passivated or restarted sandbox comes back by replaying its journal: journal_limit and replay_limit keep that quick. When the journal fills, a sandbox whose globals and workers hold data and functions (defs and name = lambda at the top level, and workers' lambdas) has it replaced by a snapshot of its state, processes included, and goes on; any other takes no more executions until it is restarted (which empties the journal). A sandbox's cpu_limit (its share of a core) is not an error: the node slows the sandbox down instead.",
		},
	},
}
