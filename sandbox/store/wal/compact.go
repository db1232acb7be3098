package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/otpbox/otpbox/sandbox"
)

// compactChunk is how many records of a segment the compactor checks and
// rewrites per hold of the store's lock, so that writers get through.
const compactChunk = 1024

// compactLoop runs Compact whenever the log starts a new segment, until
// the store closes (a compaction under way then ends with ErrClosed).
func (s *Store) compactLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.compactKick:
			if err := s.Compact(context.Background()); err != nil && !errors.Is(err, sandbox.ErrClosed) {
				s.log.Warn("journal compaction", "dir", s.dir, "error", err)
			}
		case <-s.stop:
			return
		}
	}
}

// Compact reclaims the oldest segments while it pays (see the package
// doc) and returns when there is nothing more to reclaim. The store
// compacts by itself whenever the log starts a new segment; Compact is
// for tests and tools. It is safe to call concurrently with everything.
func (s *Store) Compact(ctx context.Context) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	for ctx.Err() == nil {
		done, err := s.compactOldest()
		if err != nil || done {
			return err
		}
	}
	return ctx.Err()
}

// compactOldest reclaims the oldest segment if it is worth it; done
// reports that it was not.
func (s *Store) compactOldest() (done bool, err error) {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return true, err
	}
	if len(s.segs) < 2 {
		s.mu.Unlock()
		return true, nil
	}
	old := s.segs[0]
	var total, live int64
	for _, seg := range s.segs {
		total += seg.size
		live += seg.live
	}
	worth := old.live == 0 ||
		float64(total) > s.cfg.CompactRatio*float64(live) && total-live > 2*s.cfg.SegmentSize
	last := old.last
	s.mu.Unlock()
	if !worth {
		return true, nil
	}
	// The segment is no longer the head: wait until all of it is on
	// disk, then move its live records to the head.
	if err := last.wait(); err != nil {
		return true, err
	}
	if err := s.rewrite(old); err != nil {
		return true, err
	}
	return false, s.remove(old)
}

// rewrite appends the live records of seg again at the head of the log
// and returns once they are durable.
func (s *Store) rewrite(seg *segment) error {
	s.mu.Lock()
	liveNow := seg.live
	s.mu.Unlock()
	if liveNow == 0 {
		return nil
	}
	s.reclaim.RLock()
	data, err := io.ReadAll(io.NewSectionReader(seg.f.Load(), 0, 1<<62))
	s.reclaim.RUnlock()
	if err != nil {
		return fmt.Errorf("wal: compact %s: %w", segmentName(seg.num), err)
	}
	var (
		last    *batch
		touched []*segment
		moved   int
	)
	pos := headerSize
	for pos < int64(len(data)) {
		s.mu.Lock()
		if err := s.usable(); err != nil {
			s.mu.Unlock()
			return err
		}
		for range compactChunk {
			if pos >= int64(len(data)) {
				break
			}
			var (
				body []byte
				n    int64
			)
			if len(data)-int(pos) >= frameHeader {
				n = int64(binary.LittleEndian.Uint32(data[pos:]))
			}
			if n == 0 || pos+frameHeader+n > int64(len(data)) {
				err = fmt.Errorf("%w: frame past the end", ErrCorrupt)
			} else {
				body, err = checkFrame(data[pos : pos+frameHeader+n])
			}
			if err != nil {
				s.mu.Unlock()
				return fmt.Errorf("wal: compact %s at %d: %w", segmentName(seg.num), pos, err)
			}
			r, err := decodeBody(body)
			if err != nil {
				s.mu.Unlock()
				return fmt.Errorf("wal: compact %s at %d: %w", segmentName(seg.num), pos, err)
			}
			at := loc{seg: seg.num, off: uint32(pos), n: uint32(frameHeader + n)}
			pos += frameHeader + n
			b, err := s.move(r, at)
			if err != nil {
				s.mu.Unlock()
				return fmt.Errorf("wal: compact %s: %w", segmentName(seg.num), err)
			}
			if b != nil {
				last = b
				moved++
				if !slices.Contains(touched, b.seg) {
					touched = append(touched, b.seg)
				}
			}
		}
		s.mu.Unlock()
	}
	if err := last.wait(); err != nil {
		return err
	}
	if s.cfg.Sync == SyncInterval {
		// Acknowledged after the write only: sync before the originals go.
		for _, t := range touched {
			if err := datasync(t.f.Load()); err != nil {
				return s.fail(err)
			}
		}
	}
	s.log.Debug("journal segment compacted", "segment", segmentName(seg.num), "records_moved", moved)
	return nil
}

// move writes the record r found at at again, at the head, if it is still
// live there, and returns its batch (nil when it was dead). mu is held.
func (s *Store) move(r record, at loc) (*batch, error) {
	bx := s.boxes[r.id]
	if bx == nil {
		return nil, nil
	}
	switch r.kind {
	case kindEntry, kindSnapshot:
		if r.seq <= bx.base {
			return nil, nil
		}
		i := int(r.seq - 1 - bx.base)
		if i >= len(bx.entries) || bx.entries[i] != at {
			return nil, nil
		}
		l, b, err := s.add(r.kind, r.id, r.seq, r.payload)
		if err != nil {
			return nil, err
		}
		s.dead(at)
		bx.entries[i], bx.pending = l, b
		return b, nil
	case kindMeta:
		if bx.metaLoc != at {
			return nil, nil
		}
		l, b, err := s.add(kindMeta, r.id, 0, r.payload)
		if err != nil {
			return nil, err
		}
		s.dead(at)
		bx.metaLoc, bx.pending = l, b
		return b, nil
	}
	return nil, nil // tombstones: nothing older than the oldest segment to kill
}

// remove deletes seg, the oldest segment, once no record in it is live.
func (s *Store) remove(seg *segment) error {
	s.reclaim.Lock()
	s.mu.Lock()
	if s.segs[0] != seg || seg.live != 0 {
		live := seg.live
		s.mu.Unlock()
		s.reclaim.Unlock()
		return fmt.Errorf("wal: compact %s: %d live bytes left", segmentName(seg.num), live)
	}
	s.segs = s.segs[1:]
	s.syncMu.Lock()
	s.dirty = slices.DeleteFunc(s.dirty, func(d *segment) bool { return d == seg })
	s.syncMu.Unlock()
	s.mu.Unlock()
	f := seg.f.Load()
	s.reclaim.Unlock()
	if f != nil {
		_ = f.Close()
	}
	if err := os.Remove(filepath.Join(s.dir, segmentName(seg.num))); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("wal: compact: %w", err)
	}
	return syncDir(s.dir)
}
