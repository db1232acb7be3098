package wal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/storetest"
	"github.com/otpbox/otpbox/sandbox/store/wal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// quiet keeps the expected warnings (torn logs) out of the test output.
var quiet = slog.New(slog.DiscardHandler)

func open(t *testing.T, dir string, cfg wal.Config) *wal.Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s, err := wal.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	for _, mode := range []wal.SyncMode{wal.SyncAlways, wal.SyncInterval} {
		t.Run(mode.String(), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) sandbox.Store {
				return open(t, filepath.Join(t.TempDir(), "journal"), wal.Config{Sync: mode})
			})
		})
	}
	// Small segments: records of one journal spread over many files, and
	// the compactor runs while the suite writes.
	t.Run("small segments", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) sandbox.Store {
			return open(t, t.TempDir(), wal.Config{SegmentSize: 512, CompactRatio: 1.1})
		})
	})
}

// model is what the store should hold.
type model struct {
	meta    map[string]string
	entries map[string][]string // the first may be a snapshot's code
	base    map[string]uint64   // the sequence numbers before entries[id][0]
	snap    map[string]bool     // entries[id][0] is a snapshot
}

func (m *model) check(t *testing.T, s *wal.Store, when string) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for id := range m.meta {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	got, err := s.List(ctx)
	if err != nil || !slices.Equal(got, ids) {
		t.Fatalf("%s: List = %v, %v; want %v", when, got, err, ids)
	}
	for i := range 12 {
		id := fmt.Sprintf("sb%d", i)
		es, err := s.Load(ctx, id)
		if err != nil {
			t.Fatalf("%s: Load(%s): %v", when, id, err)
		}
		var codes []string
		for j, e := range es {
			if e.Seq != m.base[id]+uint64(j+1) || e.Snapshot != (j == 0 && m.snap[id]) {
				t.Fatalf("%s: %s entry %d has seq %d", when, id, j, e.Seq)
			}
			codes = append(codes, e.Code)
		}
		if !slices.Equal(codes, m.entries[id]) {
			t.Fatalf("%s: Load(%s) = %q, want %q", when, id, codes, m.entries[id])
		}
		meta, err := s.GetMeta(ctx, id)
		want, ok := m.meta[id]
		if ok != (err == nil) || string(meta) != want {
			t.Fatalf("%s: GetMeta(%s) = %q, %v; want %q (present %v)", when, id, meta, err, want, ok)
		}
	}
}

// TestModel runs random writes against small segments, compacting and
// reopening the store along the way, and compares everything it reads
// with a model.
func TestModel(t *testing.T) {
	for _, mode := range []wal.SyncMode{wal.SyncAlways, wal.SyncInterval} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := wal.Config{Sync: mode, SegmentSize: 1024, CompactRatio: 1.2}
			s := open(t, dir, cfg)
			defer func() { s.Close() }()
			m := &model{meta: map[string]string{}, entries: map[string][]string{}, base: map[string]uint64{}, snap: map[string]bool{}}
			rng := rand.New(rand.NewPCG(1, uint64(mode)))
			for step := range 3000 {
				id := fmt.Sprintf("sb%d", rng.IntN(12))
				switch op := rng.IntN(100); {
				case op < 65:
					code := fmt.Sprintf("x%d = %s", step, strings.Repeat("y", rng.IntN(64)))
					next := m.base[id] + uint64(len(m.entries[id])) + 1
					seq, err := s.Append(ctx, id, sandbox.Entry{Seq: next, Code: code})
					if err != nil || seq != next {
						t.Fatalf("step %d: Append = %d, %v; want %d", step, seq, err, next)
					}
					m.entries[id] = append(m.entries[id], code)
				case op < 70:
					last := m.base[id] + uint64(len(m.entries[id]))
					if last == 0 {
						continue
					}
					code := fmt.Sprintf("snap%d = %s", step, strings.Repeat("z", rng.IntN(300)))
					if err := s.PutSnapshot(ctx, id, sandbox.Entry{Seq: last, Code: code, Snapshot: true}); err != nil {
						t.Fatalf("step %d: PutSnapshot at %d: %v", step, last, err)
					}
					m.entries[id], m.base[id], m.snap[id] = []string{code}, last-1, true
				case op < 80:
					meta := fmt.Sprintf(`{"step":%d}`, step)
					if err := s.PutMeta(ctx, id, []byte(meta)); err != nil {
						t.Fatal(err)
					}
					m.meta[id] = meta
				case op < 85:
					if err := s.Truncate(ctx, id); err != nil {
						t.Fatal(err)
					}
					delete(m.entries, id)
					delete(m.base, id)
					delete(m.snap, id)
				case op < 92:
					if err := s.Delete(ctx, id); err != nil {
						t.Fatal(err)
					}
					delete(m.entries, id)
					delete(m.base, id)
					delete(m.snap, id)
					delete(m.meta, id)
				case op < 96:
					if err := s.Compact(ctx); err != nil {
						t.Fatalf("step %d: Compact: %v", step, err)
					}
					m.check(t, s, fmt.Sprintf("step %d, compacted", step))
				default:
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s = open(t, dir, cfg)
					m.check(t, s, fmt.Sprintf("step %d, reopened", step))
				}
			}
			m.check(t, s, "end")
			if st := s.Stats(); st.Bytes > 3*st.LiveBytes+4*1024 {
				t.Errorf("log not reclaimed: %+v", st)
			}
		})
	}
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestReclaimsTerminatedSandboxes: the journals of deleted sandboxes
// leave the disk, the survivors' records move to the head and survive a
// reopen.
func TestReclaimsTerminatedSandboxes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := wal.Config{SegmentSize: 4096}
	s := open(t, dir, cfg)
	defer func() { s.Close() }()
	for i := range 100 {
		id := fmt.Sprintf("sb%d", i)
		if err := s.PutMeta(ctx, id, []byte(`{"limits":{}}`)); err != nil {
			t.Fatal(err)
		}
		for j := range 10 {
			if _, err := s.Append(ctx, id, sandbox.Entry{Code: fmt.Sprintf("x = %d # %s", j, strings.Repeat("-", 40))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := s.Stats()
	if before.Segments < 15 || len(segments(t, dir)) != before.Segments {
		t.Fatalf("before: %+v, files %v", before, segments(t, dir))
	}
	for i := 2; i < 100; i++ {
		if err := s.Delete(ctx, fmt.Sprintf("sb%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	if after.Segments > 3 || len(segments(t, dir)) != after.Segments || after.Sandboxes != 2 || after.Bytes > 3*4096 {
		t.Fatalf("after deleting 98 of 100 sandboxes: %+v (before %+v), files %v", after, before, segments(t, dir))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, cfg)
	for _, id := range []string{"sb0", "sb1"} {
		es, err := s.Load(ctx, id)
		if err != nil || len(es) != 10 || es[9].Code != "x = 9 # "+strings.Repeat("-", 40) {
			t.Fatalf("Load(%s) after compaction and reopen = %d entries, %v", id, len(es), err)
		}
		if seq, err := s.Append(ctx, id, sandbox.Entry{Seq: 11, Code: "y"}); err != nil || seq != 11 {
			t.Fatalf("Append(%s) = %d, %v", id, seq, err)
		}
	}
	if ids, _ := s.List(ctx); !slices.Equal(ids, []string{"sb0", "sb1"}) {
		t.Fatalf("List = %v", ids)
	}
}

// TestCompactsByItself: past the ratio, the store reclaims space as it
// writes, without Compact being called.
func TestCompactsByItself(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, wal.Config{SegmentSize: 2048})
	defer s.Close()
	for i := range 400 {
		id := fmt.Sprintf("sb%d", i)
		if _, err := s.Append(ctx, id, sandbox.Entry{Code: strings.Repeat("z", 100)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// The compactor runs on its own goroutine: the last rotation's pass
	// may still run, so wait for it by taking a pass of our own.
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Segments > 2 || st.LiveBytes != 0 {
		t.Fatalf("stats after 400 sandboxes came and went: %+v", st)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, wal.Config{})
	if err := s.PutMeta(ctx, "sb", []byte(`{"limits":{}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x = 1", ID: "req-1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, wal.Config{})
	defer s.Close()
	es, err := s.Load(ctx, "sb")
	if err != nil || len(es) != 1 || es[0].Code != "x = 1" || es[0].ID != "req-1" {
		t.Fatalf("Load after reopen = %v, %v", es, err)
	}
	if seq, err := s.Append(ctx, "sb", sandbox.Entry{Seq: 2, Code: "x += 1"}); err != nil || seq != 2 {
		t.Fatalf("Append after reopen = %d, %v; want 2", seq, err)
	}
}

// TestLocked: a second Open of the directory fails at once, naming the
// directory and the process that holds it.
func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, wal.Config{})
	defer s.Close()
	s2, err := wal.Open(dir, wal.Config{})
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a locked directory succeeded")
	}
	var le *wal.LockedError
	if !errors.Is(err, wal.ErrLocked) || !errors.As(err, &le) || le.PID != os.Getpid() ||
		!strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("second Open = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := open(t, dir, wal.Config{}) // released by Close
	s3.Close()
}

// TestTornTail: a record cut short by a crash ends the log; what came
// before it is kept and the store writes on from there.
func TestTornTail(t *testing.T) {
	ctx := context.Background()
	for _, cut := range []int{1, 5, 9, 20} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, wal.Config{})
			for _, code := range []string{"a = 1", "b = 2", "c = 3"} {
				if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: code}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			seg := segments(t, dir)[0]
			fi, _ := os.Stat(seg)
			if err := os.Truncate(seg, fi.Size()-int64(cut)); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir, wal.Config{})
			defer s.Close()
			checkLoad(t, s, "sb", "a = 1", "b = 2")
			if seq, err := s.Append(ctx, "sb", sandbox.Entry{Seq: 3, Code: "d = 4"}); err != nil || seq != 3 {
				t.Fatalf("Append after repair = %d, %v", seq, err)
			}
			checkLoad(t, s, "sb", "a = 1", "b = 2", "d = 4")
		})
	}
}

// TestPreallocatedTail: segments are preallocated ahead of the writes
// (where the filesystem can), so a store that stops without Close (a
// crash, kill -9) leaves zeros after its last record. They end the log
// cleanly: every record is there, nothing is reported torn, the store
// writes on from there, and a Close leaves the file the size of its
// records. A crash that left a rotated segment's tail is the same.
func TestPreallocatedTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := wal.Config{SegmentSize: 1 << 20}
	s := open(t, dir, cfg)
	defer s.Close()
	var codes []string
	for i := range 30 {
		codes = append(codes, fmt.Sprintf("x = %d", i))
		if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: codes[i]}); err != nil {
			t.Fatal(err)
		}
	}
	seg := segments(t, dir)[0]
	live, err := os.ReadFile(seg) // the image a crash now leaves: Append synced it
	if err != nil {
		t.Fatal(err)
	}
	if len(live) < 1<<20 {
		t.Skipf("the filesystem of %s does not preallocate (segment of %d bytes)", dir, len(live))
	}
	crashed := t.TempDir()
	if err := os.WriteFile(filepath.Join(crashed, filepath.Base(seg)), live, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c := open(t, crashed, cfg)
	checkLoad(t, c, "sb", codes...)
	if logs.Len() != 0 {
		t.Errorf("reopened after a crash, the store logged %s", logs.String())
	}
	codes = append(codes, "y = 1")
	if seq, err := c.Append(ctx, "sb", sandbox.Entry{Seq: 31, Code: "y = 1"}); err != nil || seq != 31 {
		t.Fatalf("Append after the crash = %d, %v", seq, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = open(t, crashed, cfg)
	checkLoad(t, c, "sb", codes...)
	size := c.Stats().Bytes
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(crashed, filepath.Base(seg))); err != nil || fi.Size() != size {
		t.Errorf("closed, the segment is %d bytes, want its records' %d (%v)", fi.Size(), size, err)
	}

	// Zeros after the records of a segment the log moved on from (the
	// crash came before the writer trimmed it).
	rotated := t.TempDir()
	small := wal.Config{SegmentSize: 256, Logger: cfg.Logger}
	r := open(t, rotated, small)
	codes = codes[:0]
	for i := range 20 {
		codes = append(codes, fmt.Sprintf("x = %d # padding padding padding", i))
		if _, err := r.Append(ctx, "sb", sandbox.Entry{Code: codes[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	first := segments(t, rotated)[0]
	b, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first, append(b, make([]byte, 4096)...), 0o600); err != nil {
		t.Fatal(err)
	}
	r = open(t, rotated, small)
	defer r.Close()
	checkLoad(t, r, "sb", codes...)
	if logs.Len() != 0 {
		t.Errorf("reopened, the store logged %s", logs.String())
	}
}

// TestCorruptRecordEndsTheLog: a bad checksum in the first of several
// segments ends the log there; the later segments go.
func TestCorruptRecordEndsTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := wal.Config{SegmentSize: 256}
	s := open(t, dir, cfg)
	for i := range 20 {
		if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: fmt.Sprintf("x = %d # padding padding padding", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segments(t, dir)
	if len(segs) < 3 {
		t.Fatalf("segments = %v", segs)
	}
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-2] ^= 0xFF // in the last record of the first segment
	if err := os.WriteFile(segs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, cfg)
	defer s.Close()
	es, err := s.Load(ctx, "sb")
	if err != nil || len(es) == 0 || len(es) >= 20 {
		t.Fatalf("Load = %d entries, %v", len(es), err)
	}
	if got := segments(t, dir); len(got) != 1 {
		t.Fatalf("segments after repair = %v", got)
	}
}

// TestIntervalAcknowledgesBeforeSync: with SyncInterval a write returns
// once written; the sync comes with the interval (here, at Close).
func TestIntervalAcknowledgesBeforeSync(t *testing.T) {
	s := open(t, t.TempDir(), wal.Config{Sync: wal.SyncInterval, SyncInterval: time.Hour})
	for range 10 {
		if _, err := s.Append(context.Background(), "sb", sandbox.Entry{Code: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Syncs != 0 || st.Writes == 0 {
		t.Fatalf("stats = %+v, want writes and no sync", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyID(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), wal.Config{})
	defer s.Close()
	if _, err := s.Append(ctx, "", sandbox.Entry{Code: "x"}); !errors.Is(err, wal.ErrEmptyID) {
		t.Fatalf("Append(\"\") = %v, want ErrEmptyID", err)
	}
	if err := s.PutMeta(ctx, "", nil); !errors.Is(err, wal.ErrEmptyID) {
		t.Fatalf("PutMeta(\"\") = %v, want ErrEmptyID", err)
	}
}

func TestForeignFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "00000001.wal"), []byte("not a journal segment"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := wal.Open(dir, wal.Config{}); !errors.Is(err, wal.ErrCorrupt) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open over a foreign file = %v, want ErrCorrupt", err)
	}
}

func checkLoad(t *testing.T, s *wal.Store, id string, want ...string) {
	t.Helper()
	es, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Code)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Load(%s) = %q, want %q", id, got, want)
	}
}

// FuzzOpen: whatever bytes follow a segment's header, Open replays what
// is sound and never panics.
func FuzzOpen(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{5, 0, 0, 0, 1, 2, 3, 4, 1, 2, 's', 'b', 1})
	f.Add(bytes.Repeat([]byte{0xFF}, 40))
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000001.wal"), append([]byte("OTPBWAL\x01"), tail...), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := wal.Open(dir, wal.Config{Logger: quiet})
		if err != nil {
			if !errors.Is(err, wal.ErrCorrupt) {
				t.Fatalf("Open = %v", err)
			}
			return
		}
		defer s.Close()
		ctx := context.Background()
		ids, _ := s.List(ctx)
		for _, id := range append(ids, "sb") {
			_, _ = s.Load(ctx, id)
		}
		if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x"}); err != nil {
			t.Fatalf("Append after Open = %v", err)
		}
	})
}
