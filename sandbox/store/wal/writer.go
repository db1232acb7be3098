package wal

import (
	"runtime"
	"slices"
	"time"
)

// batch is records written together: one write(2) at off in seg.
type batch struct {
	seg  *segment
	off  int64
	buf  []byte
	done chan struct{} // closed once written and, in SyncAlways mode, synced
	err  error         // set before done closes
}

func newBatch(seg *segment, off int64) *batch {
	return &batch{seg: seg, off: off, done: make(chan struct{})}
}

// wait returns once b is acknowledged, with its error.
func (b *batch) wait() error {
	if b == nil {
		return nil
	}
	<-b.done
	return b.err
}

// acknowledged reports whether b was acknowledged (nil is).
func (b *batch) acknowledged() bool {
	if b == nil {
		return true
	}
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

func (b *batch) finish(err error) {
	b.err = err
	close(b.done)
}

// writeLoop is the writer: it takes what accumulated (sealed batches
// and the open one, which it replaces) and writes it, one write(2) per
// batch, then syncs it and acknowledges it (SyncAlways: group commit,
// the next group filling while this one syncs) or acknowledges it
// (SyncInterval). It leaves when the store is closed and everything
// accepted was written.
func (s *Store) writeLoop() {
	defer s.wg.Done()
	defer close(s.writerDone)
	var taken int64 // records added when the writer last took a group
	busy := false   // whether that group had more than one record
	for {
		s.mu.Lock()
		for len(s.sealed) == 0 && len(s.open.buf) == 0 && !s.closed {
			s.work.Wait()
		}
		if busy && !s.closed {
			// Under load, let the goroutines ready to run append first:
			// they are executions about to append, and joining this
			// group spares them a write and a sync of their own (at
			// 6,000 appends/s, 2.2 → 2.9 records per sync). Not after a
			// group of one record (a lone appender, and most groups of
			// --journal-sync interval, whose writes wait for nothing):
			// the yield wakes an idle thread to run the writer again,
			// 45 µs an append on this machine.
			s.mu.Unlock()
			runtime.Gosched()
			s.mu.Lock()
		}
		batches := s.sealed
		s.sealed = nil
		n := s.records.Load()
		busy = n-taken > 1 // the group has more than one record
		taken = n
		if len(s.open.buf) > 0 {
			batches = append(batches, s.open)
			h := s.head()
			s.open = newBatch(h, h.size)
		}
		failed, closed := s.failed, s.closed
		s.mu.Unlock()
		if len(batches) == 0 && closed {
			return
		}
		if failed != nil {
			for _, b := range batches {
				b.finish(failed)
			}
			continue
		}
		var written []*segment
		for i, b := range batches {
			if err := s.write(b); err != nil {
				err = s.fail(err)
				for _, b := range batches[i:] {
					b.finish(err)
				}
				batches = batches[:i]
				break
			}
			if !slices.Contains(written, b.seg) {
				written = append(written, b.seg)
			}
		}
		s.syncMu.Lock()
		for _, seg := range written {
			if !slices.Contains(s.dirty, seg) {
				s.dirty = append(s.dirty, seg)
			}
		}
		s.syncMu.Unlock()
		if s.cfg.Sync == SyncAlways {
			// Sync before taking the next group: what arrives meanwhile
			// gathers in the open batch and goes out in one write(2)
			// after this sync. Writing each record as it came, while
			// the previous group synced, cost a write(2) per record (at
			// 6,000 appends/s: 5,800 writes and 1,850 syncs a second).
			_ = s.syncOnce(batches)
		} else {
			for _, b := range batches {
				b.finish(nil)
			}
		}
	}
}

// write writes b, creating its segment's file first if needed.
func (s *Store) write(b *batch) error {
	f := b.seg.f.Load()
	if f == nil {
		var err error
		if f, err = b.seg.create(s.dir); err != nil {
			return err
		}
	}
	if prev := s.writing; prev != b.seg {
		if prev != nil {
			prev.trim() // the writer has moved on: it writes there no more
		}
		s.writing = b.seg
	}
	end := b.off + int64(len(b.buf))
	if s.prealloc {
		s.prealloc = b.seg.reserve(f, end, min(preallocStep, s.cfg.SegmentSize))
	}
	b.seg.written = max(b.seg.written, end)
	_, err := f.WriteAt(b.buf, b.off)
	s.writes.Add(1)
	b.buf = nil
	return err
}

// syncLoop is the syncer of SyncInterval mode: it syncs every
// Config.SyncInterval (in SyncAlways mode the writer syncs each group
// itself). When the writer has left (Close), it syncs one last time and
// leaves.
func (s *Store) syncLoop() {
	defer s.wg.Done()
	var tick <-chan time.Time
	if s.cfg.Sync == SyncInterval {
		t := time.NewTicker(s.cfg.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
		case <-s.writerDone:
			s.closeErr = s.syncOnce(nil)
			return
		}
		_ = s.syncOnce(nil)
	}
}

// syncOnce syncs the segments written since the last sync and
// acknowledges batches, written before it (SyncAlways).
func (s *Store) syncOnce(batches []*batch) error {
	// Hold reclaim so that the compactor does not close a segment
	// under the sync (it drops a removed segment from dirty first).
	s.reclaim.RLock()
	defer s.reclaim.RUnlock()
	s.syncMu.Lock()
	dirty := s.dirty
	s.dirty = nil
	s.syncMu.Unlock()
	var err error
	if err = s.failure(); err == nil {
		for _, seg := range dirty {
			s.syncs.Add(1)
			if e := datasync(seg.f.Load()); e != nil {
				err = s.fail(e)
				break
			}
		}
	}
	for _, b := range batches {
		b.finish(err)
	}
	return err
}
