package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// restored returns a new session rebuilt from src, failing the test if
// the restore fails.
func restored(t testing.TB, src string) *engine.Session {
	t.Helper()
	s := engine.NewSession(engine.Limits{})
	if _, err := s.Restore(context.Background(), src); err != nil {
		t.Fatalf("Restore(%q): %v", src, err)
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
			if again, err := b.Dump(1 << 20); err != nil || again != src {
				t.Fatalf("the restored session dumps %q, %v; want %q", again, err, src)
			}
			if got, want := value(t, b, tt.then), value(t, a, tt.then); got != want {
				t.Fatalf("after restore %q = %s, want %s (source %q)", tt.then, got, want, src)
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
		{"def f(): return 1", "f", "function"},
		{"g = lambda: 1", "g", "function"},
		{"p = print", "p", "builtin"},
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

// TestDumpShadowedSet: a set cannot be written while a global hides the
// builtin set.
func TestDumpShadowedSet(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "s = set([1])\nset = 'mine'")
	if _, err := s.Dump(1 << 20); !errors.Is(err, engine.ErrNotPlain) {
		t.Fatalf("Dump = %v, want ErrNotPlain", err)
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
		t.Fatalf("Restore of %d bytes: %v", len(src), err)
	}
	if got := value(t, b, "len(l), len(l[99])"); got != "(100, 100)" {
		t.Fatalf("restored l: %s", got)
	}
}

// FuzzDumpRestore: whatever state code leaves, a dump either fails or
// rebuilds it exactly.
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
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		limits := engine.Limits{MaxSteps: 100_000, MaxHeapBytes: 1 << 16}
		a := engine.NewSession(limits)
		if _, err := a.Execute(context.Background(), code); err != nil {
			return
		}
		src, err := a.Dump(1 << 20)
		if err != nil {
			return
		}
		b := engine.NewSession(limits)
		if _, err := b.Restore(context.Background(), src); err != nil {
			t.Fatalf("Restore(%q) of the state of %q: %v", src, code, err)
		}
		if again, err := b.Dump(1 << 20); err != nil || again != src {
			t.Fatalf("state of %q: restored session dumps %q, %v; want %q", code, again, err, src)
		}
	})
}
