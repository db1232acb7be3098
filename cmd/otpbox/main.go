// Command otpbox is the otpbox node and its command-line client.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // after the first signal, a second one kills the process at once
	m := &Main{}
	os.Exit(m.Exit(m.Run(ctx, os.Args[1:])))
}
