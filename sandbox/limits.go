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
}

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
		l.MaxHeapBytes < 0 || l.MaxActors < 0 || l.MaxMailbox < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalidRequirements)
	}
	return nil
}
