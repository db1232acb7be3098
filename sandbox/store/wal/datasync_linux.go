package wal

import (
	"os"
	"syscall"
)

// datasync makes f's data durable (fdatasync: without the metadata a
// read does not need, such as the modification time).
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// preallocate makes f at least n bytes long ahead of the writes, zeros
// past what was written (fallocate): a write within them changes no file
// size, so its fdatasync commits no size to the filesystem's journal
// (the log's end is then the first frame header of zeros, see replay).
// It reports whether it did; on a filesystem without fallocate, f grows
// as it is written.
func preallocate(f *os.File, n int64) bool {
	return syscall.Fallocate(int(f.Fd()), 0, 0, n) == nil
}
