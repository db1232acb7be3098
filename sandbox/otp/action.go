package otp

import (
	"errors"
	"fmt"

	"go.starlark.net/starlark"
)

func (rt *Runtime) bPid(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: takes no keyword arguments", signatureOf(b.Name()))
	}
	switch len(args) {
	case 1:
		s, ok := args[0].(starlark.String)
		if p, valid := ParsePid(string(s)); ok && valid {
			return p, nil
		}
		return nil, fmt.Errorf(`%s: text must be a pid as it is shown, "<0.N.0>"; got %s`, signatureOf(b.Name()), describe(args[0]))
	case 3:
		var a, n, c int
		if err := starlark.UnpackPositionalArgs(b.Name(), args, nil, 3, &a, &n, &c); err != nil {
			return nil, argError(b.Name(), err)
		}
		if a != 0 || c != 0 || n <= 0 {
			return nil, fmt.Errorf("%s: a sandbox's pids are pid(0, N, 0) with N > 0; got pid(%d, %d, %d)", signatureOf(b.Name()), a, n, c)
		}
		return Pid{uint64(n)}, nil
	}
	return nil, fmt.Errorf("%s: takes a pid's text, or 0, N, 0; got %d arguments", signatureOf(b.Name()), len(args))
}

// Process actions: what the console's buttons and POST /process do.
const (
	ActionKill      = "kill"      // kill(pid)
	ActionExit      = "exit"      // exit(pid, reason)
	ActionCrash     = "crash"     // exit(pid, "crashed"): an abnormal exit
	ActionTerminate = "terminate" // terminate_child(sup, id)
	ActionRestart   = "restart"   // restart_child(sup, id)
)

// CrashReason is the reason of ActionCrash.
const CrashReason = "crashed"

// ErrInvalidAction is the error of an action that cannot be written as
// code: an unknown action, or a reason missing or given where none is
// taken.
var ErrInvalidAction = errors.New("invalid process action")

// ActionCode writes a process action as the code that does it, on the
// process named by pid ("<0.7.0>") or path ("tree1/w1"): running that code
// as an execution makes the action journaled and exact on replay, and
// shows it to every watcher as what it is. A child that does not run now
// (to restart) is named by its path.
func (rt *Runtime) ActionCode(action, pid, path, reason string) (string, error) {
	if reason != "" && action != ActionExit {
		return "", fmt.Errorf("%w: only exit takes a reason", ErrInvalidAction)
	}
	switch action {
	case ActionKill, ActionExit, ActionCrash:
		p, err := rt.Lookup(pid, path)
		if err != nil {
			return "", err
		}
		switch action {
		case ActionKill:
			return fmt.Sprintf("kill(pid(%q))", p.String()), nil
		case ActionCrash:
			reason = CrashReason
		}
		if reason == "" {
			return "", fmt.Errorf("%w: exit needs a reason (\"normal\", \"shutdown\", \"kill\" or any other text)", ErrInvalidAction)
		}
		return fmt.Sprintf("exit(pid(%q), %s)", p.String(), starlark.String(reason).String()), nil
	case ActionTerminate, ActionRestart:
		fn := "terminate_child"
		if action == ActionRestart {
			fn = "restart_child"
		}
		if pid != "" {
			p, err := rt.Lookup(pid, "")
			if err != nil {
				return "", err
			}
			proc := rt.proc(p.n)
			if proc.parent == rt.st.root {
				return "", fmt.Errorf("%w: %s is a tree, not a child of one (exit it, or act on its children)", ErrNoProcess, p)
			}
			sup := Pid{proc.parent}
			if proc.id == "" { // a simple_one_for_one child: by pid
				if action == ActionRestart {
					return "", fmt.Errorf("%w: a simple_one_for_one child cannot be restarted by hand (OTP's restart_child does not apply); start another", ErrInvalidAction)
				}
				return fmt.Sprintf("%s(pid(%q), pid(%q))", fn, sup.String(), p.String()), nil
			}
			return fmt.Sprintf("%s(pid(%q), %s)", fn, sup.String(), starlark.String(proc.id).String()), nil
		}
		sup, id, err := rt.ChildOf(path)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s(pid(%q), %s)", fn, sup.String(), starlark.String(id).String()), nil
	}
	return "", fmt.Errorf("%w: %q is not one of kill, exit, crash, terminate, restart", ErrInvalidAction, action)
}
