package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// restored returns a new session rebuilt from src, failing the test if
// the restore fails.
func restored(t testing.TB, src *engine.Dump) *engine.Session {
	t.Helper()
	s := engine.NewSession(engine.Limits{})
	if _, err := s.Restore(context.Background(), src); err != nil {
		t.Fatalf("Restore(%+v): %v", src, err)
	}
	return s
}

// TestDumpRestore: a dump rebuilds the globals exactly (the restored
// session dumps the same), and the two sessions answer the same code the
// same way afterwards, mutations included.
func TestDumpRestore(t *testing.T) {
	for _, tt := range []struct{ name, code, then string }{
		{"empty", "", "1"},
		{"scalars", "n = 1\nb = True\nf = False\nnone = None\ns = 'it\\'s \"quoted\"\\n\\ttab é ☃'\nby = b'\\x00\\xff'", "n + 1, b, f, none, s, by"},
		{"ints", "small = -(1 << 63)\nbig = (1 << 200) + 7\nneg = -(1 << 100)\nmax = (1 << 63) - 1", "small - 1, big + 1, neg * 2, max + 1"},
		{"floats", "a = 1.5\nb = -0.0\nc = 1e300 * 1e10\nd = -c\ne = c - c\nf = 5e-324\ng = 2.0\nh = 1e22\ni = -3.25e-7", "a, b, c, d, e != e, f, g, h, i, 1 / b if False else str(b)"},
		{"containers", "l = [1, [2, 3], (4,), {'k': [5]}]\nt = (1,)\nu = ()\nd = {(1, 2): 'pair', 3: {4: 5}, 'x': []}\ne = {}\nst = set([3, 1, 2])\nes = set()", "l[1].append(9)\nd['x'].append(1)\nst.add(0)\nl, t, u, d, e, st, es, list(st)"},
		{"dict order", "d = {}\nfor k in [5, 3, 9, 1]:\n  d[k] = k * k\nd.pop(3)\nd[3] = 0", "list(d.keys())"},
		{"counter", "n = 0\nfor i in range(100):\n  n += i", "n"},
		{"nested", "x = []\ny = x\nfor i in range(50):\n  y.append([])\n  y = y[-1]\ny = None", "len(str(x))"},
		{"shared immutable", "t = (1, 2)\nu = t\nv = [t, t]", "t == u, v"},
		{"functions", "l = []\nn = 3\ndef add(v, k=2):\n    l.append(v * k + n)\n    return len(l)\n\ndef twice(v):\n    return add(add(v))", "twice(1), add(5, k=1), l"},
		{"functions of two chunks", "def f(x):\n    return g(x) + 1\ndef g(x):\n    return x * 2\nx = 7", "f(3), g(x)"},
		{"lambdas", "k = 10\nadd = lambda x, y=2: x + y + k\nsq = (lambda n:\n    n * n)\ndef use():\n    return add(sq(5))", "use(), add(1, 1), sq(3), str(add)[:7]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := engine.NewSession(engine.Limits{})
			if tt.code != "" {
				exec(t, a, tt.code)
			}
			src, err := a.Dump(1 << 20)
			if err != nil {
				t.Fatalf("Dump: %v", err)
			}
			b := restored(t, src)
			if again, err := b.Dump(1 << 20); err != nil || !again.Equal(src) {
				t.Fatalf("the restored session dumps %+v, %v; want %+v", again, err, src)
			}
			if got, want := value(t, b, tt.then), value(t, a, tt.then); got != want {
				t.Fatalf("after restore %q = %s, want %s (source %+v)", tt.then, got, want, src)
			}
			if sa, sb := a.Stats(), b.Stats(); sa.Globals != sb.Globals || sb.HeapBytes > sa.HeapBytes {
				t.Fatalf("restored stats %+v, original %+v", sb, sa)
			}
		})
	}
}

// TestDumpNotPlain: state that source cannot rebuild is refused, naming
// the global.
func TestDumpNotPlain(t *testing.T) {
	for _, tt := range []struct{ code, name, reason string }{
		{"def f(): return 1\ng = f", "", ""}, // g = function("f")
		{"l = [lambda: 1]", "", ""},          // in a list: a reference the restore sets
		{"t = (lambda: 1, 2)", "", ""},       // rebuilt with the function
		{"d = {lambda: 1: 2}", "d", "key"},
		{"d = {(1, lambda: 1): 2}", "d", "key"},
		{"s = set([(lambda: 1, 2)])", "s", "set"},
		{"f = lambda: 1\ng = f", "", ""},
		{"f, g = lambda: 1, 2", "", ""},
		{"def adder(n):\n    return lambda x: x + n\nadd2 = adder(2)", "", ""}, // made again by adder(2)
		{"def adder(n):\n    print(n)\n    return lambda x: x + n\nadd2 = adder(2)", "add2", "does more than return it"},
		{"def mk():\n    def inner(): return 1\n    return inner\ninner = mk()", "inner", "nested"},
		{"y = 1\ndef f(): return y", "", ""},
		{"if True:\n    def f(): return 1", "f", "a def inside a block"},
		{"def f(l=[]):\n    l.append(1)\n    return l\nd = f()", "f", "reachable twice"},
		{"p = print", "", ""}, // builtin("print")
		{"p = [].append", "p", "method"},
		{"a = [1]\nb = a", "b", "reachable twice"},
		{"a = {}\nb = [a, a]", "b", "reachable twice"},
		{"x = []\nx.append(x)", "x", "reachable twice"},
		{"set = 1\nk = list({1: 2}.keys())", "", ""}, // plain: no set value
		{"r = range(3)", "r", "range"},
	} {
		s := engine.NewSession(engine.Limits{})
		exec(t, s, tt.code)
		_, err := s.Dump(1 << 20)
		if tt.name == "" {
			if err != nil {
				t.Errorf("Dump after %q: %v", tt.code, err)
			}
			continue
		}
		var np *engine.NotPlainError
		if !errors.As(err, &np) || !errors.Is(err, engine.ErrNotPlain) || np.Name != tt.name || !strings.Contains(np.Reason, tt.reason) {
			t.Errorf("Dump after %q = %v, want not plain: %s (%s)", tt.code, err, tt.name, tt.reason)
		}
	}
}

// withFreeze gives a session freeze(v), which freezes v as the sandbox's
// worker(), child args and messages do.
var withFreeze = engine.WithBuiltins(starlark.StringDict{"freeze": starlark.NewBuiltin("freeze",
	func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		if len(args) != 1 {
			return nil, errors.New("freeze: one argument")
		}
		args[0].Freeze()
		return starlark.None, nil
	})})

// TestDumpFrozen: a frozen list, dict or set (the sandbox's worker(),
// child args and messages freeze what they are given) is written as
// frozen(...) among the bound globals and restored frozen: code that
// failed on it fails the same after a restore. Frozen, it may be
// reachable twice. A function whose default was frozen since its def
// does not restore to the same dump (its def makes a mutable default).
func TestDumpFrozen(t *testing.T) {
	for _, tt := range []struct{ code, probe string }{
		{"l = [1, 2]\nfreeze(l)", "l.append(3)"},
		{"l = []\nfreeze(l)", "l.append(3)"},
		{"d = {1: [2]}\nfreeze(d)", "d[1].append(3)"},
		{"d = {}\nfreeze(d)", "d[2] = 3"},
		{"s = set([1])\nfreeze(s)", "s.add(2)"},
		{"s = set()\nfreeze(s)", "s.add(2)"},
		{"t = ([1], 2)\nfreeze(t)", "t[0].append(3)"},
		{"l = [1]\nfreeze(l)\nm = [l, {'k': l}]", "m.append(0)\nm[1]['k'].append(2)"},
	} {
		a := engine.NewSession(engine.Limits{}, withFreeze)
		exec(t, a, tt.code)
		src, err := a.Dump(1 << 20)
		if err != nil {
			t.Errorf("Dump after %q: %v", tt.code, err)
			continue
		}
		if src.Bound == "" || !strings.Contains(src.Bound, "frozen(") {
			t.Errorf("Dump after %q: bound %q, want frozen(...)", tt.code, src.Bound)
		}
		b := restored(t, src)
		if again, err := b.Dump(1 << 20); err != nil || !again.Equal(src) {
			t.Errorf("after %q: restored dump %+v (%v), want %+v", tt.code, again, err, src)
		}
		_, errA := a.Execute(t.Context(), tt.probe)
		_, errB := b.Execute(t.Context(), tt.probe)
		if errA == nil || errB == nil || errA.Error() != errB.Error() {
			t.Errorf("after %q, %q: %v; restored: %v", tt.code, tt.probe, errA, errB)
		}
	}

	a := engine.NewSession(engine.Limits{}, withFreeze)
	exec(t, a, "def f(x=[]):\n    x.append(1)\n    return len(x)\nfreeze(f)")
	src, err := a.Dump(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := restored(t, src).Dump(1 << 20); err != nil || again.Equal(src) {
		t.Errorf("a function with a frozen default restores to the same dump (%v): %+v", err, again)
	}
}

// TestDumpFunctions: a function that sees an older value of a global it
// mentions is written with it when it is immutable data, and cannot be
// otherwise (a list, a function); one that sees them as they are can, and
// an error inside it points to the same line after a restore.
func TestDumpFunctions(t *testing.T) {
	a := engine.NewSession(engine.Limits{})
	exec(t, a, "y = 1\nt = ('a', (2.5, None))\ndef f():\n    return (y, t)")
	exec(t, a, "def g():\n    return f() + (y,)")
	exec(t, a, "y = 2\nt = ()")
	exec(t, a, "def now():\n    return (y, t)") // its chunk, restored after f's, sees y as it is now
	src, err := a.Dump(1 << 20)
	if err != nil {
		t.Fatalf("Dump with f seeing older y and t: %v", err)
	}
	b := restored(t, src)
	if again, err := b.Dump(1 << 20); err != nil || !again.Equal(src) {
		t.Fatalf("the restored session dumps %+v, %v; want %+v", again, err, src)
	}
	for _, probe := range []string{"f(), g(), now(), y, t", "def h():\n    return y\nh(), f()"} {
		if got, want := value(t, b, probe), value(t, a, probe); got != want {
			t.Fatalf("after restore %q = %s, want %s", probe, got, want)
		}
	}
	for _, code := range []string{
		"l = [1]\ndef f():\n    return l\n---\nl = [2]",
		"def k():\n    return 1\ndef f():\n    return k()\n---\ndef k():\n    return 2",
	} {
		s := engine.NewSession(engine.Limits{})
		for _, c := range strings.Split(code, "\n---\n") {
			exec(t, s, c)
		}
		np, ok := errors.AsType[*engine.NotPlainError](func() error { _, err := s.Dump(1 << 20); return err }())
		if !ok || np.Name != "f" || !strings.Contains(np.Reason, "sees ") {
			t.Fatalf("Dump after %q = %v, want f not plain", code, np)
		}
	}
	a = engine.NewSession(engine.Limits{})
	exec(t, a, "x = 1\n\n\ndef f(d):\n    return d['missing'] + x")
	exec(t, a, "x += 0") // rebinds x to an equal int: f sees the same value
	src, err = a.Dump(1 << 20)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	b = restored(t, src)
	_, errA := a.Execute(context.Background(), "f({})")
	_, errB := b.Execute(context.Background(), "f({})")
	if errA == nil || errB == nil || errA.Error() != errB.Error() {
		t.Fatalf("f({}) fails with %v, restored with %v", errA, errB)
	}
	var re *engine.RuntimeError
	if !errors.As(errB, &re) || !strings.Contains(re.Backtrace, ":5:") {
		t.Fatalf("restored backtrace %v: want line 5", errB)
	}
}

// TestDumpShadowedSet: a set is written for a Reader, whose set is the
// builtin, while a global hides the builtin set.
func TestDumpShadowedSet(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "s = set([1])\nset = 'mine'\nl = [1]")
	src, err := s.Dump(1 << 20)
	if err != nil || src.Bound != "s = set([1])\n" || src.Data != "l = [1]\nset = \"mine\"\n" {
		t.Fatalf("Dump = %+v, %v", src, err)
	}
	if got := exec(t, restored(t, src), "(s, set, l)").Value; got != `(set([1]), "mine", [1])` {
		t.Fatalf("restored: %s", got)
	}
}

// TestDumpSize: a dump over its bound fails with a size limit, and a
// restore accepts source over the session's code size limit.
func TestDumpSize(t *testing.T) {
	s := engine.NewSession(engine.Limits{MaxCodeBytes: 1024})
	exec(t, s, "l = ['x' * 100 for i in range(100)]")
	var le *engine.LimitError
	if _, err := s.Dump(1000); !errors.As(err, &le) || le.Limit != engine.LimitCodeSize {
		t.Fatalf("Dump(1000) = %v, want a code size limit", err)
	}
	src, err := s.Dump(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	b := engine.NewSession(engine.Limits{MaxCodeBytes: 1024})
	if _, err := b.Restore(context.Background(), src); err != nil {
		t.Fatalf("Restore of %d bytes: %v", src.Len(), err)
	}
	if got := value(t, b, "len(l), len(l[99])"); got != "(100, 100)" {
		t.Fatalf("restored l: %s", got)
	}
}

// FuzzDumpRestore: whatever state code leaves (chunks separated by a
// line "---"), a dump of plain data either fails or rebuilds it exactly;
// and whenever the restored session dumps the same as the original (the
// check a sandbox makes before it snapshots), it answers the last chunk,
// run again, as the original does (value, output, steps, or error).
func FuzzDumpRestore(f *testing.F) {
	for _, seed := range []string{
		"n = 1",
		"l = [1, [2, (3,)], {'a': b'\\x01'}]",
		"x = 1e308 * 10\ny = x - x\nz = -0.0",
		"d = {i: str(i) * i for i in range(20)}",
		"s = set(['a', 'b'])\nt = (s,)",
		"big = -(7 ** 300)",
		"a = []\nb = [a]",
		"u = '\\u2603\\n\"\\''",
		"v = '\\xff'",
		"n = 2\ndef f(x):\n    return x + n\n---\nf(1)",
		"def f(l=[]):\n    l.append(1)\n    return len(l)\n---\nf()",
		"x = 1\ndef f():\n    return x\n---\nx = 2\n---\nf()",
		"def f():\n    return g()\ndef g():\n    return 1\n---\ndef g():\n    return 2\n---\nf() + g()",
		"l = []\ndef add(v):\n    l.append(v)\n---\nadd(1)\n---\nl = list(l)\n---\nadd(2)\nl",
		"def f(d):\n    return d['k']\n---\nf({})",
		"f = lambda x: x + n\nn = 1\n---\nn = 2\n---\nf(1)",
		"g = (lambda: h())\nh = lambda: 1 // 0\n---\ng()",
		"l = [1]\nfreeze(l)\n---\nl.append(2)",
		"def f(x={}):\n    x[1] = 2\n---\nfreeze(f)\n---\nf()",
		"ops = {'inc': lambda x: x + 1}\n---\nops['inc'](1)",
		"def f(x):\n    return x * 2\nfs = [f, lambda: 1 // 0]\n---\nfs[0](2) + fs[1]()",
		"def mk(k):\n    return lambda: k\nl = [mk(1), mk([2])]\n---\nl[1]().append(3)\nl[1]()",
		"l = [lambda: 1, lambda: 2]\nfreeze(l)\n---\nl[0]()",
		"d = {'a': [lambda: 1]}\nd['b'] = d['a']\n---\nd",
		"x = [lambda: y]\ny = 1\n---\ny = 2\n---\nx[0]()",
		"t = [(1, [lambda s: s, lambda s: -s])]\n---\nt[0][1][1](4)",
		"x=[lambda: 1 // 0]\n---\nx[0]()",
		"fs = [lambda: i for i in range(3)]\n---\n[f() for f in fs]",
		"y = 1\nf = [lambda: y]\n---\ny = 2\n---\nf[0]()",
		"def f(x):\n    return x\nt = (f, (lambda: 1 // 0,), [(f,)])\n---\nt[0](t[2][0][0] == f), t[1][0]()",
		"t = (1,)\ndef g():\n    return t\n---\nt = (g,)\n---\ng(), t[0]()",
		"u = {'k': (lambda: 2, 3)}\nfreeze(u)\n---\nu['k'][0]()",
		"def adder(n):\n    return lambda x: x + n\na = adder(1)\n---\nb = adder(a(1))\n---\na(1) + b(1)",
		"def compose(f):\n    return lambda x: f(x)\ndef one(x):\n    return 1\nc = compose(one)\n---\ncompose(c)(1)",
		"f = lambda: 1\ng, h = f, (f, 2)\n---\ng() + h[0]()",
		"mk = lambda f: lambda x: f(x)\ndef one(x):\n    return 1\na = [mk(one)]\n---\nmk(a[0])(1)",
		"def adder(n):\n    return lambda x: x + n\nadd2 = adder(2)\ndef f(x):\n    return add2(x)\n---\nf(1)",
		"p = print\nl = [len, (lambda f: lambda x: f(x))(sorted)]\n---\np(l[0]('ab'), l[1]([2, 1]))",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		limits := engine.Limits{MaxSteps: 100_000, MaxHeapBytes: 1 << 16}
		a := engine.NewSession(limits, withFreeze)
		chunks := strings.Split(code, "\n---\n")
		for _, c := range chunks {
			_, _ = a.Execute(context.Background(), c)
		}
		src, err := a.Dump(1 << 20)
		if err != nil {
			return
		}
		b := engine.NewSession(limits, withFreeze)
		_, err = b.Restore(context.Background(), src)
		again, derr := b.Dump(1 << 20)
		if src.Defs == nil && (err != nil || derr != nil || !again.Equal(src)) {
			t.Fatalf("state of %q: restored (%v) session dumps %+v, %v; want %+v", code, err, again, derr, src)
		}
		if err != nil || derr != nil || !again.Equal(src) {
			// A function whose def does not rebuild it (a default changed
			// since, say): a sandbox verifies, and does not snapshot.
			return
		}
		last := chunks[len(chunks)-1]
		ra, errA := a.Execute(context.Background(), last)
		rb, errB := b.Execute(context.Background(), last)
		switch {
		case (errA == nil) != (errB == nil):
			t.Fatalf("state of %q, then %q: %v; restored: %v", code, last, errA, errB)
		case errA != nil && errA.Error() != errB.Error():
			t.Fatalf("state of %q, then %q: %v; restored: %v", code, last, errA, errB)
		case errA == nil && (ra.Value != rb.Value || ra.Output != rb.Output || ra.Steps != rb.Steps):
			t.Fatalf("state of %q, then %q: %+v; restored: %+v", code, last, ra, rb)
		}
	})
}

// TestReaderPrefetch: prefetched values are given once each, never
// shared; a batch whose parse does not line up with its expressions (a
// corrupt one reaching into its neighbour) is not used.
func TestReaderPrefetch(t *testing.T) {
	r := &engine.Reader{}
	r.Prefetch([]string{"[1]", "[1]", "(2,)"})
	a, err := r.Value("[1]")
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Value("[1]")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.(*starlark.List).Append(starlark.MakeInt(3)); err != nil || b.String() != "[1]" {
		t.Fatalf("prefetched values shared: %s, %s (%v)", a, b, err)
	}

	r = &engine.Reader{}
	r.Prefetch([]string{"1, 2", "3][0:1] + [4"}) // as a batch: [1, 2, 3][0:1] + [4] = [1, 4]
	if v, err := r.Value("1, 2"); err != nil || v.String() != "(1, 2)" {
		t.Fatalf(`Value("1, 2") = %v, %v; want (1, 2), as alone`, v, err)
	}
	if v, err := r.Value("3][0:1] + [4"); err == nil {
		t.Fatalf("a corrupt expression evaluated to %v", v)
	}
}

// TestDumpFunctionsInValues: functions in lists and dicts (a table of
// handlers, lambdas made by a def, nested ones) are written as references
// that the restore sets once the defs ran: the restored session dumps the
// same, calls them the same, sees the same function where the original
// saw one (ops["add"] == add), reports errors inside them at the same
// place, and sees closures of one lambda as one function. Tuples that
// hold functions are rebuilt with them, and a global that holds a
// function it did not def (g = f, a lambda of an expression, an older
// version) is set to it. A set, a key or a frozen value
// cannot take one, nor can a lambda be written
// whose def can make more of it after the restore.
func TestDumpFunctionsInValues(t *testing.T) {
	a := engine.NewSession(engine.Limits{}, withFreeze)
	for _, code := range []string{
		"def add(a, b):\n    return a + b\n",
		"ops = {'add': add, 'inc': lambda x: x + 1}",
		"l = [lambda: 1]\nfs = [lambda: 1, lambda: 2]\nfs.append(lambda: len(fs))",
		"def mk(k):\n    return lambda: k * 2\n",
		"made = [mk(3), mk(4)]\nnested = {'a': [(1, [lambda: 'n'])]}\nmk = None",
		"k = 2\nloop = [lambda: i * k for i in range(3)]",
		"boom = [None, lambda: 1 // 0]",
		"def chain(k, g):\n    return lambda: g() + k\nc = [chain(1, lambda: 0)]\nc.append(chain(2, c[0]))\nchain = None",
		// On an execution's first line, too close to its start for what
		// binds them: their chunks are laid out a line lower.
		"x=[lambda: 1 // 0]",
		"first = [lambda: i * 10 // (i - 2) for i in range(3)]",
		// A default that is a variable of the loop: the factory is given it.
		"bound = [lambda j=i, k=k: (j, k) for i in range(3)]\none = [lambda i=i: i for i in range(1)]",
		// In tuples, which the restore rebuilds with the functions in.
		"pair = (add, lambda x: x * 3)\nnest = [((1, add), {'t': (lambda: 'deep',)})]\nt0 = ((lambda: 5,),)",
		// Globals that hold a function not by its def: another global's,
		// an older version of one, a lambda of an expression.
		"def twice(v):\n    return v * 2\nalias = twice\nlam, num = lambda: 'l', 1\nfirst_of = fs[0]",
		"def twice(v):\n    return v * 3\n",
		// Closures of a def that can make more of them: the restore makes
		// them by calling it, so that closures made before and after are
		// one function to Starlark, as they were (cb calling ca is a
		// recursion).
		"def compose(f):\n    return lambda x: f(x)\ndef ident(x):\n    return x\nca = compose(ident)\ncb = compose(ca)",
		"def adder(n, unused):\n    return (lambda x, k=n, z=0: x + k + z)\nadd5 = [adder(5, 1)]",
		// A function that sees a global holding a closure, which the
		// restore sets after defining the function.
		"def adder2(n):\n    return lambda x: x + n\nplus2 = adder2(2)\ndef usep(x):\n    return plus2(x)",
		// Builtins, by their names.
		"p = print\nclos = [(lambda f: lambda x: f(x))(len)]\nbs = (len, sorted)",
	} {
		exec(t, a, code)
	}
	src, err := a.Dump(1 << 20)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if v := src.Version(); v != 4 {
		t.Errorf("Version() = %d, want 4: a restore before function references in tuples and globals cannot read it", v)
	}
	b := restored(t, src)
	if again, err := b.Dump(1 << 20); err != nil || !again.Equal(src) {
		t.Fatalf("the restored session dumps %+v, %v; want %+v", again, err, src)
	}
	for _, probe := range []string{
		"ops['add'](2, 3) + ops['inc'](1)", "ops['add'] == add", "[f() for f in fs] + [l[0]()]",
		"[m() for m in made]", "nested['a'][0][1][0]()", "[f() for f in loop]", "fs[0] == fs[1]",
		"first[0] == first[2], len(first)",
		"[f() for f in bound], one[0](), one[0](7)",
		"pair[0](1, 2) + pair[1](2)", "nest[0][0][1] == add", "nest[0][1]['t'][0]()", "t0[0][0]()",
		"pair == (add, pair[1]), pair[1] == pair[1]",
		"alias(2), twice(2), alias == twice, lam(), num, first_of == fs[0], first_of()",
		"ca(3), add5[0](1), add5[0](1, 1), adder(1, 2)(1), compose(ident)(4)",
		"p == print, clos[0]('abc'), bs[1]([2, 1]), bs[0] == len",
		"usep(1)", "plus2 = adder2(5)", "usep(1), plus2(1)", // usep sees plus2 as it was
	} {
		if got, want := value(t, b, probe), value(t, a, probe); got != want {
			t.Errorf("after restore %q = %s, want %s", probe, got, want)
		}
	}
	// After the probes (plus2 rebound, usep seeing the one it saw), the
	// two dump alike, or fail alike.
	da, errA := a.Dump(1 << 20)
	db, errB := b.Dump(1 << 20)
	if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() || errA == nil && !da.Equal(db) {
		t.Errorf("after the probes: dumps %v and %v (restored)", errA, errB)
	}
	// An error inside a restored lambda is at the same place; two
	// closures of one lambda are one function to Starlark, which calls
	// one from the other a recursion.
	for _, probe := range []string{"boom[1]()", "c[1]()", "x[0]()", "first[1]()", "cb(1)", "compose(cb)(1)", "compose(ca)(2)"} {
		_, errA := a.Execute(context.Background(), probe)
		_, errB := b.Execute(context.Background(), probe)
		if errA == nil || errB == nil || errA.Error() != errB.Error() {
			t.Errorf("%s after restore: %v, want %v", probe, errB, errA)
		}
	}

	for _, tt := range []struct{ code, reason string }{
		{"fs = [lambda j=i + 1: j for i in range(2)]", "default is computed"},
		// mk can make more after a restore, which Starlark would see as
		// another function than the restored one.
		{"def mk(k):\n    j = k\n    return lambda: j\nm = [mk(1)]", "can make more"},
		{"def mk(k=1):\n    return lambda: k\nm = [mk(1)]", "can make more"},
		{"K = 1\ndef mk(k):\n    return lambda x=K: k\nm = [mk(1)]", "can make more"},
		{"def mk(k):\n    return lambda: k\ndef use():\n    return mk(2)\nm = [mk(1)]\n---\nmk = None", "can make more"}, // use() still can
		{"s = {'k': [lambda: 1]}\nfreeze(s)", "frozen"},
		// mk can make more: restored by a function of its own, a closure
		// would not be one function with those mk makes after.
		{"mk = lambda f: lambda x: f(x)\ndef one(x):\n    return 1\na = [mk(one)]", "a lambda the sandbox keeps made"},
	} {
		s := engine.NewSession(engine.Limits{}, withFreeze)
		for _, c := range strings.Split(tt.code, "\n---\n") {
			exec(t, s, c)
		}
		_, err := s.Dump(1 << 20)
		if np, ok := errors.AsType[*engine.NotPlainError](err); !ok || !strings.Contains(np.Reason, tt.reason) {
			t.Errorf("Dump after %q = %v, want not plain (%s)", tt.code, err, tt.reason)
		}
	}
}
