package otp

import (
	"errors"
	"fmt"
	"strconv"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/otpbox/otpbox/supervision"
)

// Pid is a process id in Starlark: <0.N.0>, numbered in the order the
// sandbox started its processes, so that the same journal always gives
// the same pids. It is immutable and hashable; pids compare by number.
type Pid struct{ n uint64 }

var (
	_ starlark.HasAttrs   = Pid{}
	_ starlark.Comparable = Pid{}
)

// String formats the pid as Erlang prints local pids.
func (p Pid) String() string { return "<0." + strconv.FormatUint(p.n, 10) + ".0>" }

// Type is "pid".
func (p Pid) Type() string { return "pid" }

// Freeze does nothing: a pid is immutable.
func (p Pid) Freeze() {}

// Truth is always true.
func (p Pid) Truth() starlark.Bool { return true }

// Hash hashes the number.
func (p Pid) Hash() (uint32, error) { return uint32(p.n ^ p.n>>32), nil }

// CompareSameType orders pids by number.
func (p Pid) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	q := y.(Pid)
	switch op {
	case syntax.EQL:
		return p.n == q.n, nil
	case syntax.NEQ:
		return p.n != q.n, nil
	case syntax.LT:
		return p.n < q.n, nil
	case syntax.LE:
		return p.n <= q.n, nil
	case syntax.GT:
		return p.n > q.n, nil
	case syntax.GE:
		return p.n >= q.n, nil
	}
	return false, fmt.Errorf("invalid comparison of pids: %s", op)
}

// Attr gives the pid's text as .id.
func (p Pid) Attr(name string) (starlark.Value, error) {
	if name == "id" {
		return starlark.String(p.String()), nil
	}
	return nil, nil
}

// AttrNames lists .id.
func (p Pid) AttrNames() []string { return []string{"id"} }

// workerDef is the value of worker(...): a gen_server written in
// Starlark. Its functions are frozen.
type workerDef struct {
	init, handleCall, handleCast starlark.Callable
}

func (*workerDef) String() string        { return "<worker>" }
func (*workerDef) Type() string          { return "worker" }
func (*workerDef) Freeze()               {}
func (*workerDef) Truth() starlark.Bool  { return true }
func (*workerDef) Hash() (uint32, error) { return 0, errors.New("unhashable: worker") }

// supDef is the value of supervisor(...): flags and child specs.
type supDef struct {
	flags    supervision.Flags
	children []*childDef
}

func (d *supDef) String() string {
	return fmt.Sprintf("<supervisor %s, %d children>", d.flags.Strategy, len(d.children))
}
func (*supDef) Type() string          { return "supervisor" }
func (*supDef) Freeze()               {}
func (*supDef) Truth() starlark.Bool  { return true }
func (*supDef) Hash() (uint32, error) { return 0, errors.New("unhashable: supervisor") }

// childDef is a checked child spec dict: the spec without its start
// function, what to start (a *workerDef or a *supDef) and its args.
type childDef struct {
	spec  supervision.ChildSpec
	start starlark.Value
	args  starlark.Tuple
}

// ignoreValue is the value of ignore: a worker's init that returns it
// starts no process, and the start returns ignore (OTP's init returning
// ignore).
type ignoreValue struct{}

// ignore is the predeclared ignore.
var ignore starlark.Value = ignoreValue{}

func (ignoreValue) String() string        { return "ignore" }
func (ignoreValue) Type() string          { return "ignore" }
func (ignoreValue) Freeze()               {}
func (ignoreValue) Truth() starlark.Bool  { return true }
func (ignoreValue) Hash() (uint32, error) { return 0x169e, nil }
