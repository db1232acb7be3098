// Package redis is a sandbox.Store in Redis: the shared implementation that
// any node of a cluster can read.
//
// Layout, under a configurable key prefix (default "otpbox:sandbox:"):
// each sandbox's journal is a list "<prefix>journal:<id>" of encoded
// entries, an entry's sequence number being its position; all metadata is
// one hash "<prefix>meta" from id to bytes. A snapshot (PutSnapshot)
// replaces the list by itself and records in "<prefix>base:<id>" the
// sequence numbers before it, which every later position adds. Appends
// and snapshots run as Lua scripts, so the optimistic sequence check and
// the write are atomic; Delete is a MULTI/EXEC transaction. The layout assumes one Redis (or a primary with
// replicas), not Redis Cluster.
//
// Appends from concurrent callers are pipelined: while a pipeline of
// appends is in flight (DefaultPipelines of them at most), the next ones
// gather and go out together, one round trip for many (WithPipelines).
//
// Durability is the server's: a write is acknowledged once Redis applied
// it. Run Redis with appendonly yes and appendfsync always when an
// acknowledged execution must survive a crash of Redis itself.
package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/internal/codec"
)

// DefaultPrefix prefixes every key of a Store without WithPrefix.
const DefaultPrefix = "otpbox:sandbox:"

// ErrEmptyID reports an empty sandbox id.
var ErrEmptyID = errors.New("redis: empty sandbox id")

// appendScript pushes ARGV[1] onto the journal KEYS[1] (whose base is
// KEYS[2]) if ARGV[2] is 0 or the next sequence number, and returns its
// sequence number, or -1 on a conflict.
var appendScript = goredis.NewScript(`
local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = base + redis.call('LLEN', KEYS[1])
local want = tonumber(ARGV[2])
if want ~= 0 and want ~= n + 1 then
	return -1
end
return base + redis.call('RPUSH', KEYS[1], ARGV[1])
`)

// snapshotScript replaces the journal KEYS[1] (whose base is KEYS[2]) by
// the snapshot ARGV[1] if ARGV[2] is the journal's last sequence number,
// and returns 1, or -1 on a conflict.
var snapshotScript = goredis.NewScript(`
local seq = tonumber(ARGV[2])
local n = tonumber(redis.call('GET', KEYS[2]) or '0') + redis.call('LLEN', KEYS[1])
if seq == 0 or seq ~= n then
	return -1
end
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], seq - 1)
return 1
`)

// Store is a sandbox.Store in Redis. It is safe for concurrent use.
type Store struct {
	client goredis.UniversalClient
	prefix string
	closed atomic.Bool
	pipe   *pipeline // nil: each append is its own round trip
	// placementKey names the cluster's placement record of a sandbox,
	// deleted with it (WithPlacements); nil: none.
	placementKey func(id string) string
}

var (
	_ sandbox.Store            = (*Store)(nil)
	_ sandbox.MetaCreator      = (*Store)(nil)
	_ sandbox.PlacementDeleter = (*Store)(nil)
	_ sandbox.Snapshotter      = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every key (default DefaultPrefix), so
// that several stores can share a Redis database.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithPipelines sets how many pipelines of appends may be in flight at
// once (default DefaultPipelines). Appends from concurrent callers that
// find them all in flight wait and go out together in the next pipeline:
// one round trip for many. n < 1 sends each append on its own.
func WithPipelines(n int) Option {
	return func(s *Store) {
		s.pipe = nil
		if n >= 1 {
			s.pipe = &pipeline{client: s.client, max: n}
		}
	}
}

// WithPlacements makes Delete remove a sandbox's placement in the
// cluster's directory too, in the same transaction as its journal and
// metadata: key names the placement's key (cluster.RedisRegistry.Key).
// A terminated sandbox then costs its entry member no round trip of its
// own to the directory, and no moment passes in which the sandbox is
// gone but still placed. The Store reports it with DeletesPlacement.
func WithPlacements(key func(id string) string) Option {
	return func(s *Store) { s.placementKey = key }
}

// DeletesPlacement reports whether Delete removes the sandbox's
// placement too (WithPlacements): see sandbox.PlacementDeleter.
func (s *Store) DeletesPlacement() bool { return s.placementKey != nil }

// New returns a store on client, which it takes over: Close closes it.
func New(client goredis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client, prefix: DefaultPrefix}
	s.pipe = &pipeline{client: client, max: DefaultPipelines}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

func (s *Store) journalKey(id string) string { return s.prefix + "journal:" + id }
func (s *Store) baseKey(id string) string    { return s.prefix + "base:" + id }
func (s *Store) metaKey() string             { return s.prefix + "meta" }

// check fails fast on a closed store or a done context.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return sandbox.ErrClosed
	}
	return ctx.Err()
}

// wrap annotates err, mapping a closed client to sandbox.ErrClosed.
func wrap(op, id string, err error) error {
	if errors.Is(err, goredis.ErrClosed) {
		err = sandbox.ErrClosed
	}
	if id == "" {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return fmt.Errorf("redis: %s %s: %w", op, id, err)
}

// Append implements sandbox.Store.
func (s *Store) Append(ctx context.Context, id string, e sandbox.Entry) (uint64, error) {
	if id == "" {
		return 0, ErrEmptyID
	}
	if err := s.check(ctx); err != nil {
		return 0, wrap("append", id, err)
	}
	b, err := codec.Encode(e)
	if err != nil {
		return 0, wrap("append", id, err)
	}
	var n int64
	if s.pipe != nil {
		c := &appendCall{keys: []string{s.journalKey(id), s.baseKey(id)}, payload: b, seq: e.Seq}
		s.pipe.do(c)
		n, err = c.n, c.err
	} else {
		n, err = appendScript.Run(ctx, s.client, []string{s.journalKey(id), s.baseKey(id)}, b, e.Seq).Int64()
	}
	if err != nil {
		return 0, wrap("append", id, err)
	}
	if n < 0 {
		return 0, wrap("append", id, fmt.Errorf("%w: got %d", sandbox.ErrConflict, e.Seq))
	}
	return uint64(n), nil
}

// Load implements sandbox.Store.
func (s *Store) Load(ctx context.Context, id string) ([]sandbox.Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, wrap("load", id, err)
	}
	raw, err := s.client.LRange(ctx, s.journalKey(id), 0, -1).Result()
	if err != nil {
		return nil, wrap("load", id, err)
	}
	var (
		out  []sandbox.Entry
		base uint64
	)
	for i, r := range raw {
		if i == 0 {
			if seq, ok := codec.SnapshotSeq([]byte(r)); ok {
				base = seq - 1
			}
		}
		e, err := codec.Decode(base+uint64(i+1), []byte(r))
		if err != nil {
			return nil, wrap("load", id, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// PutSnapshot implements sandbox.Snapshotter, in one script.
func (s *Store) PutSnapshot(ctx context.Context, id string, snap sandbox.Entry) error {
	if id == "" {
		return ErrEmptyID
	}
	if err := s.check(ctx); err != nil {
		return wrap("snapshot", id, err)
	}
	snap.Snapshot = true
	b, err := codec.Encode(snap)
	if err != nil {
		return wrap("snapshot", id, err)
	}
	n, err := snapshotScript.Run(ctx, s.client, []string{s.journalKey(id), s.baseKey(id)}, b, snap.Seq).Int64()
	if err != nil {
		return wrap("snapshot", id, err)
	}
	if n < 0 {
		return wrap("snapshot", id, fmt.Errorf("%w: snapshot at %d is not the journal's last entry", sandbox.ErrConflict, snap.Seq))
	}
	return nil
}

// Truncate implements sandbox.Store.
func (s *Store) Truncate(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return wrap("truncate", id, err)
	}
	if err := s.client.Del(ctx, s.journalKey(id), s.baseKey(id)).Err(); err != nil {
		return wrap("truncate", id, err)
	}
	return nil
}

// PutMeta implements sandbox.Store.
func (s *Store) PutMeta(ctx context.Context, id string, meta []byte) error {
	if id == "" {
		return ErrEmptyID
	}
	if err := s.check(ctx); err != nil {
		return wrap("put meta", id, err)
	}
	if err := s.client.HSet(ctx, s.metaKey(), id, meta).Err(); err != nil {
		return wrap("put meta", id, err)
	}
	return nil
}

// CreateMeta implements sandbox.MetaCreator: one HSETNX.
func (s *Store) CreateMeta(ctx context.Context, id string, meta []byte) (bool, error) {
	if id == "" {
		return false, ErrEmptyID
	}
	if err := s.check(ctx); err != nil {
		return false, wrap("create meta", id, err)
	}
	created, err := s.client.HSetNX(ctx, s.metaKey(), id, meta).Result()
	if err != nil {
		return false, wrap("create meta", id, err)
	}
	return created, nil
}

// GetMeta implements sandbox.Store.
func (s *Store) GetMeta(ctx context.Context, id string) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, wrap("get meta", id, err)
	}
	b, err := s.client.HGet(ctx, s.metaKey(), id).Bytes()
	if errors.Is(err, goredis.Nil) {
		err = sandbox.ErrNotFound
	}
	if err != nil {
		return nil, wrap("get meta", id, err)
	}
	return b, nil
}

// Delete implements sandbox.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return wrap("delete", id, err)
	}
	_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, s.journalKey(id), s.baseKey(id))
		p.HDel(ctx, s.metaKey(), id)
		if s.placementKey != nil {
			p.Del(ctx, s.placementKey(id))
		}
		return nil
	})
	if err != nil {
		return wrap("delete", id, err)
	}
	return nil
}

// List implements sandbox.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, wrap("list", "", err)
	}
	ids, err := s.client.HKeys(ctx, s.metaKey()).Result()
	if err != nil {
		return nil, wrap("list", "", err)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}

// Close implements sandbox.Store: it closes the client.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.client.Close()
}
