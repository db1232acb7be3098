package engine

import "go.starlark.net/starlark"

// Warn adds line to the output of the execution running on thread if it
// fits within the execution's output limit, and drops it otherwise: a
// warning never makes an execution fail. Builtins use it to say that
// something they accepted was probably not meant (a key they ignore, a
// message nobody will read). It does nothing outside an execution.
func Warn(thread *starlark.Thread, line string) {
	x := executionOf(thread)
	if x == nil || x.out.Len()+len(line)+1 > x.limits.MaxOutputBytes {
		return
	}
	x.out.WriteString(line)
	x.out.WriteByte('\n')
}
