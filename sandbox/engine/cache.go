package engine

import (
	"container/list"
	"sync"

	"go.starlark.net/starlark"
)

// CompileCache holds compiled programs by key. A key is the SHA-256 of
// everything compilation depends on (the code, the predeclared names of
// the [Env], the global names the session held, and the instrumentation
// version), so a hit is always a program equivalent to compiling again.
// Programs are immutable and may be shared by any number of sessions.
//
// Implementations must be safe for concurrent use.
type CompileCache interface {
	Get(key [32]byte) (*starlark.Program, bool)
	Put(key [32]byte, prog *starlark.Program)
}

// DefaultCacheSize is the capacity of the compile cache that sessions
// share when none is given with [WithCompileCache].
const DefaultCacheSize = 1024

// defaultCache is shared by every session built without WithCompileCache.
// Sharing is safe because keys cover everything a program depends on; it
// lets journal replays and repeated snippets skip compilation.
var defaultCache = NewLRU(DefaultCacheSize)

// LRU is a bounded, least-recently-used [CompileCache]. Get and Put are
// O(1). It is safe for concurrent use.
type LRU struct {
	max int

	mu    sync.Mutex // protects order and items
	order *list.List // front = most recently used; values are *lruEntry
	items map[[32]byte]*list.Element
}

type lruEntry struct {
	key  [32]byte
	prog *starlark.Program
}

var _ CompileCache = (*LRU)(nil)

// NewLRU returns an empty cache holding at most size programs (at least 1).
func NewLRU(size int) *LRU {
	if size < 1 {
		size = 1
	}
	return &LRU{max: size, order: list.New(), items: make(map[[32]byte]*list.Element)}
}

// Get returns the program stored under key and marks it recently used.
func (c *LRU) Get(key [32]byte) (*starlark.Program, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).prog, true
}

// Put stores prog under key, evicting the least recently used program
// when the cache is full.
func (c *LRU) Put(key [32]byte, prog *starlark.Program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*lruEntry).prog = prog
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, prog: prog})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

// Len returns the number of cached programs.
func (c *LRU) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
