package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/redis"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
	"github.com/otpbox/otpbox/sandbox/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a redis-server started for a test.
type server struct{ *redistest.Server }

func startRedis(t *testing.T) *server {
	t.Helper()
	s := redistest.Start(t)
	return &server{s}
}

func newClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: 1, DialTimeout: time.Second})
}

var prefixes atomic.Int64

func TestConformance(t *testing.T) {
	srv := startRedis(t)
	for _, pipelines := range []int{redis.DefaultPipelines, 1, 0} {
		t.Run(fmt.Sprintf("pipelines=%d", pipelines), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) sandbox.Store {
				// One server, a fresh key prefix per store.
				return redis.New(newClient(srv.Addr), redis.WithPrefix(fmt.Sprintf("test%d:", prefixes.Add(1))),
					redis.WithPipelines(pipelines))
			})
		})
	}
}

// BenchmarkAppend compares appends sent one round trip each
// (pipelines=0, as before) with pipelined appends, in one run, from 1,
// 16 and 256 sandboxes at once, against a local redis-server.
func BenchmarkAppend(b *testing.B) {
	srv := redistest.Start(b)
	for _, pipelines := range []int{0, redis.DefaultPipelines} {
		for _, n := range storetest.Appenders {
			b.Run(fmt.Sprintf("pipelines=%d/appenders=%d", pipelines, n), func(b *testing.B) {
				c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, PoolSize: 300})
				s := redis.New(c, redis.WithPrefix(fmt.Sprintf("bench%d:", prefixes.Add(1))), redis.WithPipelines(pipelines))
				defer s.Close()
				storetest.BenchAppend(b, s, n)
			})
		}
	}
}

// TestPrefixesAreIsolated checks that two stores on one database do not
// see each other.
func TestPrefixesAreIsolated(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	a := redis.New(newClient(srv.Addr), redis.WithPrefix("a:"))
	defer a.Close()
	b := redis.New(newClient(srv.Addr), redis.WithPrefix("b:"))
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
	s := redis.New(newClient(srv.Addr))
	defer s.Close()
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x = 1"}); err != nil {
		t.Fatalf("Append before kill: %v", err)
	}

	srv.Kill()

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

// TestDeletePlacement: with WithPlacements, Delete removes the sandbox's
// placement key in the same transaction; without it, Delete leaves
// other keys alone.
func TestDeletePlacement(t *testing.T) {
	srv := startRedis(t)
	ctx := t.Context()
	client := newClient(srv.Addr)
	defer client.Close()
	key := func(id string) string { return "dp:place:" + id }
	for _, with := range []bool{false, true} {
		opts := []redis.Option{redis.WithPrefix(fmt.Sprintf("dp%v:", with))}
		if with {
			opts = append(opts, redis.WithPlacements(key))
		}
		s := redis.New(newClient(srv.Addr), opts...)
		if s.DeletesPlacement() != with {
			t.Fatalf("DeletesPlacement = %v, want %v", !with, with)
		}
		if err := client.Set(ctx, key("sb"), "n1 1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.PutMeta(ctx, "sb", []byte("m")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "sb"); err != nil {
			t.Fatal(err)
		}
		n, err := client.Exists(ctx, key("sb")).Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int64{false: 1, true: 0}[with]; n != want {
			t.Errorf("with placements %v: placement keys left %d, want %d", with, n, want)
		}
		if _, err := s.GetMeta(ctx, "sb"); !errors.Is(err, sandbox.ErrNotFound) {
			t.Errorf("GetMeta after Delete = %v, want ErrNotFound", err)
		}
		_ = s.Close()
	}
}

// TestCreateMeta: CreateMeta stores metadata only where there is none,
// and says whether it did.
func TestCreateMeta(t *testing.T) {
	srv := startRedis(t)
	ctx := t.Context()
	s := redis.New(newClient(srv.Addr), redis.WithPrefix("cm:"))
	defer s.Close()
	created, err := s.CreateMeta(ctx, "sb", []byte("first"))
	if err != nil || !created {
		t.Fatalf("CreateMeta = %v, %v; want created", created, err)
	}
	created, err = s.CreateMeta(ctx, "sb", []byte("second"))
	if err != nil || created {
		t.Fatalf("CreateMeta of an existing sandbox = %v, %v; want not created", created, err)
	}
	if b, err := s.GetMeta(ctx, "sb"); err != nil || string(b) != "first" {
		t.Fatalf("GetMeta = %q, %v; want the first", b, err)
	}
	if _, err := s.CreateMeta(ctx, "", []byte("x")); !errors.Is(err, redis.ErrEmptyID) {
		t.Fatalf("CreateMeta(\"\") = %v, want ErrEmptyID", err)
	}
}
