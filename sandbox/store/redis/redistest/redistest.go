// Package redistest starts a private redis-server for tests: Debian's
// redis-server on a free loopback port, without persistence, stopped by
// PID when the test ends.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Server is a redis-server started for a test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	cmd  *exec.Cmd
}

// Start starts a server and stops it in t.Cleanup. It skips the test under
// -short when redis-server is not installed, and fails otherwise.
func Start(t testing.TB) *Server {
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
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	t.Cleanup(s.Kill)
	if err := waitPing(s.Addr, 10*time.Second); err != nil {
		t.Fatalf("redis-server on %s: %v", s.Addr, err)
	}
	return s
}

// Kill stops the server by its PID and reaps it; it is idempotent.
func (s *Server) Kill() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Client returns a client of the server; close it when done.
func (s *Server) Client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: s.Addr, MaxRetries: 1, DialTimeout: time.Second})
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPing polls PING every 10ms until it answers or the deadline passes,
// returning the last error.
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
