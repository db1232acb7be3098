package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// Policy is the operator's say over the requirements of the sandboxes a
// node creates: what a zero field means (Defaults) and the most a sandbox
// may ask for (Ceilings). The zero Policy uses the engine's defaults and
// [DefaultCeilings].
type Policy struct {
	// Defaults replace the zero fields of a new sandbox's requirements;
	// zero fields of Defaults take the engine's defaults (limits) or mean
	// none (memory and CPU limits).
	Defaults Requirements `json:"defaults"`
	// Ceilings bound every limit a sandbox may ask for; zero fields take
	// DefaultCeilings'.
	Ceilings Requirements `json:"ceilings"`
}

// Merge returns p with every non-zero field of o in place of p's: the
// layering of configuration, where a later layer sets what it names.
func (p Policy) Merge(o Policy) Policy {
	merge(reflect.ValueOf(&p).Elem(), reflect.ValueOf(o))
	return p
}

func merge(dst, src reflect.Value) {
	for i := range src.NumField() {
		f := src.Field(i)
		if f.Kind() == reflect.Struct {
			merge(dst.Field(i), f)
		} else if !f.IsZero() {
			dst.Field(i).Set(f)
		}
	}
}

// DefaultCeilings are the ceilings of a node whose operator set none:
// generous for learning and testing, small enough that one sandbox
// cannot take a node down.
func DefaultCeilings() Requirements {
	return Requirements{
		MemoryLimit:  64 << 20,
		CPULimit:     1000, // a sandbox runs one execution at a time
		JournalLimit: 64 << 20,
		ReplayLimit:  1_000_000_000,
		Limits: Limits{
			MaxSteps:       100_000_000,
			MaxDuration:    30 * time.Second,
			MaxCodeBytes:   1 << 20,
			MaxOutputBytes: 1 << 20,
			MaxGlobals:     65536,
			MaxHeapBytes:   64 << 20,
			MaxActors:      4096,
			MaxMailbox:     65536,
		},
	}
}

// CeilingError reports a requirement above the node's ceiling. It wraps
// [ErrInvalidRequirements].
type CeilingError struct {
	Field   string // the JSON name: max_steps, memory_limit, ...
	Value   string // what was asked, in the field's units
	Ceiling string // the most this node allows
}

func (e *CeilingError) Error() string {
	return fmt.Sprintf("%v: %s %s is above this node's ceiling of %s", ErrInvalidRequirements, e.Field, e.Value, e.Ceiling)
}

// Unwrap returns ErrInvalidRequirements.
func (e *CeilingError) Unwrap() error { return ErrInvalidRequirements }

// Resolve returns the requirements a sandbox is created with and keeps
// (replays need the very limits its executions were accepted under): req
// validated, its zero fields replaced by the defaults (lowered to the
// ceilings), every limit it names checked against the ceilings (a
// *CeilingError), and memory_limit applied to the heap limit: a
// sandbox's memory is what it holds (globals, worker states, mailboxes,
// traces, supervisors), so memory_limit sets max_heap_bytes, or lowers it
// when both are given.
func (p Policy) Resolve(req Requirements) (Requirements, error) {
	if err := req.Validate(); err != nil {
		return req, err
	}
	c := p.ceilings()
	def := p.Defaults
	def.Limits = def.Limits.WithDefaults()
	if def.JournalLimit == 0 {
		def.JournalLimit = DefaultJournalLimit
	}
	if def.ReplayLimit == 0 {
		def.ReplayLimit = DefaultReplayLimit
	}
	r := req
	l, dl, cl := &r.Limits, def.Limits, c.Limits
	for _, f := range []struct {
		name            string
		v               num
		def, ceil       int64
		show            func(int64) string
		noDefaultIsNone bool // memory and CPU: no default means no limit
	}{
		{"memory_limit", ptr(&r.MemoryLimit), def.MemoryLimit, c.MemoryLimit, showBytes, true},
		{"cpu_limit", ptr(&r.CPULimit), def.CPULimit, c.CPULimit, showMillicores, true},
		{"journal_limit", ptr(&r.JournalLimit), def.JournalLimit, c.JournalLimit, showBytes, false},
		{"replay_limit", ptr(&r.ReplayLimit), int64(min(def.ReplayLimit, math.MaxInt64)), int64(min(c.ReplayLimit, math.MaxInt64)), showInt, false},
		{"max_steps", ptr(&l.MaxSteps), int64(min(dl.MaxSteps, math.MaxInt64)), int64(min(cl.MaxSteps, math.MaxInt64)), showInt, false},
		{"max_duration", ptr(&l.MaxDuration), int64(dl.MaxDuration), int64(cl.MaxDuration), showDuration, false},
		{"max_code_bytes", ptr(&l.MaxCodeBytes), int64(dl.MaxCodeBytes), int64(cl.MaxCodeBytes), showBytes, false},
		{"max_output_bytes", ptr(&l.MaxOutputBytes), int64(dl.MaxOutputBytes), int64(cl.MaxOutputBytes), showBytes, false},
		{"max_globals", ptr(&l.MaxGlobals), int64(dl.MaxGlobals), int64(cl.MaxGlobals), showInt, false},
		{"max_heap_bytes", ptr(&l.MaxHeapBytes), dl.MaxHeapBytes, cl.MaxHeapBytes, showBytes, false},
		{"max_actors", ptr(&l.MaxActors), int64(dl.MaxActors), int64(cl.MaxActors), showInt, false},
		{"max_mailbox", ptr(&l.MaxMailbox), int64(dl.MaxMailbox), int64(cl.MaxMailbox), showInt, false},
	} {
		v := f.v.get()
		switch {
		case v > f.ceil:
			return req, &CeilingError{Field: f.name, Value: f.show(v), Ceiling: f.show(f.ceil)}
		case v == 0 && (f.def != 0 || !f.noDefaultIsNone):
			f.v.set(min(f.def, f.ceil))
		}
	}
	if r.MemoryLimit > 0 && (req.Limits.MaxHeapBytes == 0 || r.MemoryLimit < l.MaxHeapBytes) {
		l.MaxHeapBytes = r.MemoryLimit
	}
	return r, nil
}

// num is a pointer to a limit of any integer type, read and written as
// int64.
type num interface {
	get() int64
	set(int64)
}

type numOf[T ~int | ~int64 | ~uint64] struct{ p *T }

func (n numOf[T]) get() int64 {
	if v := uint64(*n.p); v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(*n.p)
}
func (n numOf[T]) set(v int64) { *n.p = T(v) }

func ptr[T ~int | ~int64 | ~uint64](p *T) num { return numOf[T]{p} }

// ceilings are p.Ceilings with DefaultCeilings for its zero fields.
func (p Policy) ceilings() Requirements {
	c, d := p.Ceilings, DefaultCeilings()
	if c.MemoryLimit == 0 {
		c.MemoryLimit = d.MemoryLimit
	}
	if c.CPULimit == 0 {
		c.CPULimit = d.CPULimit
	}
	if c.JournalLimit == 0 {
		c.JournalLimit = d.JournalLimit
	}
	if c.ReplayLimit == 0 {
		c.ReplayLimit = d.ReplayLimit
	}
	l, dl := &c.Limits, d.Limits
	if l.MaxSteps == 0 {
		l.MaxSteps = dl.MaxSteps
	}
	if l.MaxDuration == 0 {
		l.MaxDuration = dl.MaxDuration
	}
	if l.MaxCodeBytes == 0 {
		l.MaxCodeBytes = dl.MaxCodeBytes
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = dl.MaxOutputBytes
	}
	if l.MaxGlobals == 0 {
		l.MaxGlobals = dl.MaxGlobals
	}
	if l.MaxHeapBytes == 0 {
		l.MaxHeapBytes = dl.MaxHeapBytes
	}
	if l.MaxActors == 0 {
		l.MaxActors = dl.MaxActors
	}
	if l.MaxMailbox == 0 {
		l.MaxMailbox = dl.MaxMailbox
	}
	return c
}

func showInt(n int64) string        { return strconv.FormatInt(n, 10) }
func showDuration(n int64) string   { return time.Duration(n).String() }
func showMillicores(n int64) string { return strconv.FormatInt(n, 10) + "m" }
func showBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// UnmarshalJSON reads requirements with human units: memory as bytes or
// "512MiB", CPU as millicores or Kubernetes' quantities ("500m", "1.5"),
// and the limits as Limits reads them.
func (r *Requirements) UnmarshalJSON(b []byte) error {
	var raw struct {
		MemoryHint   json.RawMessage `json:"memory_hint"`
		MemoryLimit  json.RawMessage `json:"memory_limit"`
		CPUHint      json.RawMessage `json:"cpu_hint"`
		CPULimit     json.RawMessage `json:"cpu_limit"`
		Limits       *Limits         `json:"limits"`
		JournalLimit json.RawMessage `json:"journal_limit"`
		ReplayLimit  json.RawMessage `json:"replay_limit"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	var out Requirements
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		into *int64
		cpu  bool
	}{
		{"memory_hint", raw.MemoryHint, &out.MemoryHint, false},
		{"memory_limit", raw.MemoryLimit, &out.MemoryLimit, false},
		{"cpu_hint", raw.CPUHint, &out.CPUHint, true},
		{"cpu_limit", raw.CPULimit, &out.CPULimit, true},
		{"journal_limit", raw.JournalLimit, &out.JournalLimit, false},
	} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		var err error
		if f.cpu {
			err = parseMillicores(f.raw, f.into)
		} else {
			err = engine.ParseSize(f.raw, f.into)
		}
		if err != nil {
			return fmt.Errorf("requirements: %s: %w", f.name, err)
		}
	}
	if raw.Limits != nil {
		out.Limits = *raw.Limits
	}
	if len(raw.ReplayLimit) > 0 && string(raw.ReplayLimit) != "null" {
		if err := engine.ParseCount(raw.ReplayLimit, &out.ReplayLimit); err != nil {
			return fmt.Errorf("requirements: replay_limit: %w", err)
		}
	}
	*r = out
	return nil
}

// parseMillicores reads CPU as a number of millicores, or as a string:
// "500m" (millicores) or "1.5" (cores).
func parseMillicores(raw json.RawMessage, into *int64) error {
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		*into = n
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return errBadCPU(string(raw))
	}
	if m, ok := strings.CutSuffix(s, "m"); ok {
		v, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return errBadCPU(s)
		}
		*into = v
		return nil
	}
	cores, err := strconv.ParseFloat(s, 64)
	if err != nil || cores < 0 || cores > math.MaxInt64/1000 {
		return errBadCPU(s)
	}
	*into = int64(math.Round(cores * 1000))
	return nil
}

func errBadCPU(s string) error {
	return errors.New("want millicores such as 500, or \"500m\" or \"0.5\" cores, got " + s)
}
