package sandbox

import (
	"errors"
)

// ErrInvalidRequirements reports requirements that no node can meet:
// negative values, a hint above its limit, or a limit above the node's
// ceiling.
var ErrInvalidRequirements = errors.New("sandbox: invalid requirements")

// Store errors.
var (
	// ErrNotFound reports a sandbox id without metadata.
	ErrNotFound = errors.New("sandbox: not found")
	// ErrConflict reports an append whose Entry.Seq is not the next
	// sequence number of the journal: another writer got there first.
	ErrConflict = errors.New("sandbox: journal sequence conflict")
	// ErrClosed reports a call on a closed store.
	ErrClosed = errors.New("sandbox: store closed")
)
