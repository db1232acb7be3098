package sandbox

import (
	"fmt"
)

// Requirements is what a sandbox asks of the node that hosts it: resource
// hints and limits for placement, and the execution [Limits]. It is
// stored as the sandbox's metadata (JSON) so the sandbox can be rebuilt
// after a restart. Zero means "no hint" or "no limit".
type Requirements struct {
	// MemoryHint is the expected memory use, in bytes.
	MemoryHint int64 `json:"memory_hint,omitempty"`
	// MemoryLimit is the most memory the sandbox may use, in bytes.
	MemoryLimit int64 `json:"memory_limit,omitempty"`
	// CPUHint is the expected CPU use, in millicores.
	CPUHint int64 `json:"cpu_hint,omitempty"`
	// CPULimit is the most CPU the sandbox may use, in millicores.
	CPULimit int64 `json:"cpu_limit,omitempty"`
	// Limits bound each execution and the session state.
	Limits Limits `json:"limits"`
	// JournalLimit bounds the sandbox's journal, in bytes: the code of
	// its accepted executions, and JournalEntryOverhead for each.
	JournalLimit int64 `json:"journal_limit,omitempty"`
	// ReplayLimit bounds the steps replaying the journal takes: the sum
	// of the steps of its executions. With JournalLimit it bounds the
	// time a passivated or restarted sandbox takes to come back.
	ReplayLimit uint64 `json:"replay_limit,omitempty"`
}

// JournalEntryOverhead is what each journaled execution counts against
// JournalLimit besides its code: replaying an entry costs about as much
// as replaying that many bytes of code.
const JournalEntryOverhead = 256

// Journal quotas of a sandbox created without them, on a node whose
// operator set no defaults: together, about half a second of replay on
// a 2-core machine.
const (
	DefaultJournalLimit = 8 << 20
	DefaultReplayLimit  = 20_000_000
)

// Validate reports whether r is usable, wrapping [ErrInvalidRequirements].
func (r Requirements) Validate() error {
	check := func(name string, hint, limit int64) error {
		switch {
		case hint < 0 || limit < 0:
			return fmt.Errorf("%w: negative %s", ErrInvalidRequirements, name)
		case limit > 0 && hint > limit:
			return fmt.Errorf("%w: %s hint %d above limit %d", ErrInvalidRequirements, name, hint, limit)
		}
		return nil
	}
	if err := check("memory", r.MemoryHint, r.MemoryLimit); err != nil {
		return err
	}
	if err := check("cpu", r.CPUHint, r.CPULimit); err != nil {
		return err
	}
	l := r.Limits
	if l.MaxDuration < 0 || l.MaxCodeBytes < 0 || l.MaxOutputBytes < 0 || l.MaxGlobals < 0 ||
		l.MaxHeapBytes < 0 || l.MaxActors < 0 || l.MaxMailbox < 0 || r.JournalLimit < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalidRequirements)
	}
	return nil
}
