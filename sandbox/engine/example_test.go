package engine_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/otpbox/otpbox/sandbox/engine"
)

func ExampleSession_Execute() {
	ctx := context.Background()
	s := engine.NewSession(engine.Limits{MaxSteps: 100_000})

	s.Execute(ctx, "counter = {'n': 0}\ndef bump():\n  counter['n'] += 1\n  return counter['n']")
	res, _ := s.Execute(ctx, "print('bumping')\nbump()")
	fmt.Printf("value %s, output %q\n", res.Value, res.Output)

	// A failing execution leaves no trace.
	_, err := s.Execute(ctx, "bump()\nwhile True: pass")
	fmt.Println(errors.Is(err, engine.ErrLimitExceeded), err)
	res, _ = s.Execute(ctx, "counter['n']")
	fmt.Println("counter", res.Value)
	// Output:
	// value 1, output "bumping\n"
	// true sandbox: steps limit exceeded (100001 > 100000)
	// counter 1
}
