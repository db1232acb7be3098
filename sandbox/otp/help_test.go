package otp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/otp"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
)

// replLines is what the REPL prints for one execution: its output and
// value, or the first line of its error.
func replLines(res *engine.Result, err error) []string {
	if err != nil {
		return []string{errorLine(err)}
	}
	out := strings.Split(strings.TrimSuffix(res.Output, "\n"), "\n")
	if res.Output == "" {
		out = nil
	}
	if res.Value != "" {
		out = append(out, res.Value)
	}
	return out
}

// errorLine is the first line the REPL prints for a failed execution:
// "syntax error: …" or "error: …" and the problem's detail.
func errorLine(err error) string {
	var (
		syn *engine.SyntaxError
		re  *engine.RuntimeError
	)
	switch {
	case errors.As(err, &syn):
		return "syntax error: " + syn.Msg
	case errors.As(err, &re):
		return "error: " + re.Msg
	}
	return "error: " + err.Error()
}

// runSession runs a transcript in b, chunk by chunk, and checks what each
// printed.
func runSession(t *testing.T, b *box, name, text string) {
	t.Helper()
	chunks := otptest.ParseSession(text)
	require.NotEmpty(t, chunks, "%s: no session", name)
	for _, c := range chunks {
		res, err := b.exec(c.Code)
		got := replLines(res, err)
		if !assert.Equal(t, c.Output, got, "%s, line %d:\n%s", name, c.Line, c.Code) {
			return
		}
	}
}

func TestHelpExamplesRun(t *testing.T) {
	for _, d := range otp.Docs() {
		if d.Example == "" {
			continue
		}
		t.Run(d.Name, func(t *testing.T) {
			runSession(t, newBox(t, engine.Limits{}), "help(\""+d.Name+"\")", d.Example)
		})
	}
	t.Run("first exercise", func(t *testing.T) {
		runSession(t, newBox(t, engine.Limits{}), "help()", otp.FirstExercise)
	})
}

func TestHelpCoversEveryBuiltin(t *testing.T) {
	for _, name := range otp.Names() {
		d, ok := otp.DocOf(name)
		if !assert.True(t, ok, "%s has no help", name) {
			continue
		}
		assert.NotEmpty(t, d.Summary, name)
		if name != "ignore" {
			assert.NotEmpty(t, d.Returns, "%s: what it returns", name)
			assert.True(t, strings.HasPrefix(d.Signature, name+"("), "%s: signature %q", name, d.Signature)
		}
		if name != "help" {
			assert.NotEmpty(t, d.Mirrors, "%s: the OTP function it mirrors", name)
		}
		assert.NotEmpty(t, d.Example, "%s: an example", name)
	}
}

func TestHelp(t *testing.T) {
	b := newBox(t, engine.Limits{MaxActors: 7})
	out := b.out(`help()`)
	assert.Equal(t, otp.Overview+"\n", out)
	assert.Contains(t, out, `>>> cast(whereis(sup, "c"), "boom")`)

	d, _ := otp.DocOf("call")
	assert.Equal(t, d.Text(), b.out(`help("call")`))
	assert.Equal(t, d.Text(), b.out(`help(call)`), "the builtin itself")
	assert.Contains(t, b.out(`help("limits")`), "max_actors        7\n", "this sandbox's limits")
	assert.Contains(t, b.out(`help("len")`), "one of Starlark's own builtins")

	err := b.fails(`help("nope")`)
	assert.Contains(t, err.Error(), `help("nope"): no builtin or topic "nope"; help() lists them`)
	err = b.fails(`help(42)`)
	assert.Contains(t, err.Error(), `help(name): name must be the name of a builtin as a string, such as help("call"), or the builtin itself; got int`)
}

// out runs code that must succeed and returns what it printed.
func (b *box) out(code string) string {
	b.t.Helper()
	res, err := b.exec(code)
	require.NoError(b.t, err, "code:\n%s", code)
	return res.Output
}
