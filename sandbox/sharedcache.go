package sandbox

import (
	"bytes"
	"context"
	"encoding/hex"
	"time"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox/engine"
)

// sharedCompileTimeout bounds a compile-cache lookup or store in the
// shared cache: a slow tier must not slow executions down; on a timeout
// the program is simply compiled again.
const sharedCompileTimeout = 50 * time.Millisecond

// SharedCompileCache is a [CompileCache] over the node's multi-tier cache:
// compiled programs, serialized, keyed by their compile key, so that
// every node reading the same cache tiers (L2, L3) compiles a snippet once.
// A process-local LRU in front keeps decoded programs, so the hot path is
// the same as the default cache.
type SharedCompileCache struct {
	c     *cache.Cache
	local *engine.LRU
}

var _ CompileCache = (*SharedCompileCache)(nil)

// NewSharedCompileCache returns a compile cache over c with a local LRU of
// [engine.DefaultCacheSize] programs.
func NewSharedCompileCache(c *cache.Cache) *SharedCompileCache {
	return &SharedCompileCache{c: c, local: engine.NewLRU(engine.DefaultCacheSize)}
}

func compileKey(key [32]byte) string { return "starlark:" + hex.EncodeToString(key[:]) }

// Get implements CompileCache.
func (s *SharedCompileCache) Get(key [32]byte) (*starlark.Program, bool) {
	if p, ok := s.local.Get(key); ok {
		return p, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedCompileTimeout)
	defer cancel()
	b, ok, err := s.c.Get(ctx, compileKey(key))
	if err != nil || !ok {
		return nil, false
	}
	p, err := starlark.CompiledProgram(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	s.local.Put(key, p)
	return p, true
}

// Put implements CompileCache.
func (s *SharedCompileCache) Put(key [32]byte, prog *starlark.Program) {
	s.local.Put(key, prog)
	var buf bytes.Buffer
	if err := prog.Write(&buf); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedCompileTimeout)
	defer cancel()
	_ = s.c.Put(ctx, compileKey(key), buf.Bytes()) // best effort: a miss only costs a compile
}
