package engine

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"go.starlark.net/starlark"
)

func TestLRU(t *testing.T) {
	key := func(i int) [32]byte { return sha256.Sum256(fmt.Append(nil, i)) }
	progs := make([]*starlark.Program, 4)
	for i := range progs {
		progs[i] = new(starlark.Program)
	}
	c := NewLRU(2)
	c.Put(key(0), progs[0])
	c.Put(key(1), progs[1])
	if p, ok := c.Get(key(0)); !ok || p != progs[0] { // 0 is now most recent
		t.Fatal("Get(0) missed")
	}
	c.Put(key(2), progs[2]) // evicts 1
	tests := []struct {
		name string
		key  int
		want *starlark.Program
	}{
		{"kept, recently used", 0, progs[0]},
		{"evicted", 1, nil},
		{"newest", 2, progs[2]},
		{"never stored", 3, nil},
	}
	for _, tt := range tests {
		p, ok := c.Get(key(tt.key))
		if ok != (tt.want != nil) || p != tt.want {
			t.Errorf("%s: Get(%d) = %p, %v", tt.name, tt.key, p, ok)
		}
	}
	c.Put(key(2), progs[3]) // replace in place
	if p, _ := c.Get(key(2)); p != progs[3] || c.Len() != 2 {
		t.Fatalf("replace: Get = %p, Len = %d", p, c.Len())
	}
	if NewLRU(0).max != 1 {
		t.Fatal("NewLRU(0) is not bounded to 1")
	}
}
