package testkit_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// TestReadmeExample runs the statements of Example_readme.
func TestReadmeExample(t *testing.T) {
	kit := testkit.New(t) // own actor system, shut down and leak-checked in t.Cleanup
	pid := kit.Spawn(actor.PropsFromFunc(pinger))
	probe := kit.NewProbe(t)
	probe.Request(pid, &Ping{}) // the probe is the sender: the reply comes back to it
	probe.ExpectMsg(&Pong{})

	sup, err := supervision.Start(kit.System(), supervision.Spec{
		Name:  "app",
		Flags: supervision.Flags{Strategy: supervision.OneForAll, Intensity: 3},
		Children: []supervision.ChildSpec{
			{ID: "c1", Start: supervision.Spawn(worker)},
			{ID: "c2", Start: supervision.Spawn(worker)},
			{ID: "c3", Start: supervision.Spawn(worker)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Stop(context.Background()) }) // before the kit's shutdown
	rec := testkit.NewRecorder(t, kit.System())              // supervision events from now on
	kit.Root().Send(sup.Whereis("c2"), &Crash{})
	rec.ExpectSequence("X(c2,boom)", "T(c3)", "T(c1)", "S(c1)", "S(c2)", "S(c3)")
}

// TestExamplesRunAsTests checks that each compiled-only example has the
// statements of the test that runs it (after the example's `var t` line).
func TestExamplesRunAsTests(t *testing.T) {
	for _, pair := range [][3]string{
		{"example_readme_test.go", "Example_readme", "TestReadmeExample"},
		{"example_cluster_test.go", "ExampleStartCluster", "TestStartClusterExample"},
	} {
		example := body(t, pair[0], pair[1])
		test := body(t, strings.Replace(pair[0], "example_", "", 1), pair[2])
		if len(example) == 0 || !strings.HasPrefix(example[0], "var t ") {
			t.Errorf("%s does not start with var t", pair[1])
			continue
		}
		if strings.Join(example[1:], "\n") != strings.Join(test, "\n") {
			t.Errorf("%s and %s differ:\n%s\n---\n%s", pair[1], pair[2], strings.Join(example[1:], "\n"), strings.Join(test, "\n"))
		}
	}
}

// TestReadmeShowsTheExample checks that every line of the README's
// testkit snippet is a statement of Example_readme.
func TestReadmeShowsTheExample(t *testing.T) {
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## Testing with testkit")
	if !ok {
		t.Fatal("README has no testkit section")
	}
	_, snippet, _ := strings.Cut(section, "```go\n")
	snippet, _, _ = strings.Cut(snippet, "```")
	src, err := os.ReadFile("example_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, line := range strings.Split(snippet, "\n") {
		code, _, _ := strings.Cut(line, "//")
		if code = strings.TrimSpace(code); code == "" || strings.HasPrefix(code, "…") {
			continue
		}
		lines++
		if !strings.Contains(string(src), code) {
			t.Errorf("README line %q is not in Example_readme", code)
		}
	}
	if lines < 5 {
		t.Errorf("the README snippet has %d lines of code", lines)
	}
}

// body returns the statements of function name in file, one per line
// (printed by go/printer, comments dropped).
func body(t *testing.T, file, name string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != name {
			continue
		}
		var out []string
		for _, st := range fn.Body.List {
			var b strings.Builder
			if err := printer.Fprint(&b, fset, st); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.String())
		}
		return out
	}
	t.Fatalf("no func %s in %s", name, file)
	return nil
}
