//go:build !unix

package wal

import (
	"fmt"
	"os"
	"path/filepath"
)

// LockFile is the lock file in a store's directory.
const LockFile = "LOCK"

// LockedError is Open's error when another process holds the
// directory's lock. It matches ErrLocked. Only Unix systems lock the
// directory.
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("wal: %s is in use by another process", e.Dir)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// lock opens the lock file; without flock, it does not exclude others.
func lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: lock: %w", err)
	}
	return f, nil
}
