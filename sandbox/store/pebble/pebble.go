package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"

	pdb "github.com/cockroachdb/pebble/v2"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/internal/codec"
)

// ErrBadID reports an empty id or one with a 0x00 byte.
var ErrBadID = errors.New("pebble: sandbox id empty or with a NUL byte")

const stripes = 256

// Store is a sandbox.Store in a Pebble database. It is safe for
// concurrent use.
type Store struct {
	db     *pdb.DB
	closed atomic.Bool
	mu     sync.RWMutex // held (read) around each operation, (write) by Close
	seed   maphash.Seed
	locks  [stripes]sync.Mutex
	last   sync.Map // id → uint64: the journal's last sequence number, once read
}

var (
	_ sandbox.Store       = (*Store)(nil)
	_ sandbox.Snapshotter = (*Store)(nil)
)

// Open opens or creates the database in dir.
func Open(dir string) (*Store, error) {
	db, err := pdb.Open(dir, &pdb.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("pebble: open %s: %w", dir, err)
	}
	return &Store{db: db, seed: maphash.MakeSeed()}, nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func metaKey(id string) []byte { return append([]byte{'m'}, id...) }

func journalPrefix(id string) []byte { return append(append([]byte{'j'}, id...), 0) }

func entryKey(id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(journalPrefix(id), seq)
}

func (s *Store) lock(id string) *sync.Mutex {
	return &s.locks[maphash.String(s.seed, id)%stripes]
}

// enter checks ctx and the store; call leave when it returns nil.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed.Load() {
		s.mu.RUnlock()
		return sandbox.ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.mu.RUnlock() }

func checkID(id string) error {
	if id == "" || strings.IndexByte(id, 0) >= 0 {
		return ErrBadID
	}
	return nil
}

// lastSeq returns id's last sequence number; the id's lock is held.
func (s *Store) lastSeq(id string) (uint64, error) {
	if v, ok := s.last.Load(id); ok {
		return v.(uint64), nil
	}
	prefix := journalPrefix(id)
	it, err := s.db.NewIter(&pdb.IterOptions{LowerBound: prefix, UpperBound: append(bytes.Clone(prefix[:len(prefix)-1]), 1)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var last uint64
	if it.Last() {
		last = binary.BigEndian.Uint64(it.Key()[len(prefix):])
	}
	s.last.Store(id, last)
	return last, nil
}

// Append implements sandbox.Store.
func (s *Store) Append(ctx context.Context, id string, e sandbox.Entry) (uint64, error) {
	if err := checkID(id); err != nil {
		return 0, err
	}
	if err := s.enter(ctx); err != nil {
		return 0, fmt.Errorf("pebble: append %s: %w", id, err)
	}
	defer s.leave()
	b, err := codec.Encode(e)
	if err != nil {
		return 0, fmt.Errorf("pebble: append %s: %w", id, err)
	}
	l := s.lock(id)
	l.Lock()
	defer l.Unlock()
	last, err := s.lastSeq(id)
	if err != nil {
		return 0, fmt.Errorf("pebble: append %s: %w", id, err)
	}
	if e.Seq != 0 && e.Seq != last+1 {
		return 0, fmt.Errorf("pebble: append %s: %w: got %d, next is %d", id, sandbox.ErrConflict, e.Seq, last+1)
	}
	if err := s.db.Set(entryKey(id, last+1), b, pdb.Sync); err != nil {
		return 0, fmt.Errorf("pebble: append %s: %w", id, err)
	}
	s.last.Store(id, last+1)
	return last + 1, nil
}

// Load implements sandbox.Store.
func (s *Store) Load(ctx context.Context, id string) ([]sandbox.Entry, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("pebble: load %s: %w", id, err)
	}
	defer s.leave()
	prefix := journalPrefix(id)
	it, err := s.db.NewIter(&pdb.IterOptions{LowerBound: prefix, UpperBound: append(bytes.Clone(prefix[:len(prefix)-1]), 1)})
	if err != nil {
		return nil, fmt.Errorf("pebble: load %s: %w", id, err)
	}
	defer it.Close()
	var out []sandbox.Entry
	for ok := it.First(); ok; ok = it.Next() {
		e, err := codec.Decode(binary.BigEndian.Uint64(it.Key()[len(prefix):]), it.Value())
		if err != nil {
			return nil, fmt.Errorf("pebble: load %s: %w", id, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// deleteJournal deletes id's entries in a synced batch; the id's lock is
// held.
func (s *Store) deleteJournal(id string, also func(*pdb.Batch) error) error {
	prefix := journalPrefix(id)
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(prefix, append(bytes.Clone(prefix[:len(prefix)-1]), 1), nil); err != nil {
		return err
	}
	if also != nil {
		if err := also(b); err != nil {
			return err
		}
	}
	if err := b.Commit(pdb.Sync); err != nil {
		return err
	}
	s.last.Store(id, uint64(0))
	return nil
}

// PutSnapshot implements sandbox.Snapshotter: one synced batch deletes
// the journal's entries and writes the snapshot under its sequence
// number.
func (s *Store) PutSnapshot(ctx context.Context, id string, snap sandbox.Entry) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("pebble: snapshot %s: %w", id, err)
	}
	defer s.leave()
	snap.Snapshot = true
	b, err := codec.Encode(snap)
	if err != nil {
		return fmt.Errorf("pebble: snapshot %s: %w", id, err)
	}
	l := s.lock(id)
	l.Lock()
	defer l.Unlock()
	last, err := s.lastSeq(id)
	if err != nil {
		return fmt.Errorf("pebble: snapshot %s: %w", id, err)
	}
	if snap.Seq == 0 || snap.Seq != last {
		return fmt.Errorf("pebble: snapshot %s: %w: snapshot at %d, journal at %d", id, sandbox.ErrConflict, snap.Seq, last)
	}
	err = s.deleteJournal(id, func(batch *pdb.Batch) error { return batch.Set(entryKey(id, last), b, nil) })
	s.last.Store(id, last) // deleteJournal reset it; a failed batch changed nothing
	if err != nil {
		return fmt.Errorf("pebble: snapshot %s: %w", id, err)
	}
	return nil
}

// Truncate implements sandbox.Store.
func (s *Store) Truncate(ctx context.Context, id string) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("pebble: truncate %s: %w", id, err)
	}
	defer s.leave()
	l := s.lock(id)
	l.Lock()
	defer l.Unlock()
	if err := s.deleteJournal(id, nil); err != nil {
		return fmt.Errorf("pebble: truncate %s: %w", id, err)
	}
	return nil
}

// PutMeta implements sandbox.Store.
func (s *Store) PutMeta(ctx context.Context, id string, meta []byte) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("pebble: put meta %s: %w", id, err)
	}
	defer s.leave()
	if err := s.db.Set(metaKey(id), meta, pdb.Sync); err != nil {
		return fmt.Errorf("pebble: put meta %s: %w", id, err)
	}
	return nil
}

// GetMeta implements sandbox.Store.
func (s *Store) GetMeta(ctx context.Context, id string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("pebble: get meta %s: %w", id, err)
	}
	defer s.leave()
	v, closer, err := s.db.Get(metaKey(id))
	if errors.Is(err, pdb.ErrNotFound) {
		return nil, fmt.Errorf("pebble: get meta %s: %w", id, sandbox.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pebble: get meta %s: %w", id, err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// Delete implements sandbox.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("pebble: delete %s: %w", id, err)
	}
	defer s.leave()
	l := s.lock(id)
	l.Lock()
	defer l.Unlock()
	err := s.deleteJournal(id, func(b *pdb.Batch) error { return b.Delete(metaKey(id), nil) })
	if err != nil {
		return fmt.Errorf("pebble: delete %s: %w", id, err)
	}
	return nil
}

// List implements sandbox.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("pebble: list: %w", err)
	}
	defer s.leave()
	it, err := s.db.NewIter(&pdb.IterOptions{LowerBound: []byte{'m'}, UpperBound: []byte{'n'}})
	if err != nil {
		return nil, fmt.Errorf("pebble: list: %w", err)
	}
	defer it.Close()
	var ids []string
	for ok := it.First(); ok; ok = it.Next() {
		ids = append(ids, string(it.Key()[1:]))
	}
	return ids, nil
}

// Close implements sandbox.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}
