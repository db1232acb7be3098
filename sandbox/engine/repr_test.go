package engine

import (
	"math/big"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

func TestQuotedLen(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"u\o`, "\a\b\f\n\r\t\v", "\x00\x1f\x7f", "é€𝄞", "\xff\xfe", "\u200b\U000e0001", strings.Repeat("x", 1000),
	} {
		if got, want := quotedLen(s), len(syntax.Quote(s, false)); got != want {
			t.Errorf("quotedLen(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestReprSizeBounds checks that reprSize never underestimates.
func TestReprSizeBounds(t *testing.T) {
	l := starlark.NewList([]starlark.Value{starlark.MakeInt(1), starlark.String("two\n")})
	l.Append(l) // a cycle
	d := starlark.NewDict(2)
	d.SetKey(starlark.String("k"), l)
	d.SetKey(starlark.MakeInt(-5), starlark.Tuple{starlark.None, starlark.True, starlark.Float(1.0 / 3)})
	d.SetKey(starlark.String("self"), d)
	set := starlark.NewSet(2)
	set.Insert(starlark.Tuple{starlark.MakeInt(1)})
	set.Insert(starlark.Bytes("b\x00"))
	big := starlark.MakeInt(1).Lsh(4000)
	values := []starlark.Value{
		starlark.None, starlark.False, starlark.MakeInt(-1 << 62), big, big.Mul(big).Mul(big),
		starlark.Float(-1e300), starlark.String("é\x00"), starlark.Bytes("\xff"), l, d, set,
		starlark.Tuple{}, starlark.Tuple{starlark.Tuple{l}}, starlark.Universe["len"],
	}
	for _, v := range values {
		n, err := reprSize(v, false, 1<<30)
		if err != nil {
			t.Errorf("reprSize(%s) = %v", v.Type(), err)
			continue
		}
		if real := len(v.String()); n < real {
			t.Errorf("reprSize(%s) = %d, below the real %d", v.Type(), n, real)
		}
	}
	// Too many digits is an error, not a slow conversion.
	if _, err := reprSize(starlark.MakeInt(1).Lsh(500).Mul(starlark.MakeInt(1).Lsh(500)).Mul(big).Mul(big).Mul(big).Mul(big), false, 1<<30); err != errIntDigits {
		t.Errorf("huge int: %v", err)
	}
	// Deep nesting is an error.
	deep := starlark.Value(starlark.NewList(nil))
	for range maxReprDepth + 1 {
		deep = starlark.NewList([]starlark.Value{deep})
	}
	if _, err := reprSize(deep, false, 1<<30); err != errReprTooDeep {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestHeapSize(t *testing.T) {
	s := starlark.String(strings.Repeat("x", 1000))
	shared := starlark.NewList([]starlark.Value{s})
	g := starlark.StringDict{"a": shared, "b": shared}
	one := heapSize(starlark.StringDict{"a": shared}, noWorld{}, 1<<30)
	two := heapSize(g, noWorld{}, 1<<30)
	if one < 1000 || two-one > 100 {
		t.Errorf("shared list counted twice? one=%d two=%d", one, two)
	}
	shared.Append(shared) // cycles terminate
	if n := heapSize(g, noWorld{}, 1<<30); n < one {
		t.Errorf("cyclic size %d < %d", n, one)
	}
	if n := heapSize(g, noWorld{}, 10); n <= 10 {
		t.Errorf("limit not reported: %d", n)
	}
}

func TestIdentical(t *testing.T) {
	l := starlark.NewList(nil)
	tup := starlark.Tuple{starlark.None}
	tests := []struct {
		a, b starlark.Value
		want bool
	}{
		{starlark.String("x"), starlark.String("x"), true},
		{starlark.MakeInt(1).Lsh(100), starlark.MakeInt(1).Lsh(100), true},
		{starlark.MakeInt(1), starlark.MakeInt(2), false},
		{l, l, true},
		{l, starlark.NewList(nil), false},
		{tup, tup, true},
		{tup, starlark.Tuple{starlark.None}, false},
		{starlark.Tuple{}, starlark.Tuple{}, true},
		{starlark.None, starlark.None, true},
		{starlark.Float(1), starlark.MakeInt(1), false},
	}
	for _, tt := range tests {
		if got := identical(tt.a, tt.b); got != tt.want {
			t.Errorf("identical(%v, %v) = %v", tt.a, tt.b, got)
		}
	}
}

func TestReprBounded(t *testing.T) {
	x := starlark.Value(starlark.NewList([]starlark.Value{starlark.String("leaf")}))
	for range 40 { // a repr of 2^40 leaves, a heap of 40 lists
		x = starlark.NewList([]starlark.Value{x, x})
	}
	tup := starlark.Value(starlark.Tuple{starlark.MakeInt(1)})
	for range 64 {
		tup = starlark.Tuple{tup, tup}
	}
	cyc := starlark.NewList(nil)
	_ = cyc.Append(cyc)
	big := new(big.Int).Lsh(big.NewInt(1), 100_000)
	tests := []struct {
		name string
		v    starlark.Value
		want string
	}{
		{"short", starlark.NewList([]starlark.Value{starlark.MakeInt(1), starlark.String("a")}), `[1, "a"]`},
		{"one-tuple", starlark.Tuple{starlark.MakeInt(1)}, `(1,)`},
		{"cycle", cyc, `[[...]]`},
		{"shared lists", x, ""},
		{"shared tuples", tup, ""},
		{"long string", starlark.String(strings.Repeat("a", 10_000)), ""},
		{"huge int", starlark.MakeBigInt(big), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Repr(tt.v, 64)
			if tt.want != "" && got != tt.want {
				t.Fatalf("Repr = %q, want %q", got, tt.want)
			}
			if len(got) > 64+len("…") {
				t.Fatalf("Repr = %d bytes, want at most 64 and the ellipsis: %q", len(got), got)
			}
			if tt.want == "" && !strings.HasSuffix(got, "…") {
				t.Fatalf("Repr = %q, want it cut", got)
			}
		})
	}
}
