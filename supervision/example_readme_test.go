package supervision_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
)

// cache is a worker started as a dynamic child.
type cache struct{}

func (cache) Receive(actor.Context) {}

func newCache() actor.Actor { return cache{} }

// Example_readme is the README's supervision snippet, run: a tree with a
// worker and a nested supervisor, a dynamic child started and terminated,
// the children listed, and a stable name.
func Example_readme() {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	ctx := context.Background()
	jobs := supervision.Spec{Flags: supervision.Flags{Strategy: supervision.SimpleOneForOne},
		Children: []supervision.ChildSpec{{ID: "job", Restart: supervision.Transient, Start: supervision.Spawn(newCache)}}}

	sup, err := supervision.Start(system, supervision.Spec{
		Name:  "app",
		Flags: supervision.Flags{Strategy: supervision.OneForOne, Intensity: 3, Period: 5 * time.Second},
		Children: []supervision.ChildSpec{
			{ID: "counter", Start: supervision.Spawn(func() actor.Actor { return &counter{} })},
			{ID: "jobs", Type: supervision.SupervisorChild, Start: supervision.Nested(jobs)},
		},
	})
	if err != nil {
		panic(err)
	}
	defer sup.Stop(ctx)
	pid, err := sup.StartChild(ctx, supervision.ChildSpec{ID: "cache", Start: supervision.Spawn(newCache)})
	fmt.Println("cache started:", pid != nil, err)
	err = sup.TerminateChild(ctx, "cache")
	fmt.Println("cache terminated:", err)
	children, err := sup.WhichChildren(ctx)
	// As in OTP, the most recently started child comes first.
	for _, c := range children {
		fmt.Println(c.ID, c.Type, c.PID != nil)
	}
	name := sup.Whereis("counter") // stable name: forwards to the running incarnation
	n, _ := system.Root.RequestFuture(name, &incr{}, time.Second).Result()
	fmt.Println("count:", n)
	// Output:
	// cache started: true <nil>
	// cache terminated: <nil>
	// cache worker false
	// jobs supervisor true
	// counter worker true
	// count: 1
}

// TestReadmeShowsTheExample checks that every line of the README's
// supervision snippet is a line of Example_readme.
func TestReadmeShowsTheExample(t *testing.T) {
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Supervision\n")
	if !ok {
		t.Fatal("README has no supervision section")
	}
	_, snippet, _ := strings.Cut(section, "```go\n")
	snippet, _, _ = strings.Cut(snippet, "```")
	src, err := os.ReadFile("example_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	example := squeeze(string(src))
	lines := 0
	for _, line := range strings.Split(snippet, "\n") {
		if code := squeeze(line); code != "" {
			lines++
			if !strings.Contains(example, code) {
				t.Errorf("README line %q is not in Example_readme", code)
			}
		}
	}
	if lines < 5 {
		t.Errorf("the README snippet has %d lines", lines)
	}
}
