package wal

import (
	"fmt"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/internal/codec"
)

// readGap and readMax shape the reads of a journal: entries of one
// segment less than readGap apart are read together, up to readMax bytes
// at a time.
const (
	readGap = 16 << 10
	readMax = 1 << 20
)

// readEntries reads and decodes the entries at locs (in sequence order,
// from base+1; the first may be a snapshot) from their segments. The
// caller holds Store.reclaim (read).
func readEntries(locs []loc, base uint64, segs map[uint32]*segment) ([]sandbox.Entry, error) {
	out := make([]sandbox.Entry, 0, len(locs))
	for i := 0; i < len(locs); {
		first := locs[i]
		end := first.off + first.n
		j := i + 1
		for j < len(locs) && locs[j].seg == first.seg && locs[j].off >= end && locs[j].off-end <= readGap &&
			locs[j].off+locs[j].n-first.off <= readMax {
			end = locs[j].off + locs[j].n
			j++
		}
		seg := segs[first.seg]
		if seg == nil {
			return nil, fmt.Errorf("%w: segment %s is gone", ErrCorrupt, segmentName(first.seg))
		}
		buf := make([]byte, end-first.off)
		if _, err := seg.f.Load().ReadAt(buf, int64(first.off)); err != nil {
			return nil, fmt.Errorf("read %s: %w", segmentName(first.seg), err)
		}
		for k := i; k < j; k++ {
			l := locs[k]
			body, err := checkFrame(buf[l.off-first.off : l.off-first.off+l.n])
			if err != nil {
				return nil, fmt.Errorf("%s at %d: %w", segmentName(l.seg), l.off, err)
			}
			r, err := decodeBody(body)
			seq := base + uint64(k) + 1
			if err != nil || r.seq != seq || r.kind != kindEntry && (r.kind != kindSnapshot || k != 0) {
				return nil, fmt.Errorf("%w: %s at %d is not entry %d", ErrCorrupt, segmentName(l.seg), l.off, seq)
			}
			e, err := codec.Decode(r.seq, r.payload)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		i = j
	}
	return out, nil
}
