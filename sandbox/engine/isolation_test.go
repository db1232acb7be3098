package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// TestIsolation tries to reach the host. Every attempt must fail with a
// clear, structured error, and leave the session usable.
func TestIsolation(t *testing.T) {
	tests := []struct {
		name, code, want string
	}{
		{"load a module", "load('os.star', 'getenv')", "load statements are not allowed"},
		{"open a file", "open('/etc/passwd')", "undefined: open"},
		{"read the environment", "getenv('HOME')", "undefined: getenv"},
		{"os module", "os.environ", "undefined: os"},
		{"clock", "time.now()", "undefined: time"},
		{"randomness", "random.random()", "undefined: random"},
		{"network", "http.get('http://example.com')", "undefined: http"},
		{"import statement", "import os", "got import"},
		{"exec", "exec('1')", "undefined: exec"},
		{"eval", "eval('1')", "undefined: eval"},
		{"the interpreter's hidden names", "x = $g('keep')", "unexpected input character"},
		{"module attributes", "print.__globals__", "no .__globals__ field"},
		{"builtin internals", "getattr(len, '__code__')", "has no .__code__"},
		{"rebinding a builtin stays local", "len = None\nlen(1)", "invalid call of non-function"},
	}
	s := engine.NewSession(engine.Limits{})
	exec(t, s, "keep = 1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Execute(context.Background(), tt.code)
			var se *engine.SyntaxError
			var re *engine.RuntimeError
			if !errors.As(err, &se) && !errors.As(err, &re) {
				t.Fatalf("Execute(%q) = %v, want a SyntaxError or RuntimeError", tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Execute(%q) = %v, want it to mention %q", tt.code, err, tt.want)
			}
			if v := value(t, s, "keep + len('ok')"); v != "3" {
				t.Fatalf("session damaged: %s", v)
			}
		})
	}
	env, err := engine.NewEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(env.Names(), " ")
	for _, forbidden := range []string{"$", "load", "open", "time", "random", "os", "exec"} {
		if strings.Contains(" "+names+" ", " "+forbidden+" ") || strings.Contains(names, "$") {
			t.Fatalf("%q predeclared: %s", forbidden, names)
		}
	}
}
