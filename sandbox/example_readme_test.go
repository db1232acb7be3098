package sandbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/wal"
)

// Example_readme is the README's sandbox snippet, run: a member hosting
// sandbox grains on its own actor system, with the embedded journal.
func Example_readme() {
	dir, _ := os.MkdirTemp("", "otpbox-example")
	defer os.RemoveAll(dir)
	store, _ := wal.Open(dir, wal.Config{})
	defer store.Close()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	defer system.Shutdown()
	ctx := context.Background()

	local, err := sandbox.StartLocal(system, sandbox.Config{Store: store}) // store: sandbox/store/wal, sandbox/store/bolt or sandbox/store/redis
	if err != nil {
		panic(err)
	}
	defer local.Shutdown()
	info, err := local.Create(ctx, "demo", sandbox.Requirements{})
	fmt.Println(info.ID, info.State, err)
	res, err := local.Execute(ctx, "demo", "x = 20\nx + 22") // res.Value == "42"
	fmt.Println(res.Value, err)
	// Output:
	// demo active <nil>
	// 42 <nil>
}

// TestReadmeShowsTheExample checks that every line of the README's
// sandbox snippet is a line of Example_readme.
func TestReadmeShowsTheExample(t *testing.T) {
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Sandboxes\n")
	if !ok {
		t.Fatal("README has no sandboxes section")
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
	if lines < 3 {
		t.Errorf("the README snippet has %d lines", lines)
	}
}
