package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// Placement says which member hosts an identity's activation. Epoch grows
// with every move, so a claim based on an outdated placement fails.
type Placement struct {
	Node  string
	Epoch uint64
}

// IsZero reports an identity with no placement.
func (p Placement) IsZero() bool { return p.Node == "" }

// Registry is the cluster's grain directory: one placement record per
// identity, changed only by compare-and-swap, so concurrent activations of
// one identity on different members agree on a single winner. It is
// Orleans' pluggable grain directory (its Redis directory in particular)
// for protoactor-go. Implementations: MemRegistry (one process) and
// RedisRegistry (the cluster's shared Redis).
type Registry interface {
	// Lookup returns identity's placement; zero when it has none.
	Lookup(ctx context.Context, kind, identity string) (Placement, error)
	// Claim replaces identity's placement with next if it is still prev
	// (zero: none). It returns the placement in force afterwards and
	// whether it is next.
	Claim(ctx context.Context, kind, identity string, prev, next Placement) (Placement, bool, error)
	// Remove removes identity's placement, whatever it is (an identity
	// that ended: a terminated sandbox), in one step.
	Remove(ctx context.Context, kind, identity string) error
}

// MemRegistry is a Registry in this process's memory: the directory of a
// single node, and of members that share one process in tests.
type MemRegistry struct {
	mu sync.Mutex
	m  map[key]Placement
}

var _ Registry = (*MemRegistry)(nil)

// NewMemRegistry returns an empty registry.
func NewMemRegistry() *MemRegistry { return &MemRegistry{m: make(map[key]Placement)} }

// Lookup implements Registry.
func (r *MemRegistry) Lookup(_ context.Context, kind, identity string) (Placement, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[key{kind, identity}], nil
}

// Claim implements Registry.
func (r *MemRegistry) Claim(_ context.Context, kind, identity string, prev, next Placement) (Placement, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{kind, identity}
	if cur := r.m[k]; cur != prev {
		return cur, false, nil
	}
	r.m[k] = next
	return next, true, nil
}

// Remove implements Registry.
func (r *MemRegistry) Remove(_ context.Context, kind, identity string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, key{kind, identity})
	return nil
}

// RedisRegistry keeps placements in Redis, one string key per identity
// ("node epoch"), swapped by a Lua script: the directory a cluster shares
// with its sandbox store.
type RedisRegistry struct {
	client goredis.UniversalClient
	prefix string
}

var _ Registry = (*RedisRegistry)(nil)

// NewRedisRegistry returns a registry on client whose keys start with
// prefix (e.g. "otpbox:<cluster>:").
func NewRedisRegistry(client goredis.UniversalClient, prefix string) *RedisRegistry {
	return &RedisRegistry{client: client, prefix: prefix}
}

// Key returns the Redis key of identity's placement, for a store that
// removes it with the identity's own records (one transaction).
func (r *RedisRegistry) Key(kind, identity string) string { return r.key(kind, identity) }

func (r *RedisRegistry) key(kind, identity string) string {
	return r.prefix + "place:" + kind + ":" + identity
}

func encodePlacement(p Placement) string {
	if p.IsZero() {
		return ""
	}
	return p.Node + " " + strconv.FormatUint(p.Epoch, 10)
}

func decodePlacement(s string) (Placement, error) {
	if s == "" {
		return Placement{}, nil
	}
	node, epoch, ok := strings.Cut(s, " ")
	n, err := strconv.ParseUint(epoch, 10, 64)
	if !ok || err != nil || node == "" {
		return Placement{}, fmt.Errorf("cluster: malformed placement %q", s)
	}
	return Placement{Node: node, Epoch: n}, nil
}

// Lookup implements Registry.
func (r *RedisRegistry) Lookup(ctx context.Context, kind, identity string) (Placement, error) {
	s, err := r.client.Get(ctx, r.key(kind, identity)).Result()
	if errors.Is(err, goredis.Nil) {
		return Placement{}, nil
	}
	if err != nil {
		return Placement{}, fmt.Errorf("cluster: placement of %s: %w", identity, err)
	}
	return decodePlacement(s)
}

// claimScript sets KEYS[1] to ARGV[2] if its value is ARGV[1] ("" for
// none) and returns the value in force.
var claimScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return cur end
redis.call('SET', KEYS[1], ARGV[2])
return ARGV[2]
`)

// Claim implements Registry.
func (r *RedisRegistry) Claim(ctx context.Context, kind, identity string, prev, next Placement) (Placement, bool, error) {
	want := encodePlacement(next)
	s, err := claimScript.Run(ctx, r.client, []string{r.key(kind, identity)}, encodePlacement(prev), want).Text()
	if err != nil {
		return Placement{}, false, fmt.Errorf("cluster: claim %s: %w", identity, err)
	}
	cur, err := decodePlacement(s)
	return cur, err == nil && s == want, err
}

// Remove implements Registry: one DEL.
func (r *RedisRegistry) Remove(ctx context.Context, kind, identity string) error {
	if err := r.client.Del(ctx, r.key(kind, identity)).Err(); err != nil {
		return fmt.Errorf("cluster: remove the placement of %s: %w", identity, err)
	}
	return nil
}
