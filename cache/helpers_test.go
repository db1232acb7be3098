package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, append(testkit.LeakOptions(),
		// go-redis pools and grpc (protoactor remote) leave these behind
		// briefly after Close/Stop; everything else must be gone.
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("google.golang.org/grpc.(*addrConn).resetTransport"),
	)...)
}

// newFakeClock returns a manual clock at 2026-01-01.
func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// memTier is a working in-memory Tier that can be taken down, to exercise
// degradation without timing-dependent I/O.
type memTier struct {
	mu   sync.Mutex
	m    map[string][]byte
	down atomic.Bool
}

var errDown = errors.New("memtier: down")

func newMemTier() *memTier { return &memTier{m: map[string][]byte{}} }

func (t *memTier) Get(_ context.Context, k string) ([]byte, bool, error) {
	if t.down.Load() {
		return nil, false, errDown
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[k]
	return v, ok, nil
}

func (t *memTier) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	if t.down.Load() {
		return errDown
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[k] = v
	return nil
}

func (t *memTier) Delete(_ context.Context, k string) error {
	if t.down.Load() {
		return errDown
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, k)
	return nil
}

func (t *memTier) Clear(context.Context) error {
	if t.down.Load() {
		return errDown
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.m)
	return nil
}

func (t *memTier) Stats() cache.TierStats { return cache.TierStats{Entries: -1} }

// startRedisOn starts redis-server on addr's port (used to restart a killed
// redistest server in place) and kills it in Cleanup.
func startRedisOn(t *testing.T, port int) {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer c.Close()
	testkit.Eventually(t, 10*time.Second, func() error { return c.Ping(context.Background()).Err() })
}

func mustNew(t testing.TB, cfg cache.Config) *cache.Cache {
	t.Helper()
	c, err := cache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
