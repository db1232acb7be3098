package wal

import "errors"

var (
	// ErrEmptyID reports an empty sandbox id.
	ErrEmptyID = errors.New("wal: empty sandbox id")
	// ErrLocked reports a directory that another process has open; see
	// LockedError.
	ErrLocked = errors.New("wal: directory in use")
	// ErrFailed reports a store that could not write or sync: the state
	// of the disk is unknown, so every later call fails with it. Reopen
	// the store to recover what is durable.
	ErrFailed = errors.New("wal: store failed")
	// ErrCorrupt reports a log that cannot be replayed (a journal with a
	// gap, a foreign file in place of a segment).
	ErrCorrupt = errors.New("wal: corrupt log")
	// ErrTooLarge reports a record over MaxRecordSize.
	ErrTooLarge = errors.New("wal: record too large")
)
