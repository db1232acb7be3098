package sandbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/otp"
)

// Snapshots keep a long-lived sandbox's replay bounded by its state
// rather than its history.
//
// A sandbox's state is a function of its journal, and rebuilding it (on
// activation after passivation, a restart of the node, a failover)
// replays every entry. The journal quotas (JournalLimit, ReplayLimit)
// bound that work; without snapshots, a sandbox that reached them could
// run nothing more. So, every SnapshotEvery executions, and whenever an
// execution would pass a quota (or the replay quota would stop it before
// its own step limit), the grain replaces the journal by one
// snapshot entry (Store.PutSnapshot, one atomic write): the sandbox's
// globals written as Starlark source (engine.Session.Dump: data as
// literals, functions as the def statements that made them), and the ids
// and answers of its latest executions, so that a retry is still
// answered once. Replay starts from it, and the quotas then count the
// snapshot and the executions after it.
//
// A snapshot also holds the OTP runtime (otp.Runtime is an
// engine.SavedWorld): its processes as they are between executions, with
// their definitions, states, supervisors' children and restart windows.
//
// A snapshot is taken only when it rebuilds the sandbox exactly:
//   - every global and worker state is data (None, bools, numbers,
//     strings, bytes, pids, worker and supervisor definitions, and lists,
//     tuples, dicts and sets of them; none reachable twice unless frozen)
//     or a function made by a top-level def that sees the globals it
//     mentions as they are now (see engine.Session.Dump); a worker's
//     handler may also be a lambda, whose text worker() kept (a closure
//     with the data it captured), or an older version of a redefined
//     function;
//   - the snapshot restores in a new session and dumps the same again.
//
// The grain then goes on from that restored session: what it runs next
// is what a replay from the snapshot runs on, to the byte (the live
// session may hold more than its state: the modules of past executions).
//
// Otherwise the journal stays as it is, and the grain tries again after
// SnapshotEvery more executions (or when the state changes). A store that
// is no Snapshotter keeps whole journals.

// DefaultSnapshotEvery is Config.SnapshotEvery's default.
const DefaultSnapshotEvery = 1000

// snapshotVersion is the newest version of snapshotDoc: its dump's
// (engine.Dump.Version): 1 for data and defs, 2 with Bound or World
// (which a node that reads 1 would ignore, losing them), 3 with
// functions in lists and dicts or lambdas bound as a tuple (which a node
// that reads 2 would fail to restore), 4 with functions in tuples, as
// globals' values, made by calling their def, or builtins by name (which a node that reads
// 3 would fail to restore). A node reads the versions up to its own, and
// writes the lowest that holds the snapshot.
const snapshotVersion = 4

// snapshotDoc is a snapshot entry's code.
type snapshotDoc struct {
	V        int      `json:"v"`
	Globals  string   `json:"globals"`            // engine.Dump.Data
	Defs     []string `json:"defs,omitempty"`     // engine.Dump.Defs
	Bound    string   `json:"bound,omitempty"`    // engine.Dump.Bound
	World    string   `json:"otp,omitempty"`      // engine.Dump.World: the OTP runtime's
	Answered []byte   `json:"answered,omitempty"` // answered.marshal
}

// snapshotDue reports whether the grain should try to snapshot its
// journal after an execution: SnapshotEvery executions since the
// journal's start (or its snapshot), or half a quota used, and not tried
// in vain within the last SnapshotEvery executions.
func (g *grain) snapshotDue() bool {
	every := uint64(max(g.host.snapshotEvery, 0))
	n := g.journal.execs()
	if every == 0 || n == 0 || g.snapFailed != 0 && g.journal.entries < g.snapFailed+every {
		return false
	}
	maxBytes, maxSteps := quotas(g.meta.Requirements)
	return n >= every || n >= minSnapshotExecs && (g.journal.bytes > maxBytes/2 || g.journal.steps > maxSteps/2)
}

// snapshotMayAdmit reports whether a snapshot may make room for an
// execution the quotas refused, or would cut short. For one refused, a
// failed try is not repeated while the journal, hence the state, is the
// same (nothing is accepted until something changes); for one cut short
// (accepted anyway), not within SnapshotEvery executions, as after any
// execution.
func (g *grain) snapshotMayAdmit(refused bool) bool {
	every := uint64(max(g.host.snapshotEvery, 0))
	switch {
	case every == 0 || g.journal.execs() == 0:
		return false
	case refused:
		return g.journal.entries != g.snapFailed
	}
	return g.snapFailed == 0 || g.journal.entries >= g.snapFailed+every
}

// minSnapshotExecs is the fewest executions a snapshot taken for a quota
// replaces: a state near half a quota is not written out after every
// execution.
const minSnapshotExecs = 16

// trySnapshot snapshots the journal if it can, and reports whether it
// did. Not being able to is no error: the journal stays whole.
// The time it takes is the sandbox's: its CPU share pays for it.
func (g *grain) trySnapshot() bool {
	start := time.Now()
	err := g.snapshot()
	g.cpu.take(g.host.now(), time.Since(start))
	switch {
	case err == nil:
		g.snapFailed, g.snapWhy = 0, ""
		return true
	case errors.Is(err, errors.ErrUnsupported): // the store cannot
		g.snapFailed = g.journal.entries
		return false
	case errors.As(err, new(*StoreError)):
		// Maybe passing: try again on the next occasion.
		g.host.log.Warn("sandbox journal not snapshotted", slog.String("id", g.id), slog.Any("error", err))
		return false
	}
	// The state cannot be written (yet): not again for this journal.
	g.host.snapshotsSkipped.Add(1)
	g.host.log.Debug("sandbox journal not snapshotted", slog.String("id", g.id), slog.Any("why", err))
	g.snapFailed = g.journal.entries
	g.snapWhy = strings.TrimPrefix(err.Error(), "engine: ")
	return false
}

// snapshot replaces the journal by a snapshot of the sandbox's state.
func (g *grain) snapshot() error {
	sn, ok := g.host.store.(Snapshotter)
	if !ok {
		return errors.ErrUnsupported
	}
	maxBytes, maxSteps := quotas(g.meta.Requirements)
	src, err := g.sess.Dump(int(min(maxBytes, maxSnapshotBytes)))
	if err != nil {
		return err
	}
	// It must rebuild the sandbox: restore it as a replay would, and
	// compare.
	sess, rt := g.newSession()
	rt.SetClock(g.otp.Now())
	res, err := sess.Restore(context.Background(), src)
	if err != nil {
		return fmt.Errorf("the snapshot does not restore: %w", err)
	}
	again, err := sess.Dump(src.Len())
	switch {
	case err != nil:
		return fmt.Errorf("the snapshot restores to a state that does not dump (%v)", err)
	case !again.Equal(src):
		return errors.New("the snapshot restores to another state (a function's default changed since its def, say)")
	}
	doc := snapshotDoc{V: src.Version(), Globals: src.Data, Defs: src.Defs, Bound: src.Bound, World: src.World, Answered: g.done.marshal()}
	code, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if res.Steps >= maxSteps {
		return &LimitError{Limit: engine.LimitReplay, Max: maxSteps, Got: res.Steps}
	}
	if int64(src.Len())+JournalEntryOverhead > maxBytes {
		return &LimitError{Limit: engine.LimitJournal, Max: uint64(maxBytes), Got: uint64(src.Len()) + JournalEntryOverhead}
	}
	at := g.otp.Now()
	ctx, cancel := g.ctx()
	defer cancel()
	if err := sn.PutSnapshot(ctx, g.id, Entry{Seq: g.seq, Code: string(code), At: at, Snapshot: true}); err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return err
		}
		if errors.Is(err, ErrConflict) {
			// Another activation wrote: rebuild from the journal on the
			// next call, or retire if the sandbox is placed elsewhere now.
			g.meta = nil
			g.drop()
			g.stale = g.moved(ctx)
		}
		return &StoreError{Op: "snapshot", Err: err}
	}
	g.journal.restarted(g.seq, src.Len(), res.Steps)
	g.host.snapshots.Add(1)
	g.host.snapshotBytes.Add(uint64(len(code)))
	// Go on from the restored session: it is what a replay rebuilds from
	// now on, to the byte (the live one may hold more than its state
	// says: the modules of past executions, values a dump writes twice
	// shared once), so the executions that follow are accepted on the
	// same heap as they will be replayed on.
	g.sess, g.otp = sess, rt
	return nil
}

// maxSnapshotBytes bounds a snapshot's globals source.
const maxSnapshotBytes = 64 << 20

// restore rebuilds the sandbox from the snapshot e, the journal's first
// entry, in the fresh session load made.
func (g *grain) restore(e Entry) error {
	var doc snapshotDoc
	if err := json.Unmarshal([]byte(e.Code), &doc); err != nil {
		return fmt.Errorf("snapshot %d: %w", e.Seq, err)
	}
	if doc.V < 1 || doc.V > snapshotVersion {
		return fmt.Errorf("snapshot %d: version %d, this node reads %d", e.Seq, doc.V, snapshotVersion)
	}
	done, err := unmarshalAnswered(doc.Answered)
	if err != nil {
		return fmt.Errorf("snapshot %d: %w", e.Seq, err)
	}
	dump := &engine.Dump{Data: doc.Globals, Defs: doc.Defs, Bound: doc.Bound, World: doc.World}
	res, err := g.sess.Restore(context.Background(), dump)
	if err != nil {
		// Not the caller's error (%v): the store holds a bad snapshot.
		return fmt.Errorf("snapshot %d does not restore: %v", e.Seq, err)
	}
	g.done = done
	g.journal.restarted(e.Seq, dump.Len(), res.Steps)
	return nil
}

// newSession returns a session and OTP runtime with the sandbox's limits
// and the host's environment, as a replay starts from: the ones the
// activation prepared, if it did for these limits.
func (g *grain) newSession() (*engine.Session, *otp.Runtime) {
	limits := g.meta.Requirements.Limits
	sess, rt := g.ready, g.readyRT
	g.ready, g.readyRT = nil, nil // the first session only
	if sess != nil && limits == g.host.warmLimits {
		return sess, rt
	}
	return g.host.newSession(limits)
}

// newSession returns a fresh session and OTP runtime with limits and the
// host's environment.
func (h *Host) newSession(limits engine.Limits) (*engine.Session, *otp.Runtime) {
	rt := otp.New(otp.Config{Limits: limits})
	opts := []engine.Option{engine.WithEnv(h.env), engine.WithWorld(rt), engine.WithLocal(otp.LocalKey, rt)}
	if h.compile != nil {
		opts = append(opts, engine.WithCompileCache(h.compile))
	}
	return engine.NewSession(limits, opts...), rt
}

// marshal encodes what a keeps: the number of ids, each id's and code's
// hash, the index of the first answer kept, and the answers.
func (a *answered) marshal() []byte {
	if len(a.list) == 0 {
		return nil
	}
	b := binary.AppendUvarint(nil, uint64(len(a.list)))
	for _, e := range a.list {
		b = binary.BigEndian.AppendUint64(b, e.id)
		b = binary.BigEndian.AppendUint64(b, e.code)
	}
	b = binary.AppendUvarint(b, uint64(a.kept))
	return append(b, a.buf...)
}

// unmarshalAnswered decodes what marshal encoded.
func unmarshalAnswered(b []byte) (*answered, error) {
	a := newAnswered()
	if len(b) == 0 {
		return a, nil
	}
	bad := errors.New("corrupt answered ids")
	n, w := binary.Uvarint(b)
	if w <= 0 || n > AnsweredKeys || uint64(len(b)-w) < 16*n {
		return nil, bad
	}
	b = b[w:]
	a.list = make([]answer, n)
	for i := range a.list {
		a.list[i] = answer{id: binary.BigEndian.Uint64(b), code: binary.BigEndian.Uint64(b[8:])}
		b = b[16:]
	}
	kept, w := binary.Uvarint(b)
	if w <= 0 || kept > n {
		return nil, bad
	}
	a.kept, b = int(kept), b[w:]
	// The answers: one per id from kept on, each after its length.
	for rest, i := b, a.kept; i < len(a.list); i++ {
		m, w := binary.Uvarint(rest)
		if w <= 0 || m > uint64(len(rest)-w) {
			return nil, bad
		}
		rest = rest[w+int(m):]
		if i == len(a.list)-1 && len(rest) != 0 {
			return nil, bad
		}
	}
	if a.kept == len(a.list) && len(b) != 0 {
		return nil, bad
	}
	a.buf = append([]byte(nil), b...)
	return a, nil
}
