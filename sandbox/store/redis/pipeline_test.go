package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
)

// holdFirst is a go-redis hook that holds the first pipeline until
// release closes, and records the size of every pipeline.
type holdFirst struct {
	release chan struct{}
	mu      sync.Mutex // protects sizes
	sizes   []int
}

func (h *holdFirst) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *holdFirst) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (h *holdFirst) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.mu.Lock()
		h.sizes = append(h.sizes, len(cmds))
		first := len(h.sizes) == 1
		h.mu.Unlock()
		if first {
			<-h.release
		}
		return next(ctx, cmds)
	}
}

var _ goredis.Hook = (*holdFirst)(nil)

// TestAppendsArePipelined: with one pipeline in flight, the appends of
// 32 sandboxes that arrive meanwhile go out together in the next one.
func TestAppendsArePipelined(t *testing.T) {
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	h := &holdFirst{release: make(chan struct{})}
	c.AddHook(h)
	s := New(c, WithPipelines(1))
	defer s.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 33)
	wg.Go(func() {
		_, err := s.Append(ctx, "first", sandbox.Entry{Code: "x"})
		errs <- err
	})
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.sizes) == 1 })
	for i := range 32 {
		wg.Go(func() {
			_, err := s.Append(ctx, fmt.Sprintf("sb%d", i), sandbox.Entry{Code: "x"})
			errs <- err
		})
	}
	waitFor(t, func() bool { s.pipe.mu.Lock(); defer s.pipe.mu.Unlock(); return len(s.pipe.queue) == 32 })
	close(h.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// go-redis may load the script first (NOSCRIPT): count the appends.
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sizes[0] != 1 || h.sizes[len(h.sizes)-1] != 32 {
		t.Fatalf("pipelines of %v appends, want 1 then 32", h.sizes)
	}
	for i := range 32 {
		if es, err := s.Load(ctx, fmt.Sprintf("sb%d", i)); err != nil || len(es) != 1 {
			t.Fatalf("Load(sb%d) = %v, %v", i, es, err)
		}
	}
}

// TestPipelineServerDies: appends waiting in a pipeline when Redis dies
// fail, and none hangs.
func TestPipelineServerDies(t *testing.T) {
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	s := New(c, WithPipelines(1))
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x"}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, err := s.Append(ctx, fmt.Sprintf("sb%d", i), sandbox.Entry{Code: "x"}); err == nil {
				t.Errorf("append %d succeeded with Redis dead", i)
			}
		})
	}
	wg.Wait()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(time.Millisecond) // polling to a deadline
	}
}
