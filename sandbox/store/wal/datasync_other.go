//go:build !linux

package wal

import "os"

// datasync makes f's data durable.
func datasync(f *os.File) error { return f.Sync() }

// preallocate does nothing here: f grows as it is written.
func preallocate(*os.File, int64) bool { return false }
