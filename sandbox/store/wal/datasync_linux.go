package wal

import (
	"os"
	"syscall"
)

// datasync makes f's data durable (fdatasync: without the metadata a
// read does not need, such as the modification time).
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
