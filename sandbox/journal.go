package sandbox

import (
	"errors"
	"math"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// JournalInfo is a sandbox's journal against its quotas: the bytes it
// holds (code, and JournalEntryOverhead per entry) and the steps
// replaying it takes.
type JournalInfo struct {
	Entries     uint64 `json:"entries"`
	Bytes       int64  `json:"bytes"`
	Limit       int64  `json:"limit"`
	ReplaySteps uint64 `json:"replay_steps"`
	ReplayLimit uint64 `json:"replay_limit"`
	// SnapshotSeq is the sequence number of the snapshot the journal
	// starts with: the executions up to it are in the snapshot (see
	// Config.SnapshotEvery). 0: none.
	SnapshotSeq uint64 `json:"snapshot_seq,omitempty"`
	// SnapshotBlocked says why the latest try found a state that no
	// snapshot rebuilds ("global fs cannot be written as source: a
	// function"), since this activation; "" when it did not.
	SnapshotBlocked string `json:"snapshot_blocked,omitempty"`
}

// journalUse is what an activation's journal holds. A sandbox's state is
// a function of its journal, and rebuilding it replays every entry: the
// quotas bound the journal so that this stays quick. The sums are kept
// as the journal is loaded (replay reports each entry's steps, which are
// those of its first run) and appended to.
type journalUse struct {
	entries  uint64
	bytes    int64
	steps    uint64
	snapshot uint64 // the sequence number of the snapshot the journal starts with; 0: none
}

// execs is the number of executions in the journal, the snapshot's aside.
func (j *journalUse) execs() uint64 {
	if j.snapshot != 0 {
		return j.entries - 1
	}
	return j.entries
}

func (j *journalUse) add(code string, steps uint64) {
	j.entries++
	j.bytes += int64(len(code)) + JournalEntryOverhead
	j.steps += steps
}

// restarted makes j the use of a journal that starts with the snapshot
// seq, whose globals' source is size bytes long and restores in steps.
// The ids and answers it keeps are not counted: AnsweredKeys and
// AnsweredBytes bound them, whatever the quotas.
func (j *journalUse) restarted(seq uint64, size int, steps uint64) {
	*j = journalUse{snapshot: seq, entries: 1, bytes: int64(size) + JournalEntryOverhead, steps: steps}
}

// quotas are req's journal quotas; a sandbox created before they existed
// has the defaults.
func quotas(req Requirements) (bytes int64, steps uint64) {
	bytes, steps = req.JournalLimit, req.ReplayLimit
	if bytes == 0 {
		bytes = DefaultJournalLimit
	}
	if steps == 0 {
		steps = DefaultReplayLimit
	}
	return bytes, steps
}

// admit checks that code fits in the journal and returns the steps the
// execution may take before the journal's replay would exceed its quota.
func (j *journalUse) admit(req Requirements, code string) (budget uint64, err error) {
	maxBytes, maxSteps := quotas(req)
	if need := j.bytes + int64(len(code)) + JournalEntryOverhead; need > maxBytes {
		return 0, &LimitError{Limit: engine.LimitJournal, Max: uint64(maxBytes), Got: uint64(need)}
	}
	if j.steps >= maxSteps {
		return 0, &LimitError{Limit: engine.LimitReplay, Max: maxSteps, Got: j.steps + 1}
	}
	return maxSteps - j.steps, nil
}

// explain turns the steps limit an execution met because of the replay
// quota (budget, below the session's own maxSteps) into the replay limit.
func (j *journalUse) explain(req Requirements, budget, maxSteps uint64, err error) error {
	var le *LimitError
	if budget >= maxSteps || !errors.As(err, &le) || le.Limit != engine.LimitSteps || le.Max != budget {
		return err
	}
	_, quota := quotas(req)
	got := j.steps + le.Got
	if got < j.steps { // overflow
		got = math.MaxUint64
	}
	return &LimitError{Limit: engine.LimitReplay, Max: quota, Got: got}
}

func (j *journalUse) info(req Requirements) *JournalInfo {
	maxBytes, maxSteps := quotas(req)
	return &JournalInfo{Entries: j.entries, Bytes: j.bytes, Limit: maxBytes, ReplaySteps: j.steps, ReplayLimit: maxSteps, SnapshotSeq: j.snapshot}
}
