package repl_test

import (
	"testing"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/repl"
)

func TestBlock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		// done[i] is whether the block is complete after lines[i].
		done []bool
		code string
	}{
		{"expression", []string{"1 + 1"}, []bool{true}, "1 + 1"},
		{"blank lines are skipped", []string{"", "  ", "x = 1"}, []bool{false, false, true}, "x = 1"},
		{"def needs a blank line", []string{"def f(x):", "    return x * 2", ""}, []bool{false, false, true},
			"def f(x):\n    return x * 2"},
		{"for with a comment after the colon", []string{"for i in range(3):  # loop", "  print(i)", ""},
			[]bool{false, false, true}, "for i in range(3):  # loop\n  print(i)"},
		{"open bracket continues", []string{"[1,", " 2,", " 3]"}, []bool{false, false, true}, "[1,\n 2,\n 3]"},
		{"nested brackets", []string{"f(a, {", "  'k': [1, 2],", "})"}, []bool{false, false, true}, "f(a, {\n  'k': [1, 2],\n})"},
		{"bracket in a string", []string{`x = "(["`}, []bool{true}, `x = "(["`},
		{"colon in a string", []string{`x = "a:"`}, []bool{true}, `x = "a:"`},
		{"bracket in a comment", []string{"x = 1  # (see below"}, []bool{true}, "x = 1  # (see below"},
		{"escaped quote", []string{`x = "say \"(\""`}, []bool{true}, `x = "say \"(\""`},
		{"triple-quoted string spans lines", []string{`s = """one`, `(two:`, `three"""`}, []bool{false, false, true},
			"s = \"\"\"one\n(two:\nthree\"\"\""},
		{"blank line inside brackets", []string{"[1,", "", "2]"}, []bool{false, false, true}, "[1,\n\n2]"},
		{"backslash continues", []string{`x = 1 + \`, "2"}, []bool{false, true}, "x = 1 + \\\n2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b repl.Block
			for i, l := range tc.lines {
				if got := b.Add(l); got != tc.done[i] {
					t.Fatalf("Add(%q) = %v, want %v", l, got, tc.done[i])
				}
			}
			if got := b.Code(); got != tc.code {
				t.Errorf("Code = %q, want %q", got, tc.code)
			}
			if b.Pending() || b.Prompt() != repl.Prompt {
				t.Error("Code did not empty the block")
			}
		})
	}
}

func TestPrompt(t *testing.T) {
	var b repl.Block
	if b.Prompt() != repl.Prompt {
		t.Errorf("empty block prompt = %q", b.Prompt())
	}
	b.Add("if True:")
	if b.Prompt() != repl.Continue {
		t.Errorf("pending block prompt = %q", b.Prompt())
	}
	b.Reset()
	if b.Pending() {
		t.Error("Reset left lines")
	}
}
