package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/redis"
	"github.com/otpbox/otpbox/sandbox/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a redis-server started for a test.
type server struct {
	addr string
	cmd  *exec.Cmd
}

// startRedis starts a private redis-server on a free loopback port,
// without persistence, and stops it when the test ends. It skips the test
// under -short when redis-server is not installed, and fails otherwise.
func startRedis(t *testing.T) *server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if testing.Short() {
			t.Skip("redis-server not installed")
		}
		t.Fatal("redis-server not found on PATH: run scripts/redis.sh install")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &server{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	t.Cleanup(s.kill)
	if err := waitPing(s.addr, 10*time.Second); err != nil {
		t.Fatalf("redis-server on %s: %v", s.addr, err)
	}
	return s
}

// kill stops the server by its PID and reaps it; it is idempotent.
func (s *server) kill() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPing polls PING every 10ms until it answers or the deadline
// passes, returning the last error.
func waitPing(addr string, timeout time.Duration) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no PING answer after %v: %w", timeout, err)
		case <-tick.C:
		}
	}
}

func newClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: 1, DialTimeout: time.Second})
}

var prefixes atomic.Int64

func TestConformance(t *testing.T) {
	srv := startRedis(t)
	storetest.Run(t, func(t *testing.T) sandbox.Store {
		// One server, a fresh key prefix per store.
		return redis.New(newClient(srv.addr), redis.WithPrefix(fmt.Sprintf("test%d:", prefixes.Add(1))))
	})
}

// TestPrefixesAreIsolated checks that two stores on one database do not
// see each other.
func TestPrefixesAreIsolated(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	a := redis.New(newClient(srv.addr), redis.WithPrefix("a:"))
	defer a.Close()
	b := redis.New(newClient(srv.addr), redis.WithPrefix("b:"))
	defer b.Close()
	if err := a.PutMeta(ctx, "sb", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, "sb", sandbox.Entry{Code: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetMeta(ctx, "sb"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Fatalf("b.GetMeta = %v, want ErrNotFound", err)
	}
	if es, err := b.Load(ctx, "sb"); err != nil || len(es) != 0 {
		t.Fatalf("b.Load = %v, %v", es, err)
	}
}

// TestServerDies kills Redis in the middle of a test: writes must fail
// loudly, never be lost silently.
func TestServerDies(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	s := redis.New(newClient(srv.addr))
	defer s.Close()
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x = 1"}); err != nil {
		t.Fatalf("Append before kill: %v", err)
	}

	srv.kill()

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if seq, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x += 1"}); err == nil {
		t.Fatalf("Append with Redis dead = seq %d, nil error", seq)
	}
	if err := s.PutMeta(ctx, "sb", []byte("m")); err == nil {
		t.Fatal("PutMeta with Redis dead succeeded")
	}
	if _, err := s.Load(ctx, "sb"); err == nil {
		t.Fatal("Load with Redis dead succeeded")
	}
}
