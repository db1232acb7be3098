package otp_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox/otp"
)

var update = flag.Bool("update", false, "rewrite the builtins' sections of docs/sandbox.md from the help texts")

const referencePath = "../../docs/sandbox.md"

// markdown renders d as docs/sandbox.md shows it, between the markers
// <!-- help:NAME --> and <!-- /help:NAME -->.
func markdown(d otp.Doc) string {
	var b strings.Builder
	if d.Signature != d.Name {
		fmt.Fprintf(&b, "`%s`", d.Signature)
		if d.Result != "" {
			fmt.Fprintf(&b, " → %s", d.Result)
		}
		b.WriteString("\n\n")
	}
	b.WriteString(d.Summary + "\n\n")
	if len(d.Args) > 0 {
		head := "argument"
		switch d.Name {
		case "child_spec":
			head = "key"
		case "limits":
			head = "limit"
		}
		fmt.Fprintf(&b, "| %s | |\n|---|---|\n", head)
		for _, a := range d.Args {
			fmt.Fprintf(&b, "| `%s` | %s |\n", a.Name, strings.ReplaceAll(a.Text, "|", `\|`))
		}
		b.WriteString("\n")
	}
	if d.Returns != "" {
		b.WriteString("**Returns** " + d.Returns + "\n\n")
	}
	for _, n := range d.Notes {
		b.WriteString(n + "\n\n")
	}
	if d.Mirrors != "" {
		b.WriteString("**OTP:** " + d.Mirrors + "\n\n")
	}
	if d.Example != "" {
		b.WriteString("```python\n" + d.Example + "```\n\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

var section = regexp.MustCompile(`(?s)<!-- help:([a-z_]+) -->\n(.*?)<!-- /help:([a-z_]+) -->`)

// TestReferenceAgreesWithHelp checks that docs/sandbox.md has every
// builtin's and topic's help, as help(name) has it. go test -update
// rewrites the sections from the help texts.
func TestReferenceAgreesWithHelp(t *testing.T) {
	raw, err := os.ReadFile(referencePath)
	require.NoError(t, err)
	text := string(raw)
	seen := map[string]bool{}
	text = section.ReplaceAllStringFunc(text, func(s string) string {
		m := section.FindStringSubmatch(s)
		name := m[1]
		assert.Equal(t, name, m[3], "section %s ends with %s", name, m[3])
		seen[name] = true
		d, ok := otp.DocOf(name)
		if !assert.True(t, ok, "docs/sandbox.md has a section for %q, which help does not know", name) {
			return s
		}
		want := markdown(d)
		if !*update {
			assert.Equal(t, want, m[2], "docs/sandbox.md's section on %s differs from help(%q); go test ./sandbox/otp -run TestReferenceAgreesWithHelp -update rewrites it", name, name)
		}
		return "<!-- help:" + name + " -->\n" + want + "<!-- /help:" + name + " -->"
	})
	for _, d := range otp.Docs() {
		assert.True(t, seen[d.Name], "docs/sandbox.md has no section on %s", d.Name)
	}
	if *update {
		require.NoError(t, os.WriteFile(referencePath, []byte(text), 0o644))
	}
}

// TestEveryBuiltinIsListed: the README and help()'s overview name every
// builtin.
func TestEveryBuiltinIsListed(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, name := range otp.Names() {
		assert.Contains(t, string(readme), "`"+name+"`", "the README's list of builtins")
		assert.Contains(t, otp.Overview, name, "help()'s overview")
	}
}
