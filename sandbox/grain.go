package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/internal/wire"
	"github.com/otpbox/otpbox/sandbox/otp"
	"google.golang.org/protobuf/proto"
)

// Kind is the cluster kind of sandbox grains; the identity is the sandbox id.
const Kind = "sandbox"

// meta is what a sandbox keeps in the store besides its journal.
type meta struct {
	Requirements Requirements `json:"requirements"`
	CreatedAt    time.Time    `json:"created_at"`
	// CreateKey is the request id of the create that made the sandbox,
	// RestartKeys those of its latest restarts (see idempotency.go).
	CreateKey   *idemKey  `json:"create_key,omitempty"`
	RestartKeys []idemKey `json:"restart_keys,omitempty"`
}

// grain is a sandbox activation: one per sandbox id in the cluster. It
// loads the sandbox from the store on its first message (replaying the
// journal), journals every accepted execution before answering, and
// passivates after being idle.
type grain struct {
	host       *Host
	id         string
	retired    bool      // out of the directory, draining its mailbox before it stops
	stale      bool      // placed on another member now: retire after answering
	meta       *meta     // nil: not loaded, or the sandbox does not exist
	seq        uint64    // the journal's last sequence number, as loaded or appended
	done       *answered // the answers of the latest executions with a request id
	sess       *engine.Session
	otp        *otp.Runtime
	cpu        cpuBucket // the sandbox's CPU share (cpu_limit)
	journal    journalUse
	snapFailed uint64 // journal.entries when a snapshot last could not be taken; 0: not since the last one
	snapWhy    string // why it could not (JournalInfo.SnapshotBlocked)
	lastActive time.Time

	activated   time.Time // when this activation started
	execsUnseen int       // executions before anyone watched (see watch.go)
	w           *watching // nil: nobody watches

	// ready is a session and runtime a warm activation prepared for the
	// host's default limits (see Config.WarmActivations), until its first
	// session takes them.
	ready   *engine.Session
	readyRT *otp.Runtime
}

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if id, ok := cluster.IdentityOf(ctx.Self(), Kind); ok {
			g.bind(ctx, id) // a named activation (cluster.Directory.Named)
		} else if g.host.warm > 0 && g.host.warmLimits != (engine.Limits{}) {
			// A warm activation (cluster.Directory.Warm), or one that
			// ClusterInit names next.
			g.ready, g.readyRT = g.host.newSession(g.host.warmLimits)
		}
	case *cluster.Bind:
		g.bind(ctx, m.Identity)
	case replenish:
		g.host.dir.Replenish(Kind)
	case *pcluster.ClusterInit:
		g.bind(ctx, m.Identity.Identity)
	case *actor.ReceiveTimeout:
		g.passivate(ctx, "idle")
	case tick:
		if !g.retired {
			g.onTick(ctx)
		}
	case *actor.Stopping:
		g.release(ctx)
		g.stopWatching()
		g.drop()
	case *actor.Stopped:
		// Out of the process registry now: calls still queued are
		// dropped by protoactor; tell their callers.
		g.host.calls.activationEnded(ctx.Self())
		if g.id != "" && g.host.dir != nil && !g.retired {
			g.host.dir.RemovePid(pcluster.NewClusterIdentity(g.id, Kind), ctx.Self())
		}
	case proto.Message:
		if g.retired {
			// Sent before this activation left the directory: the caller
			// looks the sandbox up again.
			ctx.Respond(&wire.Reply{Failure: &wire.Failure{Kind: kindRetry}})
			return
		}
		g.handle(ctx, m)
	}
}

// replenish is what an activation sends itself when it is bound, to
// spawn a warm activation once it answered what it was activated for
// (see Config.WarmActivations).
type replenish struct{}

// bind makes the activation that of sandbox id.
func (g *grain) bind(ctx actor.Context, id string) {
	g.id = id
	g.activated = g.host.now()
	if g.host.idle > 0 {
		ctx.SetReceiveTimeout(g.host.idle)
	}
	if g.host.warm > 0 && g.host.dir != nil {
		ctx.Send(ctx.Self(), replenish{})
	}
}

// passivate stops the activation, its state kept in the journal; its
// watchers are told.
func (g *grain) passivate(ctx actor.Context, why string) {
	g.host.log.Debug("sandbox passivating", slog.String("id", g.id), slog.String("why", why))
	g.host.passivations.Add(1)
	if g.meta != nil {
		g.emit(Event{Type: EventPassivated, Reason: why})
		g.lifecycle(EventPassivated)
	}
	g.release(ctx)
	g.retire(ctx)
}

// retire takes the activation out of the directory, so new calls activate
// the sandbox afresh, then stops it once the messages already queued are
// answered (with a retry).
func (g *grain) retire(ctx actor.Context) {
	g.retired = true
	g.drop()
	if g.id != "" && g.host.dir != nil {
		g.host.dir.RemovePid(pcluster.NewClusterIdentity(g.id, Kind), ctx.Self())
	}
	ctx.Poison(ctx.Self())
}

func (g *grain) handle(ctx actor.Context, msg proto.Message) {
	if _, poll := msg.(*wire.Watch); !poll && g.w != nil {
		g.w.touched = g.host.now()
	}
	if _, create := msg.(*wire.Create); !create {
		if err := g.load(); errors.Is(err, ErrNotFound) {
			// No such sandbox: answer and do not linger as an empty
			// activation.
			if _, exec := msg.(*wire.Exec); exec {
				ctx.Respond(&wire.ExecResult{Failure: toFailure(err)})
			} else {
				ctx.Respond(failure(err))
			}
			g.retire(ctx)
			return
		}
	}
	switch m := msg.(type) {
	case *wire.Create:
		g.respond(ctx, g.create(m))
	case *wire.Exec:
		ctx.Respond(g.exec(m))
		g.flush(ctx)
		if g.stale {
			g.release(ctx)
			g.retire(ctx)
		}
	case *wire.Action:
		ctx.Respond(g.action(m))
		g.flush(ctx)
		if g.stale {
			g.release(ctx)
			g.retire(ctx)
		}
	case *wire.Watch:
		g.watch(ctx, m)
	case *wire.Describe:
		g.respond(ctx, g.describe())
	case *wire.Reset:
		g.respond(ctx, g.reset(m))
		g.flush(ctx)
	case *wire.Destroy:
		reply := g.destroy()
		if reply.Failure == nil {
			g.emit(Event{Type: EventTerminated})
			g.lifecycle(EventTerminated)
		}
		g.release(ctx)
		g.retire(ctx) // out of the directory before the caller hears back
		ctx.Respond(reply)
	case *wire.Passivate:
		g.passivate(ctx, "passivate")
		ctx.Respond(&wire.Reply{})
	case *wire.Query:
		ctx.Respond(g.query(m))
	}
}

// moved reports whether the sandbox is placed on another member now.
func (g *grain) moved(ctx context.Context) bool {
	if g.host.dir == nil {
		return false
	}
	owner, err := g.host.dir.Owner(ctx, Kind, g.id)
	return err == nil && owner != "" && owner != g.host.node
}

func (g *grain) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), g.host.storeTimeout)
}

// load reads the sandbox from the store and replays its journal, once.
// A sandbox that does not exist gives ErrNotFound.
func (g *grain) load() error {
	if g.meta != nil {
		return nil
	}
	ctx, cancel := g.ctx()
	defer cancel()
	raw, err := g.host.store.GetMeta(ctx, g.id)
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return &StoreError{Op: "read meta", Err: err}
	}
	m, err := decodeMeta(raw)
	if err != nil {
		return &StoreError{Op: "decode meta", Err: err}
	}
	entries, err := g.host.store.Load(ctx, g.id)
	if err != nil {
		return &StoreError{Op: "load journal", Err: err}
	}
	g.meta = &m
	g.fresh()
	g.seq = 0
	if n := len(entries); n > 0 {
		g.seq = entries[n-1].Seq
	}
	for i, e := range entries {
		g.otp.SetClock(e.At)
		if e.Snapshot {
			// Unlike an entry, a snapshot that does not restore leaves
			// nothing to go on with: the sandbox stays unavailable rather
			// than answer from a state it does not have (an older node
			// reading a newer snapshot's version, say).
			err := errors.New("a snapshot past the journal's start")
			if i == 0 {
				err = g.restore(e)
			}
			if err != nil {
				g.host.log.Error("sandbox snapshot not restored", slog.String("id", g.id), slog.Uint64("seq", e.Seq), slog.Any("error", err))
				g.meta = nil
				g.drop()
				return &StoreError{Op: "restore snapshot", Err: err}
			}
			continue
		}
		res, err := g.sess.Replay(context.Background(), e.Code)
		if err == nil {
			g.journal.add(e.Code, res.Steps)
		}
		if err == nil && e.ID != "" {
			g.done.put(e.ID, hash64(e.Code), execResult(res))
		}
		if err != nil {
			// A sandbox is deterministic: an accepted execution replays
			// the same. A difference means the runtime changed under the
			// journal; say so and go on with what replayed.
			g.host.log.Warn("sandbox replay diverged", slog.String("id", g.id), slog.Uint64("seq", e.Seq), slog.Any("error", err))
		}
	}
	g.host.replays.Add(1)
	g.lifecycle(EventActivated)
	return nil
}

// lifecycle tells the host's OnLifecycle of a change of the sandbox.
func (g *grain) lifecycle(change string) {
	if f := g.host.onLifecycle; f != nil {
		f(g.id, change)
	}
}

// fresh starts a new session (and no tree) with the sandbox's limits.
func (g *grain) fresh() {
	g.sess, g.otp = g.newSession()
	// A new session within this activation (a restart, a rebuild after a
	// failed rollback) keeps what the sandbox used of its CPU share.
	if cpu := newCPUBucket(g.meta.Requirements.CPULimit, g.sess.Limits().MaxDuration, g.host.now()); cpu.rate != g.cpu.rate || cpu.burst != g.cpu.burst {
		g.cpu = cpu
	}
	g.done = newAnswered()
	g.journal = journalUse{}
	g.snapFailed, g.snapWhy = 0, ""
	g.lastActive = g.host.now()
}

// drop lets go of the session and its processes: nothing of a sandbox
// runs between executions, so there is nothing to stop.
func (g *grain) drop() {
	g.sess, g.otp = nil, nil
}

func (g *grain) create(m *wire.Create) response {
	if g.meta == nil {
		if r, done := g.createAtOnce(m); done {
			return r
		}
	}
	err := g.load()
	switch {
	case err == nil:
		if k := g.meta.CreateKey; m.RequestId != "" && k != nil && k.ID == m.RequestId {
			// A retry of the create that made the sandbox.
			if k.Hash != fingerprint(m.Requirements) {
				return failure(ErrRequestMismatch)
			}
			return g.describe()
		}
		return failure(ErrAlreadyExists)
	case !errors.Is(err, ErrNotFound):
		return failure(err)
	}
	req, err := reqCache.decode(m.Requirements)
	if err != nil {
		return failure(err)
	}
	md, raw := g.newMeta(req, m)
	ctx, cancel := g.ctx()
	defer cancel()
	if err := g.host.store.PutMeta(ctx, g.id, raw); err != nil {
		return failure(&StoreError{Op: "write meta", Err: err})
	}
	return g.created(md)
}

// createAtOnce creates the sandbox in one step on a store that can
// (MetaCreator), without reading first. done is false when the sandbox
// exists (or the store cannot, or the requirements do not decode): the
// create then goes the way of any other, which answers a retry or
// ErrAlreadyExists.
func (g *grain) createAtOnce(m *wire.Create) (r response, done bool) {
	mc, ok := g.host.store.(MetaCreator)
	if !ok {
		return nil, false
	}
	req, err := reqCache.decode(m.Requirements)
	if err != nil {
		return nil, false
	}
	md, raw := g.newMeta(req, m)
	ctx, cancel := g.ctx()
	defer cancel()
	created, err := mc.CreateMeta(ctx, g.id, raw)
	switch {
	case errors.Is(err, errors.ErrUnsupported), err == nil && !created:
		return nil, false
	case err != nil:
		return failure(&StoreError{Op: "write meta", Err: err}), true
	}
	return g.created(md), true
}

// newMeta returns the metadata of a sandbox created by m, encoded too.
func (g *grain) newMeta(req Requirements, m *wire.Create) (*meta, []byte) {
	md := &meta{Requirements: req, CreatedAt: g.host.now().UTC().Round(0)}
	if m.RequestId != "" {
		md.CreateKey = &idemKey{ID: m.RequestId, Hash: fingerprint(m.Requirements)}
	}
	raw, _ := json.Marshal(md)
	return md, raw
}

// created makes md the state of a sandbox just created, and describes it.
func (g *grain) created(md *meta) response {
	g.meta = md
	g.seq = 0
	g.fresh()
	g.lifecycle("created")
	return g.describe()
}

func (g *grain) exec(m *wire.Exec) *wire.ExecResult { return g.run(m, false) }

// run executes m; an action's answer carries the code that ran.
func (g *grain) run(m *wire.Exec, action bool) *wire.ExecResult {
	if err := g.load(); err != nil {
		return &wire.ExecResult{Failure: toFailure(err)}
	}
	code := hash64(m.Code)
	if r, ok, err := g.done.get(m.RequestId, code); ok {
		if err != nil {
			return &wire.ExecResult{Failure: toFailure(err)}
		}
		return r // a retry of an execution already journaled
	}
	// One context, cancelled at the caller's deadline or when the caller
	// goes away (host.execs).
	var (
		ctx    context.Context
		cancel context.CancelFunc
	)
	if m.DeadlineUnixNs > 0 {
		ctx, cancel = context.WithDeadline(context.Background(), time.Unix(0, m.DeadlineUnixNs))
	} else {
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()
	at := g.host.now()
	if wait := g.cpu.wait(at); wait > 0 {
		return &wire.ExecResult{Failure: toFailure(&ThrottledError{RetryAfter: wait})}
	}
	budget, err := g.journal.admit(g.meta.Requirements, m.Code)
	if err != nil && g.snapshotMayAdmit(true) || err == nil && budget < g.sess.Limits().MaxSteps && g.snapshotMayAdmit(false) {
		// The journal is full, or its replay quota would stop this
		// execution before its own step limit: a snapshot may make room.
		if g.trySnapshot() {
			budget, err = g.journal.admit(g.meta.Requirements, m.Code)
		} else if g.meta == nil {
			return &wire.ExecResult{Failure: &wire.Failure{Kind: kindRetry}}
		}
	}
	if err != nil {
		return &wire.ExecResult{Failure: toFailure(err)}
	}
	g.otp.SetClock(at)
	seen := g.otp.LastRecord()
	start := time.Now()
	run := g.host.execs.start(g.id, m.RequestId, g.sess.Limits().MaxDuration, cancel)
	if g.w != nil {
		g.w.changes, g.w.dropped = nil, 0
		g.otp.Observe(g.w.collect)
	}
	res, err := g.sess.ExecuteWithin(ctx, m.Code, budget)
	g.otp.Observe(nil)
	g.host.execs.done(run)
	err = g.journal.explain(g.meta.Requirements, budget, g.sess.Limits().MaxSteps, err)
	if run.abandoned.Load() {
		// Stuck past its limits, this activation was given up: another
		// may have started from the journal. Keep nothing, and go.
		g.meta = nil
		g.drop()
		g.stale = true // retire once answered
		return &wire.ExecResult{Failure: &wire.Failure{Kind: kindRetry}}
	}
	g.cpu.take(g.host.now(), time.Since(start))
	g.lastActive = g.host.now()
	if errors.Is(err, engine.ErrBroken) {
		// The session could not undo the failed execution: rebuild it
		// from the journal on the next call.
		g.meta = nil
		g.drop()
	}
	if err != nil {
		g.executed(m.Code, m.Viewer, nil, err)
		return &wire.ExecResult{Failure: toFailure(err)}
	}
	sctx, cancel := g.ctx()
	defer cancel()
	// The expected sequence number fences the journal: an activation
	// that is not the only one (moved away while its member was
	// unreachable) cannot write behind the other's back.
	seq, err := g.host.store.Append(sctx, g.id, Entry{Seq: g.seq + 1, Code: m.Code, At: at, ID: m.RequestId})
	if err != nil {
		// The execution is not durable: rebuild from what is, so memory
		// never holds state the journal lost.
		g.meta = nil
		g.drop()
		if errors.Is(err, ErrConflict) {
			// Another activation wrote: the caller asks again, and finds
			// either this one, reloaded, or the one now placed.
			g.stale = g.moved(sctx)
			return &wire.ExecResult{Failure: &wire.Failure{Kind: kindRetry}}
		}
		return &wire.ExecResult{Failure: toFailure(&StoreError{Op: "append", Err: err})}
	}
	g.seq = seq
	g.journal.add(m.Code, res.Steps)
	if g.w != nil {
		g.executed(m.Code, m.Viewer, res, nil)
	} else {
		g.execsUnseen++
	}
	if f := g.host.onRecord; f != nil {
		for _, rec := range g.otp.RecordsSince(seen) {
			f(g.id, rec)
		}
	}
	r := execResult(res)
	if action {
		r.Code = m.Code
	}
	g.done.put(m.RequestId, code, r)
	if g.snapshotDue() {
		g.trySnapshot()
	}
	return r
}

func execResult(res *Result) *wire.ExecResult {
	return &wire.ExecResult{Value: res.Value, Output: res.Output, Steps: res.Steps, DurationNs: int64(res.Duration)}
}

func (g *grain) describe() response {
	if err := g.load(); err != nil {
		return failure(err)
	}
	st := g.sess.Stats()
	info := Info{
		ID:           g.id,
		Node:         g.host.node,
		State:        StateActive,
		Requirements: g.meta.Requirements,
		CreatedAt:    g.meta.CreatedAt,
		LastActive:   g.lastActive.UTC().Round(0),
		Executions:   g.seq,
		Globals:      st.Globals,
		HeapBytes:    st.HeapBytes,
		Actors:       g.otp.Actors(),
		Journal:      g.journal.info(g.meta.Requirements),
	}
	info.Journal.SnapshotBlocked = g.snapWhy
	return &described{info}
}

// response is what a grain answers a call with: a wire message, or a
// *described, which respond turns into one for a caller on another
// member.
type response = any

// described is an Info as the grain answers it to a caller in this
// process: as it is, not as JSON (decoding it took a fifth of a create's
// CPU). It must be what its JSON reads back as.
type described struct{ info Info }

// respond answers the current call with a.
func (g *grain) respond(ctx actor.Context, a response) {
	if d, ok := a.(*described); ok {
		if s := ctx.Sender(); s == nil || s.Address != ctx.Self().Address {
			raw, _ := json.Marshal(&d.info)
			a = &wire.Reply{Json: raw}
		}
	}
	ctx.Respond(a)
}

func (g *grain) reset(m *wire.Reset) response {
	if err := g.load(); err != nil {
		return failure(err)
	}
	ctx, cancel := g.ctx()
	defer cancel()
	if m.RequestId != "" {
		for _, k := range g.meta.RestartKeys {
			if k.ID == m.RequestId {
				return g.describe() // a retry of a restart already done
			}
		}
		// The key is durable before the journal is emptied: a retry after
		// a failure between the two empties it at most once more, never
		// after executions that followed the restart.
		md := *g.meta
		md.RestartKeys = append(slices.Clone(md.RestartKeys), idemKey{ID: m.RequestId})
		if n := len(md.RestartKeys); n > RestartKeys {
			md.RestartKeys = md.RestartKeys[n-RestartKeys:]
		}
		raw, _ := json.Marshal(&md)
		if err := g.host.store.PutMeta(ctx, g.id, raw); err != nil {
			return failure(&StoreError{Op: "write meta", Err: err})
		}
		g.meta = &md
	}
	if err := g.host.store.Truncate(ctx, g.id); err != nil {
		return failure(&StoreError{Op: "truncate", Err: err})
	}
	g.fresh()
	g.seq = 0
	g.emit(Event{Type: EventRestarted})
	g.lifecycle(EventRestarted)
	g.emit(Event{Type: EventSnapshot, Tree: g.otp.Tree()})
	return g.describe()
}

func (g *grain) destroy() *wire.Reply {
	if err := g.load(); err != nil {
		return failure(err)
	}
	g.drop()
	ctx, cancel := g.ctx()
	defer cancel()
	if err := g.host.store.Delete(ctx, g.id); err != nil {
		return failure(&StoreError{Op: "delete", Err: err})
	}
	g.meta = nil
	return &wire.Reply{}
}

func (g *grain) query(m *wire.Query) *wire.Reply {
	if err := g.load(); err != nil {
		return failure(err)
	}
	var v any
	switch m.What {
	case "tree":
		v = g.otp.Tree()
	case "restarts":
		v = g.otp.Records()
	case "trace":
		v = g.otp.Trace()
	case "process":
		pid, err := g.otp.Lookup(m.Pid, m.Path)
		if err != nil {
			return failure(processError(err))
		}
		if v, err = g.otp.Process(pid); err != nil {
			return failure(processError(err))
		}
	default:
		return failure(errors.New("sandbox: unknown query " + m.What))
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return failure(err)
	}
	return &wire.Reply{Json: raw}
}

// action runs a process action as the code that does it (see
// otp.Runtime.ActionCode): journaled, replayed and watched as any
// execution. A retry of an applied action (its request id known) whose
// process is gone now gets the first answer.
func (g *grain) action(m *wire.Action) *wire.ExecResult {
	if err := g.load(); err != nil {
		return &wire.ExecResult{Failure: toFailure(err)}
	}
	code, err := g.otp.ActionCode(m.Action, m.Pid, m.Path, m.Reason)
	if err != nil {
		if fp, ok := g.done.codeOf(m.RequestId); ok {
			if r, _, err := g.done.get(m.RequestId, fp); err == nil {
				return r
			}
		}
		return &wire.ExecResult{Failure: toFailure(processError(err))}
	}
	return g.run(&wire.Exec{Code: code, DeadlineUnixNs: m.DeadlineUnixNs, RequestId: m.RequestId, Viewer: m.Viewer}, true)
}
