package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// exec runs code and fails the test on error.
func exec(t testing.TB, s *engine.Session, code string) *engine.Result {
	t.Helper()
	res, err := s.Execute(context.Background(), code)
	if err != nil {
		if re, ok := errors.AsType[*engine.RuntimeError](err); ok {
			t.Fatalf("Execute(%q): %v\n%s", code, err, re.Backtrace)
		}
		t.Fatalf("Execute(%q): %v", code, err)
	}
	return res
}

// value runs code and returns the repr of its final expression.
func value(t testing.TB, s *engine.Session, code string) string {
	t.Helper()
	return exec(t, s, code).Value
}

func TestREPL(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	steps := []struct{ code, value, output string }{
		{code: "1 + 1", value: "2"},
		{code: "x = 40", value: ""},
		{code: "x + 2", value: "42"},
		{code: "x += 2\nx", value: "42"},
		{code: "name = 'otp'\nname", value: `"otp"`},
		{code: "None", value: ""},
		{code: "print('hello', x)\nprint(name)", output: "hello 42\notp\n"},
		{code: "print('a', 'b', sep='-')\n[x, name]", value: `[42, "otp"]`, output: "a-b\n"},
		{code: "def double(n):\n  return n * 2\n", value: ""},
		{code: "double(x)", value: "84"},
		{code: "if x > 40:\n  big = True\nbig", value: "True"},
		{code: "total = 0\nfor i in range(5):\n  total += i\ntotal", value: "10"},
		{code: "n = 0\nwhile n < 3:\n  n += 1\nn", value: "3"},
		{code: "# only a comment\n", value: ""},
		{code: "", value: ""},
		{code: "s = set([1, 2])\ns |= set([3])\nsorted(s)", value: "[1, 2, 3]"},
	}
	for _, st := range steps {
		res := exec(t, s, st.code)
		if res.Value != st.value || res.Output != st.output {
			t.Errorf("Execute(%q) = {Value: %q, Output: %q}, want {%q, %q}", st.code, res.Value, res.Output, st.value, st.output)
		}
		if st.code != "" && res.Steps == 0 {
			t.Errorf("Execute(%q) reports 0 steps", st.code)
		}
	}
	if st := s.Stats(); st.Executions != uint64(len(steps)) || st.Globals == 0 || st.HeapBytes == 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestRollback checks that a failed execution leaves no trace: no new or
// rebound globals, and no mutation of existing containers.
func TestRollback(t *testing.T) {
	ctx := context.Background()
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "L = [1, 2]\nD = {'k': 'v'}\nS = set([1])\nx = 1\nnested = {'list': L}")
	failures := []string{
		"L.append(3)\nD['new'] = 1\nS.add(2)\nx = 2\ny = 3\nL[0] = 'changed'\nfail('boom')",
		"L += [4]\nD |= {'a': 1}\n1 // 0",
		"L.clear()\nD.clear()\nS.clear()\nnested['list'].append(9)\nundefined_function()",
		"L.extend(range(10))\nx = [L] * 2\nwhile True: pass", // step limit
		"L.append(1)\nz = 'x' * 500\nL.pop(",                 // syntax error: nothing ran
		"L.append(1)\nprint('a' * 100000)",                   // output limit
	}
	for _, code := range failures {
		if _, err := s.Execute(ctx, code); err == nil {
			t.Fatalf("Execute(%q) succeeded", code)
		}
		if got := value(t, s, "[L, D, sorted(S), x, nested]"); got != `[[1, 2], {"k": "v"}, [1], 1, {"list": [1, 2]}]` {
			t.Fatalf("after failed %q, state = %s", code, got)
		}
		if _, err := s.Execute(ctx, "y"); err == nil {
			t.Fatalf("after failed %q, y is defined", code)
		}
	}
}

// TestRollbackKeepsAliases checks that functions and globals still share
// their values after a rollback: state is restored in place, not copied.
func TestRollbackKeepsAliases(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "state = {'n': 0}\ndef inc():\n  state['n'] += 1\n  return state['n']")
	if v := value(t, s, "inc()"); v != "1" {
		t.Fatalf("inc() = %s", v)
	}
	if _, err := s.Execute(context.Background(), "inc()\ninc()\nfail('undo')"); err == nil {
		t.Fatal("fail() succeeded")
	}
	if v := value(t, s, "state['n']"); v != "1" {
		t.Fatalf("after rollback state['n'] = %s, want 1", v)
	}
	if v := value(t, s, "inc()\nstate['n']"); v != "2" {
		t.Fatalf("function and global diverged: state['n'] = %s, want 2", v)
	}
}

// TestEarlyBinding documents the REPL scoping rule: functions see the
// globals of the execution that defined them.
func TestEarlyBinding(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "limit = 10\nbox = [10]")
	exec(t, s, "def get():\n  return limit, box[0]")
	exec(t, s, "limit = 20\nbox[0] = 20")
	if v := value(t, s, "get()"); v != "(10, 20)" {
		t.Fatalf("get() = %s, want (10, 20): rebinding is not seen, mutation is", v)
	}
}

func TestSyntaxError(t *testing.T) {
	tests := []struct {
		code      string
		line, col int
		msg       string
	}{
		{"x = 1\ny = (", 2, 6, "got end of file"},
		{"x = 1\n  y = 2", 2, 3, "indent"},
		{"print(undefined_name)", 1, 7, "undefined: undefined_name"},
		{"def f():\n  return 1\nf(", 3, 3, ""},
		{"load('lib.star', 'x')", 1, 1, "load statements are not allowed"},
		{"def f(n):\n  return f(n)\nf(1)", 0, 0, ""}, // recursion is a runtime error, below
	}
	s := engine.NewSession(engine.Limits{})
	for _, tt := range tests[:len(tests)-1] {
		_, err := s.Execute(context.Background(), tt.code)
		se, ok := errors.AsType[*engine.SyntaxError](err)
		if !ok {
			t.Errorf("Execute(%q) = %v, want *SyntaxError", tt.code, err)
			continue
		}
		if se.Line != tt.line || (tt.col != 0 && se.Col != tt.col) || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Execute(%q) = %d:%d %q, want %d:%d containing %q", tt.code, se.Line, se.Col, se.Msg, tt.line, tt.col, tt.msg)
		}
	}
	_, err := s.Execute(context.Background(), tests[len(tests)-1].code)
	if re, ok := errors.AsType[*engine.RuntimeError](err); !ok || !strings.Contains(re.Msg, "called recursively") {
		t.Errorf("recursion = %v, want a RuntimeError about recursion", err)
	}
}

func TestRuntimeErrorBacktrace(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "def inner(d):\n  return 10 // d\n\ndef outer(d):\n  return inner(d) + 1\n")
	_, err := s.Execute(context.Background(), "x = 1\nouter(0)")
	re, ok := errors.AsType[*engine.RuntimeError](err)
	if !ok {
		t.Fatalf("outer(0) = %v, want *RuntimeError", err)
	}
	if re.Msg != "floored division by zero" {
		t.Errorf("Msg = %q", re.Msg)
	}
	for _, want := range []string{
		"Traceback (most recent call last):",
		"<sandbox>:2:6: in <toplevel>",
		"<sandbox>:5:15: in outer",
		"<sandbox>:2:13: in inner",
		"Error: floored division by zero",
	} {
		if !strings.Contains(re.Backtrace, want) {
			t.Errorf("backtrace lacks %q:\n%s", want, re.Backtrace)
		}
	}
	if strings.Contains(re.Backtrace, "$") {
		t.Errorf("backtrace shows instrumentation:\n%s", re.Backtrace)
	}

	// A builtin's name stays in the last line, as in Starlark.
	_, err = s.Execute(context.Background(), "len(1)")
	if re, ok := errors.AsType[*engine.RuntimeError](err); !ok || !strings.HasSuffix(re.Backtrace, "Error in len: len: value of type int has no len") {
		t.Errorf("len(1) = %v", err)
	}
	_, err = s.Execute(context.Background(), "'a' + 1")
	if re, ok := errors.AsType[*engine.RuntimeError](err); !ok || !strings.HasSuffix(re.Backtrace, "Error: unknown binary op: string + int") {
		t.Errorf("'a' + 1 = %v", err)
	}
}

// TestConcurrentExecute checks that executions on one session serialize.
func TestConcurrentExecute(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "n = 0\nlog = []")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if _, err := s.Execute(context.Background(), "n += 1\nlog.append(n)"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if v := value(t, s, "n, len(log), log == sorted(log)"); v != "(80, 80, True)" {
		t.Fatalf("n, len(log), ordered = %s", v)
	}
}

// TestBuiltins checks the extension points used by the OTP builtins.
func TestBuiltins(t *testing.T) {
	type tenant struct{ name string }
	var calls []string
	greet := starlark.NewBuiltin("greet", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var who string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "who", &who); err != nil {
			return nil, err
		}
		if engine.FromThread(thread) == nil {
			return nil, errors.New("no session")
		}
		if err := engine.Charge(thread, 1000); err != nil {
			return nil, err
		}
		tn := thread.Local("tenant").(*tenant)
		calls = append(calls, tn.name+":"+who)
		return starlark.String("hello " + who), nil
	})
	env, err := engine.NewEnv(starlark.StringDict{"greet": greet})
	if err != nil {
		t.Fatal(err)
	}
	a := engine.NewSession(engine.Limits{}, engine.WithEnv(env), engine.WithLocal("tenant", &tenant{"a"}))
	b := engine.NewSession(engine.Limits{}, engine.WithEnv(env), engine.WithLocal("tenant", &tenant{"b"}))
	if v := value(t, a, "greet('x')"); v != `"hello x"` {
		t.Fatalf("greet = %s", v)
	}
	if res := exec(t, b, "greet(who='y')"); res.Steps < 1000 {
		t.Fatalf("Charge not counted: %d steps", res.Steps)
	}
	if fmt.Sprint(calls) != "[a:x b:y]" {
		t.Fatalf("calls = %v", calls)
	}
	// Charging past the budget is a step LimitError.
	small := engine.NewSession(engine.Limits{MaxSteps: 500}, engine.WithEnv(env), engine.WithLocal("tenant", &tenant{"c"}))
	if _, err := small.Execute(context.Background(), "greet('z')"); !isLimit(err, engine.LimitSteps) {
		t.Fatalf("over-budget Charge = %v", err)
	}
	// WithBuiltins layers on the Env so far.
	c := engine.NewSession(engine.Limits{}, engine.WithEnv(env), engine.WithLocal("tenant", &tenant{"c"}),
		engine.WithBuiltins(starlark.StringDict{"answer": starlark.MakeInt(42)}))
	if v := value(t, c, "answer, greet('w')"); v != `(42, "hello w")` {
		t.Fatalf("layered builtins = %s", v)
	}
	if !strings.Contains(strings.Join(env.Names(), " "), "greet") || strings.Contains(strings.Join(env.Names(), " "), "$") {
		t.Fatalf("Names = %v", env.Names())
	}
}

func TestNewEnvErrors(t *testing.T) {
	for _, name := range []string{"", "1x", "a-b", "for", "None", "$g"} {
		if _, err := engine.NewEnv(starlark.StringDict{name: starlark.None}); !errors.Is(err, engine.ErrInvalidBuiltin) {
			t.Errorf("NewEnv(%q) = %v, want ErrInvalidBuiltin", name, err)
		}
	}
	if _, err := engine.NewEnv(starlark.StringDict{"x": nil}); !errors.Is(err, engine.ErrInvalidBuiltin) {
		t.Errorf("NewEnv(nil value) = %v", err)
	}
}

// TestCall runs a function defined in a session, as a worker would.
func TestCall(t *testing.T) {
	var handler starlark.Value
	keep := starlark.NewBuiltin("keep", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		handler = args[0]
		return starlark.None, nil
	})
	s := engine.NewSession(engine.Limits{}, engine.WithBuiltins(starlark.StringDict{"keep": keep}))
	exec(t, s, "def handle(msg, state):\n  print('got', msg)\n  return (msg * 2, state + [msg])\nkeep(handle)")

	v, res, err := engine.Call(context.Background(), engine.Limits{}, handler, starlark.Tuple{starlark.MakeInt(21), starlark.NewList(nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != "(42, [21])" || res.Output != "got 21\n" || res.Steps == 0 {
		t.Fatalf("Call = %v, %+v", v, res)
	}
	_, _, err = engine.Call(context.Background(), engine.Limits{MaxSteps: 5}, handler, starlark.Tuple{starlark.MakeInt(1), starlark.NewList(nil)}, nil)
	if !isLimit(err, engine.LimitSteps) {
		t.Fatalf("Call over budget = %v", err)
	}
	_, _, err = engine.Call(context.Background(), engine.Limits{}, handler, starlark.Tuple{starlark.None, starlark.NewList(nil)}, nil)
	if re, ok := errors.AsType[*engine.RuntimeError](err); !ok || !strings.Contains(re.Backtrace, "in handle") {
		t.Fatalf("Call error = %v", err)
	}
}

// TestCompileCache checks that programs are reused only when equivalent.
func TestCompileCache(t *testing.T) {
	cache := engine.NewLRU(8)
	s := engine.NewSession(engine.Limits{}, engine.WithCompileCache(cache))
	exec(t, s, "1 + 1")
	exec(t, s, "1 + 1")
	if cache.Len() != 1 {
		t.Fatalf("cache holds %d programs after the same code twice", cache.Len())
	}
	// The same code compiles differently once x is a global.
	if _, err := s.Execute(context.Background(), "x"); err == nil {
		t.Fatal("x defined")
	}
	exec(t, s, "x = 5")
	if v := value(t, s, "x"); v != "5" {
		t.Fatalf("x = %s after a cached failure", v)
	}
	other := engine.NewSession(engine.Limits{}, engine.WithCompileCache(cache))
	if _, err := other.Execute(context.Background(), "x"); err == nil {
		t.Fatal("a program compiled for one session leaked x into another")
	}
}
