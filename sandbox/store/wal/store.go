package wal

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/internal/codec"
)

// Store is a sandbox.Store in a segmented log; see the package doc. It is
// safe for concurrent use. Open starts its goroutines (writer, syncer,
// compactor); Close stops them.
//
// Lock order: reclaim before mu before syncMu.
type Store struct {
	dir  string
	cfg  Config
	log  *slog.Logger
	lock *os.File // the directory's lock, held until Close

	// reclaim is held (read) while segment files are read, and (write)
	// while the compactor removes a segment.
	reclaim sync.RWMutex

	mu     sync.Mutex // protects the fields below
	work   *sync.Cond // on mu: the writer waits for records
	closed bool
	failed error // set once a write or sync failed: every call fails with it
	boxes  map[string]*box
	segs   []*segment // oldest first; the last is the head, where records go
	open   *batch     // the batch that new records join
	sealed []*batch   // batches of finished segments, waiting for the writer

	syncMu sync.Mutex // protects dirty
	dirty  []*segment // written since the last sync

	compactMu   sync.Mutex // one compaction at a time
	compactKick chan struct{}

	records, writes, syncs atomic.Int64 // for Stats

	prealloc bool     // the writer preallocates segments (until the filesystem refuses)
	writing  *segment // the segment the writer wrote last

	stop       chan struct{} // closed by Close
	writerDone chan struct{} // closed when the writer wrote everything and left
	wg         sync.WaitGroup
	closeErr   error // the final sync's error, for Close
}

var (
	_ sandbox.Store       = (*Store)(nil)
	_ sandbox.Snapshotter = (*Store)(nil)
)

// box is one sandbox in the index.
type box struct {
	metaLoc loc    // where the metadata's record is (read from there); n == 0 without metadata
	entries []loc  // the journal's records, in order: entries[i] has sequence number base+i+1
	base    uint64 // the sequence numbers before entries[0]: a snapshot's, less one
	// pending is the latest batch with a record of this sandbox: reads
	// wait for it, so they never return what is not durable.
	pending *batch
}

func (b *box) hasMeta() bool { return b.metaLoc.n != 0 }

// last is the sequence number of the journal's last record.
func (b *box) last() uint64 { return b.base + uint64(len(b.entries)) }

// loc is where a record lies: segment number, offset, frame size.
type loc struct{ seg, off, n uint32 }

// Open opens or creates the store in dir (created 0750 if missing), takes
// its lock, and replays its log. It fails with a *LockedError when
// another process has dir open.
func Open(dir string, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	lf, err := lock(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir: dir, cfg: cfg, log: cfg.Logger, lock: lf,
		boxes:       make(map[string]*box),
		prealloc:    true,
		compactKick: make(chan struct{}, 1),
		stop:        make(chan struct{}),
		writerDone:  make(chan struct{}),
	}
	s.work = sync.NewCond(&s.mu)
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if len(s.segs) == 0 {
		s.segs = append(s.segs, &segment{num: 1, size: headerSize})
	}
	head := s.head()
	s.open = newBatch(head, head.size)
	s.wg.Add(3)
	go s.writeLoop()
	go s.syncLoop()
	go s.compactLoop()
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) head() *segment { return s.segs[len(s.segs)-1] }

// segment returns the segment numbered num, or nil when it was removed.
// mu must be held.
func (s *Store) segment(num uint32) *segment {
	if len(s.segs) == 0 || num < s.segs[0].num {
		return nil
	}
	i := int(num - s.segs[0].num)
	if i >= len(s.segs) {
		return nil
	}
	return s.segs[i]
}

// usable reports why the store cannot be used, or nil. mu must be held.
func (s *Store) usable() error {
	if s.closed {
		return sandbox.ErrClosed
	}
	return s.failed
}

// add appends a record to the open batch (starting a new segment first
// when the head is full) and returns where it lies and its batch. A
// tombstone (truncation, deletion) is dead from the start. mu must be
// held.
func (s *Store) add(k kind, id string, seq uint64, payload []byte) (loc, *batch, error) {
	n := frameSize(k, id, seq, len(payload))
	if n > MaxRecordSize {
		return loc{}, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	if h := s.head(); h.size > headerSize && h.size+int64(n) > s.cfg.SegmentSize {
		s.rotate()
	}
	h := s.head()
	b := s.open
	l := loc{seg: h.num, off: uint32(h.size), n: uint32(n)}
	b.buf = appendFrame(b.buf, k, id, seq, payload)
	h.size += int64(n)
	h.last = b
	s.records.Add(1)
	if k != kindTruncate && k != kindDelete {
		h.live += int64(n)
	}
	s.work.Signal()
	return l, b, nil
}

// rotate starts a new head segment. mu must be held.
func (s *Store) rotate() {
	if len(s.open.buf) > 0 {
		s.sealed = append(s.sealed, s.open)
	}
	h := &segment{num: s.head().num + 1, size: headerSize}
	s.segs = append(s.segs, h)
	s.open = newBatch(h, h.size)
	select {
	case s.compactKick <- struct{}{}:
	default:
	}
}

// dead marks the record at l dead. mu must be held.
func (s *Store) dead(l loc) {
	if seg := s.segment(l.seg); seg != nil && l.n != 0 {
		seg.live -= int64(l.n)
	}
}

func wrap(op, id string, err error) error {
	if id == "" {
		return fmt.Errorf("wal: %s: %w", op, err)
	}
	return fmt.Errorf("wal: %s %s: %w", op, id, err)
}

// Append implements sandbox.Store. It returns once the entry is durable
// (SyncAlways) or written (SyncInterval); a done ctx is only checked
// before the entry joins the log.
func (s *Store) Append(ctx context.Context, id string, e sandbox.Entry) (uint64, error) {
	if id == "" {
		return 0, ErrEmptyID
	}
	if err := ctx.Err(); err != nil {
		return 0, wrap("append", id, err)
	}
	payload, err := codec.Encode(e)
	if err != nil {
		return 0, wrap("append", id, err)
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return 0, wrap("append", id, err)
	}
	bx := s.boxes[id]
	var next uint64 = 1
	if bx != nil {
		next = bx.last() + 1
	}
	if e.Seq != 0 && e.Seq != next {
		s.mu.Unlock()
		return 0, wrap("append", id, fmt.Errorf("%w: got %d, next is %d", sandbox.ErrConflict, e.Seq, next))
	}
	l, b, err := s.add(kindEntry, id, next, payload)
	if err != nil {
		s.mu.Unlock()
		return 0, wrap("append", id, err)
	}
	if bx == nil {
		bx = &box{}
		s.boxes[id] = bx
	}
	bx.entries = append(bx.entries, l)
	bx.pending = b
	s.mu.Unlock()
	if err := b.wait(); err != nil {
		return 0, wrap("append", id, err)
	}
	return next, nil
}

// Load implements sandbox.Store.
func (s *Store) Load(ctx context.Context, id string) ([]sandbox.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("load", id, err)
	}
	for {
		// Wait for the latest write without holding reclaim (a sync
		// takes it), then read if no newer write came meanwhile.
		s.mu.Lock()
		err := s.usable()
		var b *batch
		if bx := s.boxes[id]; bx != nil {
			b = bx.pending
		}
		s.mu.Unlock()
		if err == nil {
			err = b.wait()
		}
		if err != nil {
			return nil, wrap("load", id, err)
		}
		es, ok, err := s.read(id)
		if err != nil {
			return nil, wrap("load", id, err)
		}
		if ok {
			return es, nil
		}
	}
}

// read reads id's entries if all of them are acknowledged; ok is false
// when a write is still pending.
func (s *Store) read(id string) (es []sandbox.Entry, ok bool, err error) {
	s.reclaim.RLock()
	defer s.reclaim.RUnlock()
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return nil, false, err
	}
	bx := s.boxes[id]
	if bx == nil || len(bx.entries) == 0 {
		s.mu.Unlock()
		return nil, true, nil
	}
	if !bx.pending.acknowledged() {
		s.mu.Unlock()
		return nil, false, nil
	}
	locs, base := slices.Clone(bx.entries), bx.base
	segs := make(map[uint32]*segment)
	for _, l := range locs {
		if segs[l.seg] == nil {
			segs[l.seg] = s.segment(l.seg)
		}
	}
	s.mu.Unlock()
	es, err = readEntries(locs, base, segs)
	return es, err == nil, err
}

// PutSnapshot implements sandbox.Snapshotter: the snapshot is one record
// that replaces the journal's records, durable like an Append; the
// records it replaced are dead, for the compactor to reclaim.
func (s *Store) PutSnapshot(ctx context.Context, id string, snap sandbox.Entry) error {
	if id == "" {
		return ErrEmptyID
	}
	if err := ctx.Err(); err != nil {
		return wrap("snapshot", id, err)
	}
	snap.Snapshot = true
	payload, err := codec.Encode(snap)
	if err != nil {
		return wrap("snapshot", id, err)
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return wrap("snapshot", id, err)
	}
	bx := s.boxes[id]
	var last uint64
	if bx != nil {
		last = bx.last()
	}
	if snap.Seq == 0 || snap.Seq != last {
		s.mu.Unlock()
		return wrap("snapshot", id, fmt.Errorf("%w: snapshot at %d, journal at %d", sandbox.ErrConflict, snap.Seq, last))
	}
	l, b, err := s.add(kindSnapshot, id, snap.Seq, payload)
	if err != nil {
		s.mu.Unlock()
		return wrap("snapshot", id, err)
	}
	for _, e := range bx.entries {
		s.dead(e)
	}
	bx.entries, bx.base, bx.pending = []loc{l}, snap.Seq-1, b
	s.mu.Unlock()
	if err := b.wait(); err != nil {
		return wrap("snapshot", id, err)
	}
	return nil
}

// Truncate implements sandbox.Store.
func (s *Store) Truncate(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return wrap("truncate", id, err)
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return wrap("truncate", id, err)
	}
	bx := s.boxes[id]
	if bx == nil || len(bx.entries) == 0 {
		s.mu.Unlock()
		return nil // nothing live: an older tombstone already covers what is dead
	}
	_, b, err := s.add(kindTruncate, id, 0, nil)
	if err != nil {
		s.mu.Unlock()
		return wrap("truncate", id, err)
	}
	for _, l := range bx.entries {
		s.dead(l)
	}
	bx.entries, bx.base = nil, 0
	bx.pending = b
	if !bx.hasMeta() {
		delete(s.boxes, id)
	}
	s.mu.Unlock()
	if err := b.wait(); err != nil {
		return wrap("truncate", id, err)
	}
	return nil
}

// PutMeta implements sandbox.Store.
func (s *Store) PutMeta(ctx context.Context, id string, meta []byte) error {
	if id == "" {
		return ErrEmptyID
	}
	if err := ctx.Err(); err != nil {
		return wrap("put meta", id, err)
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return wrap("put meta", id, err)
	}
	l, b, err := s.add(kindMeta, id, 0, meta)
	if err != nil {
		s.mu.Unlock()
		return wrap("put meta", id, err)
	}
	bx := s.boxes[id]
	if bx == nil {
		bx = &box{}
		s.boxes[id] = bx
	}
	s.dead(bx.metaLoc)
	bx.metaLoc, bx.pending = l, b
	s.mu.Unlock()
	if err := b.wait(); err != nil {
		return wrap("put meta", id, err)
	}
	return nil
}

// GetMeta implements sandbox.Store.
func (s *Store) GetMeta(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("get meta", id, err)
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return nil, wrap("get meta", id, err)
	}
	var b *batch
	if bx := s.boxes[id]; bx != nil {
		b = bx.pending
	}
	s.mu.Unlock()
	for {
		if err := b.wait(); err != nil {
			return nil, wrap("get meta", id, err)
		}
		meta, next, err := s.readMeta(id)
		switch {
		case err != nil:
			return nil, wrap("get meta", id, err)
		case next == nil:
			return meta, nil
		}
		b = next // a newer write came meanwhile
	}
}

// readMeta reads id's metadata from its record, if it is acknowledged;
// else it returns the batch to wait for.
func (s *Store) readMeta(id string) (meta []byte, pending *batch, err error) {
	s.reclaim.RLock()
	defer s.reclaim.RUnlock()
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	bx := s.boxes[id]
	if bx == nil || !bx.hasMeta() {
		s.mu.Unlock()
		return nil, nil, sandbox.ErrNotFound
	}
	if !bx.pending.acknowledged() {
		s.mu.Unlock()
		return nil, bx.pending, nil
	}
	l := bx.metaLoc
	seg := s.segment(l.seg)
	s.mu.Unlock()
	if seg == nil {
		return nil, nil, fmt.Errorf("%w: segment %s is gone", ErrCorrupt, segmentName(l.seg))
	}
	buf := make([]byte, l.n)
	if _, err := seg.f.Load().ReadAt(buf, int64(l.off)); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", segmentName(l.seg), err)
	}
	body, err := checkFrame(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("%s at %d: %w", segmentName(l.seg), l.off, err)
	}
	r, err := decodeBody(body)
	if err != nil || r.kind != kindMeta || r.id != id {
		return nil, nil, fmt.Errorf("%w: %s at %d is not the metadata of %s", ErrCorrupt, segmentName(l.seg), l.off, id)
	}
	return r.payload, nil, nil
}

// Delete implements sandbox.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return wrap("delete", id, err)
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return wrap("delete", id, err)
	}
	bx := s.boxes[id]
	if bx == nil {
		s.mu.Unlock()
		return nil
	}
	_, b, err := s.add(kindDelete, id, 0, nil)
	if err != nil {
		s.mu.Unlock()
		return wrap("delete", id, err)
	}
	s.dead(bx.metaLoc)
	for _, l := range bx.entries {
		s.dead(l)
	}
	delete(s.boxes, id)
	s.mu.Unlock()
	if err := b.wait(); err != nil {
		return wrap("delete", id, err)
	}
	return nil
}

// List implements sandbox.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("list", "", err)
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return nil, wrap("list", "", err)
	}
	var ids []string
	for id, bx := range s.boxes {
		if bx.hasMeta() {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	slices.Sort(ids)
	return ids, nil
}

// Close implements sandbox.Store: it writes and syncs what was accepted,
// stops the store's goroutines and releases the directory.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.work.Broadcast()
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	for _, seg := range s.segs {
		seg.trim() // the writer left: closed, the files are their records
	}
	s.closeFiles()
	if s.closeErr != nil {
		return fmt.Errorf("wal: close: %w", s.closeErr)
	}
	return nil
}

// closeFiles closes the segments and releases the lock.
func (s *Store) closeFiles() {
	for _, seg := range s.segs {
		if f := seg.f.Load(); f != nil {
			_ = f.Close()
		}
	}
	_ = s.lock.Close()
}

// Stats describes the log.
type Stats struct {
	// Segments is the number of segment files (the head's counted
	// before it is created).
	Segments int
	// Bytes is their total size, LiveBytes the size of their live
	// records.
	Bytes, LiveBytes int64
	// Sandboxes is the number of sandboxes with metadata or entries.
	Sandboxes int
	// Records counts the records added since Open; Writes and Syncs
	// count the write(2) and fdatasync calls that carried them: under
	// concurrent appends, many records share each.
	Records, Writes, Syncs int64
}

// Stats returns the log's figures.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Segments: len(s.segs), Sandboxes: len(s.boxes), Records: s.records.Load(), Writes: s.writes.Load(), Syncs: s.syncs.Load()}
	for _, seg := range s.segs {
		st.Bytes += seg.size
		st.LiveBytes += seg.live
	}
	return st
}

// fail marks the store failed by err, for good. mu must not be held.
func (s *Store) fail(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		s.log.Error("journal store failed: every later write fails until it is reopened", "dir", s.dir, "error", err)
	}
	return s.failed
}

// failure returns the store's failure, or nil.
func (s *Store) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}
