package sandbox

import (
	"context"
	"time"
)

// Entry is one accepted execution in a sandbox's journal. Replaying a
// journal's entries in order, in a fresh session with the same
// requirements and each entry's clock, rebuilds the sandbox: its globals
// and its processes (see package sandbox/otp).
type Entry struct {
	// Seq is the entry's position in the journal, from 1. Append assigns
	// it; a non-zero Seq given to Append must be the next one, else the
	// append fails with ErrConflict (optimistic concurrency).
	Seq uint64 `json:"seq"`
	// Code is the source that was executed.
	Code string `json:"code"`
	// At is when the execution started: the sandbox's clock while it ran
	// (stored with nanosecond precision, in UTC), so that replaying it
	// times restarts as the first run did.
	At time.Time `json:"at"`
	// ID is the caller's request id ("" for none, at most 255 bytes). A
	// call retried with the same id (its member was lost after journaling
	// but before answering) is answered from the journal instead of
	// running twice.
	ID string `json:"id,omitempty"`
	// Snapshot marks an entry that is not an execution but the sandbox's
	// state as of Seq, which replaced the entries up to Seq (see
	// Snapshotter): a journal starts with at most one, and replay starts
	// from it. A snapshot has no ID.
	Snapshot bool `json:"snapshot,omitempty"`
}

// Store keeps each sandbox's journal and metadata (its Requirements and
// configuration, as opaque JSON) so that a sandbox can be rebuilt on any
// node after passivation or a restart. Implementations: sandbox/store/wal
// (embedded, local disk: the default), sandbox/store/bolt (embedded) and
// sandbox/store/redis (shared); all pass sandbox/store/storetest.
//
// Every method returns an error rather than lose data silently: a write
// that returns nil is durable. Methods are safe for concurrent use; after
// Close they fail with ErrClosed.
type Store interface {
	// Append adds e to the end of id's journal and returns its sequence
	// number. If e.Seq is not zero it must be the next sequence number,
	// or Append fails with ErrConflict and changes nothing.
	Append(ctx context.Context, id string, e Entry) (seq uint64, err error)
	// Load returns id's journal in order; empty when there is none.
	Load(ctx context.Context, id string) ([]Entry, error)
	// Truncate deletes id's journal and keeps its metadata; the next
	// Append is sequence 1 again. Used to reset a sandbox.
	Truncate(ctx context.Context, id string) error
	// PutMeta stores id's metadata, replacing any previous value.
	PutMeta(ctx context.Context, id string, meta []byte) error
	// GetMeta returns id's metadata, or ErrNotFound.
	GetMeta(ctx context.Context, id string) ([]byte, error)
	// Delete removes id's journal and metadata. Deleting an unknown id is
	// not an error.
	Delete(ctx context.Context, id string) error
	// List returns the ids that have metadata, sorted.
	List(ctx context.Context) ([]string, error)
	// Close releases the store's resources.
	Close() error
}

// MetaCreator is a Store that stores a sandbox's metadata only if it
// has none, in one step (the Redis store: HSETNX). A create then costs
// one round trip instead of a read and a write; created is false, and
// nothing changed, when the sandbox exists. errors.ErrUnsupported says
// the store cannot (the grain then reads first, as with any store).
type MetaCreator interface {
	CreateMeta(ctx context.Context, id string, meta []byte) (created bool, err error)
}

// Snapshotter is a Store that can replace a journal by a snapshot of the
// state its entries built, so that a long-lived sandbox's replay stays
// bounded. PutSnapshot replaces every entry of id's journal by snap
// (snap.Snapshot set, snap.Seq the journal's last sequence number) in one
// atomic write: a crash leaves the entries or the snapshot, never
// neither. The journal's numbering goes on: the next Append is
// snap.Seq+1, and Load returns snap first. If snap.Seq is not the
// journal's last sequence number, PutSnapshot fails with ErrConflict and
// changes nothing. All the stores of this module implement it.
type Snapshotter interface {
	PutSnapshot(ctx context.Context, id string, snap Entry) error
}

// PlacementDeleter is a Store whose Delete also removes the sandbox's
// placement in the cluster's directory, in the same write (the Redis
// store with WithPlacements): a Terminate that deleted the sandbox then
// leaves the directory alone.
type PlacementDeleter interface {
	DeletesPlacement() bool
}
