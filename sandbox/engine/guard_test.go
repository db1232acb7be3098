package engine_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// TestAllocationIsCharged runs code that would make Starlark allocate
// gigabytes in a handful of steps. Each must fail cleanly, with the
// default limits, without the process allocating more than a fraction of
// that: operations are charged before they allocate.
func TestAllocationIsCharged(t *testing.T) {
	tests := []struct {
		name, code string
	}{
		{"string repeat", "'a' * 1000000000"},
		{"bytes repeat", "b'a' * 1000000000"},
		{"list repeat", "[0] * 500000000"},
		{"tuple repeat", "(0,) * 500000000"},
		{"repeat by variable", "n = 500000000\nx = [0] * n"},
		{"list of a huge range", "list(range(1 << 40))"},
		{"tuple of a huge range", "tuple(range(1 << 40))"},
		{"sorted huge range", "sorted(range(1 << 40))"},
		{"set of a huge range", "set(range(1 << 40))"},
		{"dict of a huge range", "dict(enumerate(range(1 << 40)))"},
		{"zip huge ranges", "zip(range(1 << 40), range(1 << 40))"},
		{"reversed huge range", "reversed(range(1 << 40))"},
		{"max of a huge range", "max(range(1 << 40))"},
		{"any of a huge range", "any([False]) or any(range(1, 1 << 40))"},
		{"spread a huge range", "def f(*a): pass\nf(*range(1 << 40))"},
		{"extend by a huge range", "x = []\nx.extend(range(1 << 40))"},
		{"+= a huge range", "x = []\nx += range(1 << 40)"},
		{"string doubling", "s = 'ab'\nfor i in range(64):\n  s = s + s"},
		{"string doubling +=", "s = 'ab'\nfor i in range(64):\n  s += s"},
		{"list doubling +=", "x = [1]\nfor i in range(64):\n  x += x"},
		{"list doubling extend", "x = [1]\nfor i in range(64):\n  x.extend(x)"},
		{"join doubling", "s = 'ab'\nfor i in range(64):\n  s = ''.join([s, s])"},
		{"replace doubling", "s = 'ab'\nfor i in range(64):\n  s = s.replace('a', 'aa').replace('b', 'bb')"},
		{"% doubling", "s = 'ab'\nfor i in range(64):\n  s = '%s%s' % (s, s)"},
		{"format doubling", "s = 'ab'\nfor i in range(64):\n  s = '{}{}'.format(s, s)"},
		{"format by repeat", "s = 'x' * 100000\n('{0}' * 10000).format(s)"},
		{"replace empty", "s = 'x' * 10000\ns.replace('', s)"},
		{"copies of a string", "s = 'x' * 100000\nL = [s + '' for i in range(100000)]"},
		{"copies by upper", "s = 'x' * 100000\nL = [s.upper() for i in range(100000)]"},
		{"copies by slicing", "x = list(range(100000))\nL = [x[1:] for i in range(100000)]"},
		{"copies of set unions", "a = set(range(50000))\nL = [a | a for i in range(100000)]"},
		{"copies of dict items", "d = dict(enumerate(range(50000)))\nL = [d.items() for i in range(100000)]"},
		{"split into pieces", "s = 'a,' * 1000000\nL = [s.split(',') for i in range(100)]"},
		{"big int squaring", "x = 3\nfor i in range(64):\n  x = x * x"},
		{"big int shifting", "x = 1\nfor i in range(100000):\n  x = x << 511"},
		{"int of a long string", "int('9' * 5000)"},
		{"str of a big int", "x = 1\nfor i in range(40):\n  x = x << 511\nstr(x)"},
		{"str of a shared structure", "x = [1]\nfor i in range(64):\n  x = [x, x]\nstr(x)"},
		{"repr of a shared structure", "x = [1]\nfor i in range(64):\n  x = [x, x]\nrepr(x)"},
		{"print a shared structure", "x = [1]\nfor i in range(64):\n  x = [x, x]\nprint(x)"},
		{"result is a shared structure", "x = [1]\nfor i in range(64):\n  x = [x, x]\nx"},
		{"% of a shared structure", "x = [1]\nfor i in range(64):\n  x = [x, x]\n'%s' % (x,)"},
		{"format of a shared structure", "x = [1]\nfor i in range(64):\n  x = [x, x]\n'{}'.format(x)"},
		{"fail with a shared structure", "x = [1]\nfor i in range(64):\n  x = [x, x]\nfail(x)"},
		{"str of a deep structure", "x = []\nfor i in range(5000):\n  x = [x]\nstr(x)"},
		{"codepoints materialised", "s = 'é' * 200000\nL = [list(s.codepoints()) for i in range(100)]"},
	}
	runAttacks(t, tests)
}

// TestHashAndCompareAreCharged runs code whose hashing or comparing is
// exponential in the steps that built its values, and scans of long
// strings that take one step each. Each must fail with the step limit
// rather than hold a CPU where nothing can cancel it.
func TestHashAndCompareAreCharged(t *testing.T) {
	const nested = "t = (1,)\nfor i in range(64):\n  t = (t, t)\n"
	const wide = "x = [1]\nfor i in range(4):\n  x = [x] * 1000\ny = [1]\nfor i in range(4):\n  y = [y] * 1000\n"
	tests := []struct {
		name, code string
	}{
		{"nested tuple as a dict key", nested + "{t: 1}"},
		{"nested tuple in a dict", nested + "t in {}"},
		{"nested tuple index", nested + "d = {}\nd[t]"},
		{"nested tuple stored", nested + "d = {}\nd[t] = 1"},
		{"nested tuple in a set", nested + "set([t])"},
		{"nested tuple get", nested + "{}.get(t)"},
		{"nested tuple comprehension", nested + "{k: 1 for k in [t]}"},
		{"nested tuples compared", nested + "u = (1,)\nfor i in range(64):\n  u = (u, u)\nt == u"},
		{"wide lists compared", wide + "x == y"},
		{"wide lists ordered", wide + "x < y"},
		{"wide lists in a list", wide + "x in [y]"},
		{"wide lists sorted", wide + "sorted([x, y])"},
		{"wide lists max", wide + "max([x, y])"},
		{"wide list index", wide + "[y].index(x)"},
		{"long string scans", "s = 'a' * 4000000\nfor i in range(1000000):\n  s.count('b')"},
		{"long string finds", "s = 'a' * 4000000\nfor i in range(1000000):\n  'b' in s"},
		{"long string compares", "s = 'a' * 4000000\nu = 'a' * 4000000\nfor i in range(1000000):\n  s == u"},
	}
	runAttacks(t, tests)
}

func runAttacks(t *testing.T, tests []struct{ name, code string }) {
	t.Helper()
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "keep = 'still here'")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := s.Execute(context.Background(), tt.code)
			runtime.ReadMemStats(&after)
			var le *engine.LimitError
			var re *engine.RuntimeError
			if !errors.As(err, &le) && !errors.As(err, &re) {
				t.Fatalf("Execute = %v, want a LimitError or RuntimeError", err)
			}
			if total := after.TotalAlloc - before.TotalAlloc; total > 512<<20 {
				t.Errorf("allocated %d MiB", total>>20)
			}
			t.Logf("%v (allocated %d KiB)", err, (after.TotalAlloc-before.TotalAlloc)>>10)
			if v := value(t, s, "keep"); v != `"still here"` {
				t.Fatalf("keep = %s", v)
			}
		})
	}
}

// TestGuardsKeepSemantics checks that the charged operations still
// compute what Starlark computes.
func TestGuardsKeepSemantics(t *testing.T) {
	s := engine.NewSession(engine.Limits{})
	tests := []struct{ code, want string }{
		{"'ab' * 3", `"ababab"`},
		{"n = 2\n[1, 2] * n", "[1, 2, 1, 2]"},
		{"n = 2\nn * (1,)", "(1, 1)"},
		{"a = 'x'\na + 'y' + a", `"xyx"`},
		{"big = 1 << 100\nbig * big", "1606938044258990275541962092341162602522202993782792835301376"},
		{"big // 3, big % 7, -big, ~big, abs(-big)", "(422550200076076467165567735125, 2, -1267650600228229401496703205376, -1267650600228229401496703205377, 1267650600228229401496703205376)"},
		{"'%s=%d %r' % ('a', 1, 'b')", `"a=1 \"b\""`},
		{"'%(k)s' % {'k': 'v'}", `"v"`},
		{"'{}-{x}'.format(1, x=2)", `"1-2"`},
		{"','.join(['a', 'b'])", `"a,b"`},
		{"'a.b.c'.split('.'), 'a b'.split(), 'a.b.c'.rsplit('.', 1), 'l1\\nl2'.splitlines()", `(["a", "b", "c"], ["a", "b"], ["a.b", "c"], ["l1", "l2"])`},
		{"'aXa'.replace('a', 'bb'), 'aaa'.replace('a', 'b', 2), 'ab'.replace('', '-')", `("bbXbb", "bba", "-a-b-")`},
		{"'hello'.upper(), 'HeLLo'.lower(), 'ab cd'.title(), 'ab'.capitalize()", `("HELLO", "hello", "Ab Cd", "Ab")`},
		{"d = {'a': 1}\nd.items(), d.keys(), d.values()", `([("a", 1)], ["a"], [1])`},
		{"x = [1]\ny = x\nx += [2]\n(x, y)", "([1, 2], [1, 2])"},
		{"x = [1]\ny = x\nx = x + [2]\n(x, y)", "([1, 2], [1])"},
		{"d = {'a': 1}\ne = d\nd |= {'b': 2}\n(d, e)", `({"a": 1, "b": 2}, {"a": 1, "b": 2})`},
		{"d = {'k': [1]}\nd['k'] += [2]\nd", `{"k": [1, 2]}`},
		{"L = [1, 2, 3, 4, 5]\nL[1:], L[:2], L[-2:], L[::2], L[::-1], L[4:1:-1], L[10:], L[-100:2]", "([2, 3, 4, 5], [1, 2], [4, 5], [1, 3, 5], [5, 4, 3, 2, 1], [5, 4, 3], [], [1, 2])"},
		{"i = 1\n'hello'[i:], 'hello'[::i+1], (1, 2, 3)[i:]", `("ello", "hlo", (2, 3))`},
		{"s = set([1, 2])\nt = set([2, 3])\nsorted(s | t), sorted(s & t), sorted(s - t), sorted(s ^ t)", "([1, 2, 3], [2], [1], [1, 3])"},
		{"sorted(set([1]).union([2], [3]))", "[1, 2, 3]"},
		{"def f(*args, **kwargs):\n  return args, kwargs\nf(*[1, 2], **{'k': 3})", `((1, 2), {"k": 3})`},
		{"list('abc'.elems()), list(range(3)), tuple([1]), sorted([3, 1]), enumerate(['a'])", `(["a", "b", "c"], [0, 1, 2], (1,), [1, 3], [(0, "a")])`},
		{"zip([1, 2], 'ab'.elems()), dict(a=1), str(1), repr('x'), int('42'), bytes('a')", `([(1, "a"), (2, "b")], {"a": 1}, "1", "\"x\"", 42, b"a")`},
		{"getattr('a,b', 'split')(','), min(3, 1, 2), max([1, 5]), any([0, 1]), all([])", `(["a", "b"], 1, 5, True, True)`},
		{"o = {'n': 1}\nk = 'n'\no[k] *= 5\no[k] -= 1\no", `{"n": 4}`},
		{"x = 7\nx //= 2\nx %= 2\nx <<= 3\nx >>= 1\nx |= 1\nx &= 5\nx ^= 3\nx", "6"},
	}
	for _, tt := range tests {
		if got := value(t, s, tt.code); got != tt.want {
			t.Errorf("%q = %s, want %s", tt.code, got, tt.want)
		}
	}
}
