package main

import (
	"context"
	"errors"
	"os/signal"
	"sync"
)

// errInterrupted is the cause of a command's context cancelled by an
// interrupt (Ctrl-C) that no execution claimed.
var errInterrupted = errors.New("interrupted")

// watchInterrupts routes m.Interrupts for one Run: an interrupt goes to
// the handler set with onInterrupt (the REPL's running execution), or,
// when there is none, cancels the returned context, as SIGTERM does, and
// stops the delivery, so that a second one kills the process at once.
// stop ends the watch; Run calls it before it returns.
func (m *Main) watchInterrupts(ctx context.Context) (_ context.Context, stop func()) {
	if m.Interrupts == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-m.Interrupts:
				if f := m.interrupt.Load(); f != nil {
					(*f)()
					continue
				}
				cancel(errInterrupted)
				signal.Stop(m.Interrupts)
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		wg.Wait()
		cancel(nil)
	}
}

// onInterrupt makes f handle the interrupts until restore is called.
func (m *Main) onInterrupt(f func()) (restore func()) {
	m.interrupt.Store(&f)
	return func() { m.interrupt.Store(nil) }
}
