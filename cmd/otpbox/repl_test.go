package main

import (
	"errors"
	"strings"
	"testing"
)

func TestREPL(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	c.ok("sandbox", "create", "s1")
	c.stdin = strings.Join([]string{
		"def double(x):",
		"    return x * 2",
		"",
		"double(21)",
		"1 +",
		"items = [",
		"  1,",
		"  2,",
		"]",
		"for i in items:",
		"    print('item', i)",
		"",
		"len(items)",
		":quit",
		"'never run'",
	}, "\n")
	out, errOut, err := c.run("repl", "s1")
	var script *ScriptError
	if !errors.As(err, &script) || script.Ran != 6 || len(script.Failed) != 1 || script.Failed[0] != 5 {
		t.Fatalf("repl: %v\n%s", err, errOut)
	}
	if want := "42\nitem 1\nitem 2\n2\n"; out != want {
		t.Errorf("repl printed %q, want %q", out, want)
	}
	if want := "line 5: syntax error: got end of file, want primary expression\n  at line 5, col 4:\n    1 +\n       ^\n"; errOut != want {
		t.Errorf("repl stderr = %q, want %q", errOut, want)
	}
}

func TestREPLRunsThePendingBlockAtEOF(t *testing.T) {
	n := newNode(t, "")
	c := newCLI(t, "OTPBOX_ADDR", n.url)
	c.ok("sandbox", "create", "s1")
	c.stdin = "if True:\n    print('last')"
	if out := c.ok("repl", "s1"); out != "last\n" {
		t.Errorf("repl printed %q", out)
	}
}

func TestREPLUnknownSandbox(t *testing.T) {
	n := newNode(t, "")
	_, _, err := newCLI(t, "OTPBOX_ADDR", n.url).run("repl", "nope")
	if err == nil || !strings.Contains(err.Error(), "Sandbox not found (404)") {
		t.Errorf("repl on an unknown sandbox = %v", err)
	}
}
