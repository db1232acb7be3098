package cache_test

import (
	"strconv"
	"testing"

	"github.com/coocood/freecache"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
)

const benchKeys = 1 << 14

var (
	benchKeyStr = func() []string {
		k := make([]string, benchKeys)
		for i := range k {
			k[i] = "key:" + strconv.Itoa(i)
		}
		return k
	}()
	benchKeyBytes = func() [][]byte {
		k := make([][]byte, benchKeys)
		for i := range k {
			k[i] = []byte(benchKeyStr[i])
		}
		return k
	}()
	benchVal = make([]byte, 128)
)

func benchL1(b *testing.B) *cache.Cache {
	c := mustNew(b, cache.Config{})
	for _, k := range benchKeyStr {
		if err := c.Put(ctx, k, benchVal); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func benchRaw(b *testing.B) *freecache.Cache {
	fc := freecache.NewCache(cache.DefaultL1Size)
	for _, k := range benchKeyBytes {
		if err := fc.Set(k, benchVal, 3600); err != nil {
			b.Fatal(err)
		}
	}
	return fc
}

func BenchmarkBaselineFreecacheGet(b *testing.B) {
	fc := benchRaw(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := fc.Get(benchKeyBytes[i%benchKeys]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkL1Get(b *testing.B) {
	c := benchL1(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok, _ := c.Get(ctx, benchKeyStr[i%benchKeys]); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkBaselineFreecacheSet(b *testing.B) {
	fc := freecache.NewCache(cache.DefaultL1Size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = fc.Set(benchKeyBytes[i%benchKeys], benchVal, 3600)
	}
}

func BenchmarkL1Set(b *testing.B) {
	c := mustNew(b, cache.Config{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = c.Put(ctx, benchKeyStr[i%benchKeys], benchVal)
	}
}

func BenchmarkBaselineFreecacheGetParallel(b *testing.B) {
	fc := benchRaw(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			_, _ = fc.Get(benchKeyBytes[i%benchKeys])
		}
	})
}

func BenchmarkL1GetParallel(b *testing.B) {
	c := benchL1(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			_, _, _ = c.Get(ctx, benchKeyStr[i%benchKeys])
		}
	})
}

func BenchmarkBaselineFreecacheSetParallel(b *testing.B) {
	fc := freecache.NewCache(cache.DefaultL1Size)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			_ = fc.Set(benchKeyBytes[i%benchKeys], benchVal, 3600)
		}
	})
}

func BenchmarkL1SetParallel(b *testing.B) {
	c := mustNew(b, cache.Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			_ = c.Put(ctx, benchKeyStr[i%benchKeys], benchVal)
		}
	})
}

func BenchmarkBaselineRedisGet(b *testing.B) {
	srv := redistest.Start(b)
	rc := srv.Client()
	b.Cleanup(func() { _ = rc.Close() })
	if err := rc.Set(ctx, "k", benchVal, 0).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rc.Get(ctx, "k").Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkL3Get(b *testing.B) {
	srv := redistest.Start(b)
	rc := srv.Client()
	b.Cleanup(func() { _ = rc.Close() })
	c := mustNew(b, cache.Config{DisableL1: true, L3: cache.NewL3(rc)})
	if err := c.Put(ctx, "k", benchVal); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := c.Get(ctx, "k"); !ok {
			b.Fatal("miss")
		}
	}
}
