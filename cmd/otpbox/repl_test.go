package main

import (
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
	if err != nil {
		t.Fatalf("repl: %v\n%s", err, errOut)
	}
	if want := "42\nitem 1\nitem 2\n2\n"; out != want {
		t.Errorf("repl printed %q, want %q", out, want)
	}
	if !strings.Contains(errOut, "error: Syntax error (422)") {
		t.Errorf("repl stderr = %q, want the syntax error", errOut)
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
