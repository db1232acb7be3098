// Command otpbox is the otpbox node and its command-line client.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // after the first signal, a second one kills the process at once
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt) // Main routes them: see Main.Interrupts
	m := &Main{Interrupts: interrupts}
	os.Exit(m.Exit(m.Run(ctx, os.Args[1:])))
}
