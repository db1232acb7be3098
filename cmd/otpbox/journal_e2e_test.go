package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
)

// TestKillUnderLoad kills a node (SIGKILL) while 16 users execute in
// their own sandboxes, in each --journal-sync mode, and starts it again on
// the same data directory: every execution that was answered is there,
// and at most the one each user had in flight besides.
func TestKillUnderLoad(t *testing.T) {
	bin := binary(t)
	for _, mode := range []string{"always", "interval"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--admin", "off", "--journal-sync", mode}
			p := startNode(t, bin, dir, args...)
			c := newAPI(t, p.http)
			ctx := context.Background()
			const users = 16
			for u := range users {
				id := fmt.Sprintf("u%d", u)
				if _, err := c.Create(ctx, id, api.Requirements{}); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Exec(ctx, id, "n = 0"); err != nil {
					t.Fatal(err)
				}
			}
			var (
				acked [users]atomic.Int64 // the latest n each user was answered
				total atomic.Int64
				wg    sync.WaitGroup
				stop  = make(chan struct{})
				many  = make(chan struct{})
				once  sync.Once
			)
			for u := range users {
				wg.Go(func() {
					id := fmt.Sprintf("u%d", u)
					for {
						select {
						case <-stop:
							return
						default:
						}
						res, err := c.Exec(ctx, id, "n += 1\nn")
						if err != nil {
							return // the node is gone
						}
						v, err := strconv.ParseInt(res.Value, 10, 64)
						if err != nil {
							t.Errorf("exec answered %q", res.Value)
							return
						}
						acked[u].Store(v)
						if total.Add(1) >= 50*users {
							once.Do(func() { close(many) })
						}
					}
				})
			}
			select {
			case <-many:
			case <-time.After(2 * time.Minute):
				t.Fatalf("only %d executions answered in 2 minutes", total.Load())
			}
			if err := p.cmd.Process.Kill(); err != nil { // SIGKILL, under load
				t.Fatal(err)
			}
			_ = p.wait()
			close(stop)
			wg.Wait()

			p = startNode(t, bin, dir, args...)
			c = newAPI(t, p.http)
			for u := range users {
				res, err := c.Exec(ctx, fmt.Sprintf("u%d", u), "n")
				if err != nil {
					t.Fatalf("u%d after the kill: %v", u, err)
				}
				n, _ := strconv.ParseInt(res.Value, 10, 64)
				if a := acked[u].Load(); n < a || n > a+1 {
					t.Errorf("u%d: n = %d after the kill, %d answered before it", u, n, a)
				}
			}
			t.Logf("%s: %d executions answered before the kill, all found", mode, total.Load())
		})
	}
}

// newAPI is a client of the node at addr that does not retry: a refused
// execution is not answered.
func newAPI(t *testing.T, addr string) *api.Sandboxes {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr, Retry: api.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c.Sandboxes()
}
