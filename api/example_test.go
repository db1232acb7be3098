package api_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/testkit"
)

// A Go service that runs users' code in sandboxes through a node. The
// example starts a node of its own (testkit.LaunchNode builds and runs
// `otpbox node` on a free port); a service would use its node's address,
// for example api.DefaultConfig() with OTPBOX_ADDR set.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node, err := testkit.LaunchNode(ctx, testkit.NodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	c, err := api.NewClient(&api.Config{Address: node.URL()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	sandboxes := c.Sandboxes()

	// One sandbox per user session, bounded per execution.
	info, err := sandboxes.Create(ctx, "session-42", api.Requirements{
		Limits: api.Limits{MaxSteps: 100_000, MaxDuration: 2 * time.Second},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.ID, info.State)

	// Globals persist from one execution to the next.
	if _, err := sandboxes.Exec(ctx, "session-42", "x = 20"); err != nil {
		log.Fatal(err)
	}
	res, err := sandboxes.Exec(ctx, "session-42", "print('adding'); x + 22")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(res.Output)
	fmt.Println(res.Value)

	// The user's mistakes are typed errors.
	_, err = sandboxes.Exec(ctx, "session-42", "[i for i in range(10000000)]")
	var problem *api.Error
	if errors.As(err, &problem) && problem.Kind == api.ErrLimitExceeded {
		fmt.Println("stopped by the", problem.Limit, "limit")
	}
	_, err = sandboxes.Exec(ctx, "session-42", "1 +")
	if errors.As(err, &problem) && problem.Kind == api.ErrSyntax {
		fmt.Println("syntax error on line", problem.Line)
	}

	if err := sandboxes.Terminate(ctx, "session-42"); err != nil {
		log.Fatal(err)
	}
	_, err = sandboxes.Info(ctx, "session-42")
	fmt.Println(errors.Is(err, api.ErrNotFound))
	// Output:
	// session-42 active
	// adding
	// 42
	// stopped by the steps limit
	// syntax error on line 1
	// true
}
