package wal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// recover opens the directory's segments in order and replays them into
// the index. A torn or corrupt record ends the log there: its segment is
// cut and later segments are removed.
func (s *Store) recover() error {
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	var nums []uint32
	for _, e := range names {
		if n, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			return fmt.Errorf("%w: %s: segment %s is missing", ErrCorrupt, s.dir, segmentName(nums[i-1]+1))
		}
	}
	for i, num := range nums {
		seg := &segment{num: num}
		f, err := os.OpenFile(filepath.Join(s.dir, segmentName(num)), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		seg.f.Store(f)
		s.segs = append(s.segs, seg)
		end, err := s.replay(seg, f)
		if err != nil {
			return err
		}
		seg.written = seg.size
		if fi, err := f.Stat(); err == nil {
			seg.alloc = fi.Size() // with what was preallocated
		}
		if end < 0 {
			continue
		}
		// The log ends at end: cut the segment, drop the ones after it.
		s.log.Warn("journal log torn: cut at the first bad record", "segment", segmentName(num), "offset", end,
			"later_segments_removed", len(nums)-i-1)
		if end < headerSize {
			if _, err := f.WriteAt(magic[:], 0); err != nil {
				return fmt.Errorf("wal: repair %s: %w", segmentName(num), err)
			}
			end = headerSize
		}
		seg.size, seg.alloc, seg.written = end, end, end
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("wal: repair %s: %w", segmentName(num), err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("wal: repair %s: %w", segmentName(num), err)
		}
		for _, later := range nums[i+1:] {
			if err := os.Remove(filepath.Join(s.dir, segmentName(later))); err != nil {
				return fmt.Errorf("wal: repair: %w", err)
			}
		}
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("wal: repair: %w", err)
		}
		break
	}
	for id, bx := range s.boxes {
		if !bx.hasMeta() && len(bx.entries) == 0 {
			delete(s.boxes, id) // truncated, never described
			continue
		}
		for i, l := range bx.entries {
			if l.n == 0 {
				return fmt.Errorf("%w: %s: the journal of %q has no entry %d", ErrCorrupt, s.dir, id, bx.base+uint64(i)+1)
			}
		}
	}
	return nil
}

// replay reads seg's records from f into the index, and returns -1 when
// they end cleanly (at the end of the file, or at a frame header of
// zeros: the space preallocate gave it), else the offset of the first
// torn or corrupt record (0 for a segment whose header was never
// written). It reads the records as they come, not the preallocated
// space after them.
func (s *Store) replay(seg *segment, f *os.File) (int64, error) {
	r := bufio.NewReaderSize(f, 1<<20)
	var head [headerSize]byte
	if n, err := io.ReadFull(r, head[:]); err != nil || head != magic {
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return 0, fmt.Errorf("wal: read %s: %w", segmentName(seg.num), err)
		}
		if n == len(head) && slices.ContainsFunc(head[:], func(b byte) bool { return b != 0 }) {
			return 0, fmt.Errorf("%w: %s is not a journal segment", ErrCorrupt, filepath.Join(s.dir, segmentName(seg.num)))
		}
		return 0, nil // created, header not yet written
	}
	pos := headerSize
	seg.size = pos
	var (
		frame [frameHeader]byte
		body  []byte
	)
	for {
		if _, err := io.ReadFull(r, frame[:]); err != nil {
			switch err {
			case io.EOF:
				return -1, nil
			case io.ErrUnexpectedEOF:
				return pos, nil
			}
			return 0, fmt.Errorf("wal: read %s: %w", segmentName(seg.num), err)
		}
		if frame == [frameHeader]byte{} {
			return -1, nil // preallocated: nothing was written from here
		}
		n := int(binary.LittleEndian.Uint32(frame[:]))
		if n == 0 || n > MaxRecordSize {
			return pos, nil
		}
		if cap(body) < n {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return pos, nil
			}
			return 0, fmt.Errorf("wal: read %s: %w", segmentName(seg.num), err)
		}
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(frame[4:]) {
			return pos, nil
		}
		rec, err := decodeBody(body)
		if err != nil {
			return pos, nil
		}
		s.apply(rec, loc{seg: seg.num, off: uint32(pos), n: uint32(frameHeader + n)})
		pos += int64(frameHeader + n)
		seg.size = pos
	}
}

// apply replays one record. An entry whose sequence number is already
// known replaces it: the compactor writes live entries again, at the
// head of the log. So does a snapshot, which may thus come after entries
// that follow it (moved before it was): it kills the records up to its
// sequence number only.
func (s *Store) apply(r record, l loc) {
	seg := s.segment(l.seg)
	bx := s.boxes[r.id]
	switch r.kind {
	case kindEntry, kindMeta, kindSnapshot:
		if bx == nil {
			bx = &box{}
			s.boxes[r.id] = bx
		}
		seg.live += int64(l.n)
	}
	switch r.kind {
	case kindEntry:
		if r.seq <= bx.base { // replaced by a snapshot
			s.dead(l)
			return
		}
		i := int(r.seq - 1 - bx.base)
		if i >= len(bx.entries) {
			bx.entries = append(bx.entries, make([]loc, i+1-len(bx.entries))...)
		}
		s.dead(bx.entries[i])
		bx.entries[i] = l
	case kindSnapshot:
		if r.seq <= bx.base { // an older snapshot
			s.dead(l)
			return
		}
		// The records after the snapshot start at keep.
		keep := min(int(r.seq-bx.base), len(bx.entries))
		for _, e := range bx.entries[:keep] {
			s.dead(e)
		}
		bx.entries = append([]loc{l}, bx.entries[keep:]...)
		bx.base = r.seq - 1
	case kindMeta:
		s.dead(bx.metaLoc)
		bx.metaLoc = l
	case kindTruncate:
		if bx != nil {
			for _, e := range bx.entries {
				s.dead(e)
			}
			bx.entries, bx.base = nil, 0
		}
	case kindDelete:
		if bx != nil {
			s.dead(bx.metaLoc)
			for _, e := range bx.entries {
				s.dead(e)
			}
			delete(s.boxes, r.id)
		}
	}
}
