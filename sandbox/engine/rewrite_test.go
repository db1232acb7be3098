package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// TestSameAsStarlark runs programs both in a session (instrumented) and
// with the bare interpreter, and compares what they print and how they
// fail: the instrumentation must not change the language.
func TestSameAsStarlark(t *testing.T) {
	programs := []string{
		`print(1 + 2, 7 - 10, 3 * 4, 7 / 2, 7 // 2, -7 // 2, 7 % 3, -7 % 3, 2 << 3, 64 >> 2, 6 & 3, 6 | 3, 6 ^ 3, -5, +5, ~5)`,
		`a, b = 7, 2
print(a + b, a - b, a * b, a / b, a // b, a % b, a << b, a >> b, a & b, a | b, a ^ b, -a, +a, ~a)`,
		`x = 1 << 200
y = x * x - x // 3 + x % 7
print(y, -y, ~y, abs(-y), y >> 100, y & 0xffff, y | 1, y ^ y)`,
		`s, t = "ab", "cd"
print(s + t, s * 3, 3 * s, "%s|%d|%r|%x|%o|%c|%%" % (s, 42, t, 255, 8, 65), "%(k)s" % {"k": s})`,
		`L = [1, 2, 3]
M = L
L += [4]
L = L + [5]
print(L, M, L * 2, (1, 2) + (3,), 2 * (0,))`,
		`d = {"a": 1}
e = d
d |= {"b": 2}
d = d | {"c": 3}
print(d, e)`,
		`s = set([1, 2, 3])
t = set([3, 4])
print(sorted(s | t), sorted(s & t), sorted(s - t), sorted(s ^ t))
u = s
s |= t
print(sorted(s), sorted(u))`,
		`x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
i, j, k = 2, 8, 3
print(x[i:], x[:j], x[i:j], x[::k], x[::-1], x[j:i:-1], x[-3:], x[-100:100], x[i:j:k], x[5:2], x[::-k])
print("hello"[1:], "hello"[::-1], "hello"[::2], (1, 2, 3)[1:], (1, 2, 3)[::-1], b"bytes"[1:3], range(10)[2:8:2])`,
		`words = "the quick brown fox".split()
print(",".join(words), "-".join(["x"]), "".join([]), " ".join(words).upper().lower().title())
print("a,b,,c".split(","), "a b c".rsplit(" ", 1), "a\nb\r\nc".splitlines(), "aaa".replace("a", "bb", 2), "ab".replace("", "."))
print("{} {x} {0}".format("p", x="q"), "{!r}".format("s"), "hello".capitalize())`,
		`d = {"b": 2, "a": 1}
print(d.items(), d.keys(), d.values(), sorted(d), list(d), dict(d, c=3))
L = [3, 1, 2]
L.extend([5, 4])
L.extend(range(2))
d.update({"z": 0})
d.update(y=9)
print(L, sorted(L), sorted(L, reverse=True), d)`,
		`print(list(range(5)), tuple("abc".elems()), list(reversed([1, 2, 3])), enumerate(["a", "b"], 1), zip([1, 2], [3, 4], [5, 6]))
print(min([3, 1, 2]), max(3, 1, 2), min("b", "a"), any([0, 0, 1]), all([1, 1]), list("é€".codepoints()), bytes("ab"), int("-42"), int("ff", 16), str(1.5), repr("x\ny"))`,
		`def f(a, b=2, *args, **kwargs):
    return (a, b, args, sorted(kwargs.items()))
print(f(1), f(1, 3, 4, 5, k=6), f(*[1, 2, 3]), f(**{"a": 1, "b": 9}), f(*(1,), **{"z": 1}))`,
		`def make():
    count = [0]
    def inc(n=1):
        count[0] += n
        return count[0]
    return inc
inc = make()
inc()
inc(5)
print(inc(), [inc(i) for i in range(3)], (lambda x, y=2: x * y)(4))`,
		`o = {"k": [1]}
o["k"] += [2]
o["k"] *= 2
n = {"v": 10}
n["v"] -= 3
n["v"] //= 2
n["v"] %= 2
n["v"] <<= 4
n["v"] >>= 1
n["v"] |= 1
n["v"] &= 13
n["v"] ^= 6
n["v"] /= 4
print(o, n)`,
		`x = 5
for i in range(3):
    x += i
    if x > 6:
        x -= 1
while x < 20:
    x *= 2
print(x, [i * i for i in range(5) if i % 2 == 0], {k: k * 2 for k in "ab".elems()}, [a + b for a in [1, 2] for b in [10, 20]])`,
		`print(1 if [] else 2, not 0, 1 < 2 and 2 < 3 if False else "x", 3 in [1, 2, 3], "a" not in "bcd", [1, 2] == [1, 2], (1, 2) < (1, 3))`,
		`print(str([1, "a", (2,), {"k": None}, True]), repr({"x": [1.0, -0.5]}), str(b"x\xff"), type(1 << 70), hash("x") == hash("x"))`,
		// Errors must match too.
		`print("ok")
x = "a" + 1`,
		`x = [1, 2, 3]
print(x[1:2:0])`,
		`L = [1]
for v in L:
    L += [2]`,
		`print({"a": 1}["b"])`,
		`x = None
y = -x`,
		`print("%d" % "x")`,
		`print("{}{}".format(1))`,
		`print(",".join([1]))`,
		`x = 1
x.foo += 1`,
		`print([1, 2][5])`,
		`print(1 // 0)`,
		`print("a" * -1, [1] * 0, 0 * (1,), "ab"[::-2])`,
		`fail("custom", 42)`,
		`x = "abc"
print(x[1:], x[True:], x[:-1])`,
	}
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}
	for _, src := range programs {
		var want strings.Builder
		thread := &starlark.Thread{Print: func(_ *starlark.Thread, msg string) { want.WriteString(msg + "\n") }}
		_, werr := starlark.ExecFileOptions(opts, thread, "native", src, nil)

		s := engine.NewSession(engine.Limits{})
		res, gerr := s.Execute(context.Background(), src)
		var got string
		if res != nil {
			got = res.Output
		}
		if gerr == nil && got != want.String() {
			t.Errorf("program:\n%s\nsandbox printed:\n%s\nstarlark printed:\n%s", src, got, want.String())
		}
		switch {
		case werr == nil && gerr != nil:
			t.Errorf("program:\n%s\nsandbox failed: %v", src, gerr)
		case werr != nil && gerr == nil:
			t.Errorf("program:\n%s\nsandbox succeeded, starlark failed: %v", src, werr)
		case werr != nil:
			var ee *starlark.EvalError
			var re *engine.RuntimeError
			if !errors.As(werr, &ee) || !errors.As(gerr, &re) {
				t.Errorf("program:\n%s\nerrors differ in kind: %v / %v", src, werr, gerr)
			} else if ee.Msg != re.Msg || lastLine(ee.Backtrace()) != lastLine(re.Backtrace) {
				t.Errorf("program:\n%s\nsandbox error:  %q (%s)\nstarlark error: %q (%s)", src, re.Msg, lastLine(re.Backtrace), ee.Msg, lastLine(ee.Backtrace()))
			}
		}
	}
}

func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }
