// Package bolt is a sandbox.Store in a bbolt file: the embedded default,
// on local disk, for a single node.
//
// Layout: a top-level bucket "sandboxes" holds one bucket per sandbox id,
// which holds the key "meta" and a bucket "journal" whose keys are
// big-endian sequence numbers (the bucket's own sequence). Every write is
// a bbolt transaction, committed with fsync before the method returns.
package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/internal/codec"
)

var (
	bucketSandboxes = []byte("sandboxes")
	bucketJournal   = []byte("journal")
	keyMeta         = []byte("meta")
)

// ErrEmptyID reports an empty sandbox id.
var ErrEmptyID = errors.New("bolt: empty sandbox id")

// ErrLocked reports a file that another process holds open.
var ErrLocked = errors.New("bolt: file in use")

// Store is a sandbox.Store backed by one bbolt file. It is safe for
// concurrent use; bbolt serializes writers.
type Store struct {
	db *bbolt.DB

	mu      sync.RWMutex // protects closed; held (read) around each transaction
	closed  bool
	writers atomic.Int32 // write transactions in flight
}

var (
	_ sandbox.Store       = (*Store)(nil)
	_ sandbox.Snapshotter = (*Store)(nil)
)

// LockTimeout is how long Open waits for another process to release the
// file lock before failing.
const LockTimeout = time.Second

// MaxBatchDelay bounds how long a write that joined a batch waits for more
// writers before the batch commits.
const MaxBatchDelay = 2 * time.Millisecond

// Open opens or creates the store file at path (mode 0600). Only one
// process may have it open; Open fails with ErrLocked after LockTimeout
// otherwise.
func Open(path string) (*Store, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: LockTimeout})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked by another process (still locked after %v): one node per data directory", ErrLocked, path, LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketSandboxes)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: init %s: %w", path, err)
	}
	db.MaxBatchDelay = MaxBatchDelay
	return &Store{db: db}, nil
}

// view and update run fn in a transaction unless ctx is done or the store
// is closed.
func (s *Store) view(ctx context.Context, fn func(root *bbolt.Bucket) error) error {
	return s.tx(ctx, false, fn)
}

func (s *Store) update(ctx context.Context, fn func(root *bbolt.Bucket) error) error {
	return s.tx(ctx, true, fn)
}

func (s *Store) tx(ctx context.Context, write bool, fn func(root *bbolt.Bucket) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return sandbox.ErrClosed
	}
	run := s.db.View
	if write {
		// A lone writer commits at once; writers that find others in
		// flight join bbolt's batch and share one transaction and one
		// fsync (fn may then run more than once: it only touches tx).
		if s.writers.Add(1) == 1 {
			run = s.db.Update
		} else {
			run = s.db.Batch
		}
		defer s.writers.Add(-1)
	}
	return run(func(tx *bbolt.Tx) error { return fn(tx.Bucket(bucketSandboxes)) })
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// Append implements sandbox.Store.
func (s *Store) Append(ctx context.Context, id string, e sandbox.Entry) (uint64, error) {
	if id == "" {
		return 0, ErrEmptyID
	}
	b, err := codec.Encode(e)
	if err != nil {
		return 0, fmt.Errorf("bolt: append %s: %w", id, err)
	}
	var seq uint64
	err = s.update(ctx, func(root *bbolt.Bucket) error {
		sb, err := root.CreateBucketIfNotExists([]byte(id))
		if err != nil {
			return err
		}
		j, err := sb.CreateBucketIfNotExists(bucketJournal)
		if err != nil {
			return err
		}
		if e.Seq != 0 && e.Seq != j.Sequence()+1 {
			return fmt.Errorf("%w: got %d, next is %d", sandbox.ErrConflict, e.Seq, j.Sequence()+1)
		}
		if seq, err = j.NextSequence(); err != nil {
			return err
		}
		return j.Put(seqKey(seq), b)
	})
	if err != nil {
		return 0, fmt.Errorf("bolt: append %s: %w", id, err)
	}
	return seq, nil
}

// Load implements sandbox.Store.
func (s *Store) Load(ctx context.Context, id string) ([]sandbox.Entry, error) {
	var out []sandbox.Entry
	err := s.view(ctx, func(root *bbolt.Bucket) error {
		sb := root.Bucket([]byte(id))
		if sb == nil {
			return nil
		}
		j := sb.Bucket(bucketJournal)
		if j == nil {
			return nil
		}
		return j.ForEach(func(k, v []byte) error {
			e, err := codec.Decode(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: load %s: %w", id, err)
	}
	return out, nil
}

// PutSnapshot implements sandbox.Snapshotter: the journal's bucket is
// replaced by one holding snap alone, under the same sequence, in one
// transaction.
func (s *Store) PutSnapshot(ctx context.Context, id string, snap sandbox.Entry) error {
	if id == "" {
		return ErrEmptyID
	}
	snap.Snapshot = true
	b, err := codec.Encode(snap)
	if err != nil {
		return fmt.Errorf("bolt: snapshot %s: %w", id, err)
	}
	err = s.update(ctx, func(root *bbolt.Bucket) error {
		var last uint64
		sb := root.Bucket([]byte(id))
		if sb != nil {
			if j := sb.Bucket(bucketJournal); j != nil {
				last = j.Sequence()
			}
		}
		if snap.Seq == 0 || snap.Seq != last {
			return fmt.Errorf("%w: snapshot at %d, journal at %d", sandbox.ErrConflict, snap.Seq, last)
		}
		if err := sb.DeleteBucket(bucketJournal); err != nil {
			return err
		}
		j, err := sb.CreateBucket(bucketJournal)
		if err != nil {
			return err
		}
		if err := j.SetSequence(last); err != nil {
			return err
		}
		return j.Put(seqKey(last), b)
	})
	if err != nil {
		return fmt.Errorf("bolt: snapshot %s: %w", id, err)
	}
	return nil
}

// Truncate implements sandbox.Store.
func (s *Store) Truncate(ctx context.Context, id string) error {
	err := s.update(ctx, func(root *bbolt.Bucket) error {
		sb := root.Bucket([]byte(id))
		if sb == nil || sb.Bucket(bucketJournal) == nil {
			return nil
		}
		return sb.DeleteBucket(bucketJournal)
	})
	if err != nil {
		return fmt.Errorf("bolt: truncate %s: %w", id, err)
	}
	return nil
}

// PutMeta implements sandbox.Store.
func (s *Store) PutMeta(ctx context.Context, id string, meta []byte) error {
	if id == "" {
		return ErrEmptyID
	}
	err := s.update(ctx, func(root *bbolt.Bucket) error {
		sb, err := root.CreateBucketIfNotExists([]byte(id))
		if err != nil {
			return err
		}
		return sb.Put(keyMeta, meta)
	})
	if err != nil {
		return fmt.Errorf("bolt: put meta %s: %w", id, err)
	}
	return nil
}

// GetMeta implements sandbox.Store.
func (s *Store) GetMeta(ctx context.Context, id string) ([]byte, error) {
	var meta []byte
	err := s.view(ctx, func(root *bbolt.Bucket) error {
		if sb := root.Bucket([]byte(id)); sb != nil {
			if v := sb.Get(keyMeta); v != nil {
				meta = append([]byte{}, v...) // v is only valid in the transaction
			}
		}
		if meta == nil {
			return sandbox.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: get meta %s: %w", id, err)
	}
	return meta, nil
}

// Delete implements sandbox.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	err := s.update(ctx, func(root *bbolt.Bucket) error {
		if root.Bucket([]byte(id)) == nil {
			return nil
		}
		return root.DeleteBucket([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("bolt: delete %s: %w", id, err)
	}
	return nil
}

// List implements sandbox.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.view(ctx, func(root *bbolt.Bucket) error {
		return root.ForEachBucket(func(k []byte) error {
			if root.Bucket(k).Get(keyMeta) != nil {
				ids = append(ids, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: list: %w", err)
	}
	return ids, nil // bbolt keeps keys sorted
}

// Close implements sandbox.Store. It waits for running transactions.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

// Path returns the store's file name.
func (s *Store) Path() string { return s.db.Path() }
