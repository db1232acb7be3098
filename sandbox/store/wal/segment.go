package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// magic starts every segment file.
var magic = [8]byte{'O', 'T', 'P', 'B', 'W', 'A', 'L', 1}

const headerSize = int64(len(magic))

// segment is one file of the log.
type segment struct {
	num uint32
	// f is the open file, set by the writer when it creates it (or by
	// Open); nil before the first write.
	f atomic.Pointer[os.File]
	// size is the bytes given to records so far, written or not; live
	// those of live records; last the latest batch with a record here.
	// All three are protected by Store.mu.
	size, live int64
	last       *batch
	// alloc is the file's size, which preallocate keeps ahead of the
	// writes, and written the end of what was written (both owned by
	// the writer, set by Open, read by Close once the writer left).
	alloc, written int64
}

// preallocStep is how far ahead of the writes a segment's file is
// preallocated (at most Config.SegmentSize): a fallocate every 4 MiB
// written instead of a size change committed by every fdatasync.
const preallocStep = 4 << 20

// trim cuts what was preallocated past the records: a segment the
// writer left (it moved on to the next, or the store closed) keeps the
// size of its records on disk. Best effort: the space is only space, and
// a file removed meanwhile (compaction) fails to truncate.
func (seg *segment) trim() {
	if seg.alloc <= seg.written {
		return
	}
	if f := seg.f.Load(); f != nil && f.Truncate(seg.written) == nil {
		seg.alloc = seg.written
	}
}

// reserve preallocates f, seg's file, to cover end and step bytes more
// (see preallocate), unless it does already; it reports whether the
// filesystem does it (false: stop asking).
func (seg *segment) reserve(f *os.File, end, step int64) bool {
	if end <= seg.alloc {
		return true
	}
	if !preallocate(f, end+step) {
		return false
	}
	seg.alloc = end + step
	return true
}

const segmentExt = ".wal"

func segmentName(num uint32) string { return fmt.Sprintf("%08d%s", num, segmentExt) }

// parseSegmentName returns the number of a segment's file name.
func parseSegmentName(name string) (uint32, bool) {
	base, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(base) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 32)
	return uint32(n), err == nil && n > 0
}

// create creates the segment's file with its header and makes the
// directory entry durable.
func (seg *segment) create(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, segmentName(seg.num)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(magic[:], 0); err != nil {
		f.Close()
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	seg.f.Store(f)
	return f, nil
}

// syncDir makes dir's entries (created, removed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
