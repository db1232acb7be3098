// Package storetest is the conformance suite of sandbox.Store: every
// implementation runs it, so they are interchangeable.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpbox/otpbox/sandbox"
)

// Run checks the contract of sandbox.Store. newStore returns an empty
// store for one subtest (registering its own cleanup); Run closes it.
func Run(t *testing.T, newStore func(t *testing.T) sandbox.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s sandbox.Store)
	}{
		{"AppendLoad", testAppendLoad},
		{"LoadUnknown", testLoadUnknown},
		{"SeqConflict", testSeqConflict},
		{"Meta", testMeta},
		{"List", testList},
		{"Truncate", testTruncate},
		{"Delete", testDelete},
		{"IDsAreDistinct", testIDsAreDistinct},
		{"BinaryCode", testBinaryCode},
		{"RequestIDs", testRequestIDs},
		{"ConcurrentAppend", testConcurrentAppend},
		{"CancelledContext", testCancelledContext},
		{"Closed", testClosed},
		{"Snapshot", testSnapshot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

func mustAppend(t *testing.T, s sandbox.Store, id string, e sandbox.Entry) uint64 {
	t.Helper()
	seq, err := s.Append(context.Background(), id, e)
	if err != nil {
		t.Fatalf("Append(%q, %q): %v", id, e.Code, err)
	}
	return seq
}

func mustLoad(t *testing.T, s sandbox.Store, id string) []sandbox.Entry {
	t.Helper()
	es, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load(%q): %v", id, err)
	}
	return es
}

func checkCodes(t *testing.T, got []sandbox.Entry, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("journal has %d entries %v, want %d %q", len(got), got, len(want), want)
	}
	for i, e := range got {
		if e.Code != want[i] || e.Seq != uint64(i+1) {
			t.Fatalf("entry %d = {Seq: %d, Code: %q}, want {Seq: %d, Code: %q}", i, e.Seq, e.Code, i+1, want[i])
		}
	}
}

func testAppendLoad(t *testing.T, s sandbox.Store) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)
	for i, code := range []string{"x = 1", "x += 1", "x"} {
		if seq := mustAppend(t, s, "sb", sandbox.Entry{Code: code, At: at.Add(time.Duration(i))}); seq != uint64(i+1) {
			t.Fatalf("Append #%d returned seq %d", i+1, seq)
		}
	}
	got := mustLoad(t, s, "sb")
	checkCodes(t, got, "x = 1", "x += 1", "x")
	for i, e := range got {
		if want := at.Add(time.Duration(i)); !e.At.Equal(want) {
			t.Fatalf("entry %d At = %v, want %v", i, e.At, want)
		}
	}
	if mustAppend(t, s, "sb", sandbox.Entry{Code: "zero time"}) != 4 {
		t.Fatal("fourth append is not seq 4")
	}
	if e := mustLoad(t, s, "sb")[3]; !e.At.IsZero() {
		t.Fatalf("zero At came back as %v", e.At)
	}
}

// testRequestIDs: entries keep their request id, entries without one mix
// with them, and an id over 255 bytes is refused without a write.
func testRequestIDs(t *testing.T, s sandbox.Store) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	mustAppend(t, s, "sb", sandbox.Entry{Code: "x = 1", At: at, ID: "req-1"})
	mustAppend(t, s, "sb", sandbox.Entry{Code: "x += 1", At: at})
	mustAppend(t, s, "sb", sandbox.Entry{Code: "\xfe\x01 code that looks like a marker", ID: strings.Repeat("i", 255)})
	if _, err := s.Append(context.Background(), "sb", sandbox.Entry{Code: "x", ID: strings.Repeat("i", 256)}); err == nil {
		t.Fatal("Append accepted a 256-byte request id")
	}
	got := mustLoad(t, s, "sb")
	checkCodes(t, got, "x = 1", "x += 1", "\xfe\x01 code that looks like a marker")
	if got[0].ID != "req-1" || got[1].ID != "" || got[2].ID != strings.Repeat("i", 255) {
		t.Fatalf("ids = %q, %q, %q", got[0].ID, got[1].ID, got[2].ID)
	}
	if !got[0].At.Equal(at) || !got[1].At.Equal(at) {
		t.Fatalf("times = %v, %v", got[0].At, got[1].At)
	}
}

func testLoadUnknown(t *testing.T, s sandbox.Store) {
	if got := mustLoad(t, s, "nobody"); len(got) != 0 {
		t.Fatalf("Load(unknown) = %v, want empty", got)
	}
}

func testSeqConflict(t *testing.T, s sandbox.Store) {
	mustAppend(t, s, "sb", sandbox.Entry{Code: "a"})
	for _, seq := range []uint64{1, 3, 100} {
		_, err := s.Append(context.Background(), "sb", sandbox.Entry{Seq: seq, Code: "bad"})
		if !errors.Is(err, sandbox.ErrConflict) {
			t.Fatalf("Append(Seq: %d) with next 2 = %v, want ErrConflict", seq, err)
		}
	}
	if seq := mustAppend(t, s, "sb", sandbox.Entry{Seq: 2, Code: "b"}); seq != 2 {
		t.Fatalf("Append(Seq: 2) = %d", seq)
	}
	if _, err := s.Append(context.Background(), "fresh", sandbox.Entry{Seq: 2, Code: "x"}); !errors.Is(err, sandbox.ErrConflict) {
		t.Fatalf("Append(Seq: 2) to empty journal = %v, want ErrConflict", err)
	}
	mustAppend(t, s, "fresh", sandbox.Entry{Seq: 1, Code: "x"})
	checkCodes(t, mustLoad(t, s, "sb"), "a", "b")
	checkCodes(t, mustLoad(t, s, "fresh"), "x")
}

func testMeta(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	if _, err := s.GetMeta(ctx, "sb"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Fatalf("GetMeta(unknown) = %v, want ErrNotFound", err)
	}
	for _, meta := range []string{`{"v":1}`, `{"v":2}`, ""} {
		if err := s.PutMeta(ctx, "sb", []byte(meta)); err != nil {
			t.Fatalf("PutMeta: %v", err)
		}
		got, err := s.GetMeta(ctx, "sb")
		if err != nil || string(got) != meta {
			t.Fatalf("GetMeta = %q, %v; want %q", got, err, meta)
		}
	}
}

func testList(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	if ids, err := s.List(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("List(empty) = %v, %v", ids, err)
	}
	for _, id := range []string{"c", "a", "b"} {
		if err := s.PutMeta(ctx, id, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(t, s, "journal-only", sandbox.Entry{Code: "x"})
	ids, err := s.List(ctx)
	if err != nil || !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("List = %v, %v; want [a b c]", ids, err)
	}
}

func testTruncate(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	if err := s.PutMeta(ctx, "sb", []byte("m")); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "sb", sandbox.Entry{Code: "a"})
	mustAppend(t, s, "sb", sandbox.Entry{Code: "b"})
	if err := s.Truncate(ctx, "sb"); err != nil {
		t.Fatalf("Truncate: %v", err)
	}
	checkCodes(t, mustLoad(t, s, "sb"))
	if m, err := s.GetMeta(ctx, "sb"); err != nil || string(m) != "m" {
		t.Fatalf("GetMeta after Truncate = %q, %v", m, err)
	}
	if seq := mustAppend(t, s, "sb", sandbox.Entry{Seq: 1, Code: "c"}); seq != 1 {
		t.Fatalf("first Append after Truncate = seq %d", seq)
	}
	if err := s.Truncate(ctx, "nobody"); err != nil {
		t.Fatalf("Truncate(unknown) = %v", err)
	}
}

func testDelete(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	if err := s.PutMeta(ctx, "sb", []byte("m")); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "sb", sandbox.Entry{Code: "a"})
	if err := s.Delete(ctx, "sb"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.GetMeta(ctx, "sb"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Fatalf("GetMeta after Delete = %v, want ErrNotFound", err)
	}
	checkCodes(t, mustLoad(t, s, "sb"))
	if ids, _ := s.List(ctx); slices.Contains(ids, "sb") {
		t.Fatalf("List after Delete = %v", ids)
	}
	if err := s.Delete(ctx, "sb"); err != nil {
		t.Fatalf("Delete(unknown) = %v", err)
	}
	if seq := mustAppend(t, s, "sb", sandbox.Entry{Code: "again"}); seq != 1 {
		t.Fatalf("Append after Delete = seq %d, want 1", seq)
	}
}

func testIDsAreDistinct(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	ids := []string{"a", "ab", "a:b", "a/b", "journal", "meta", "sandboxes", "üñï"}
	for _, id := range ids {
		mustAppend(t, s, id, sandbox.Entry{Code: "code of " + id})
		if err := s.PutMeta(ctx, id, []byte("meta of "+id)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		checkCodes(t, mustLoad(t, s, id), "code of "+id)
		if m, err := s.GetMeta(ctx, id); err != nil || string(m) != "meta of "+id {
			t.Fatalf("GetMeta(%q) = %q, %v", id, m, err)
		}
	}
	want := slices.Sorted(slices.Values(ids))
	if got, err := s.List(ctx); err != nil || !slices.Equal(got, want) {
		t.Fatalf("List = %q, %v; want %q", got, err, want)
	}
}

func testBinaryCode(t *testing.T, s sandbox.Store) {
	codes := []string{"", "\x00\xff\n", "print('héllo, 世界')", string(make([]byte, 64<<10))}
	for _, c := range codes {
		mustAppend(t, s, "sb", sandbox.Entry{Code: c})
	}
	checkCodes(t, mustLoad(t, s, "sb"), codes...)
}

func testConcurrentAppend(t *testing.T, s sandbox.Store) {
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Append(context.Background(), "sb", sandbox.Entry{Code: fmt.Sprintf("%d/%d", w, i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Append: %v", err)
	}
	got := mustLoad(t, s, "sb")
	if len(got) != writers*each {
		t.Fatalf("journal has %d entries, want %d", len(got), writers*each)
	}
	seen := make(map[string]bool)
	for i, e := range got {
		if e.Seq != uint64(i+1) || seen[e.Code] {
			t.Fatalf("entry %d = %+v (duplicate or out of sequence)", i, e)
		}
		seen[e.Code] = true
	}
}

func testCancelledContext(t *testing.T, s sandbox.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append(cancelled) = %v, want context.Canceled", err)
	}
	if err := s.PutMeta(ctx, "sb", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutMeta(cancelled) = %v, want context.Canceled", err)
	}
	checkCodes(t, mustLoad(t, s, "sb"))
}

func testClosed(t *testing.T, s sandbox.Store) {
	ctx := context.Background()
	mustAppend(t, s, "sb", sandbox.Entry{Code: "x"})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "y"}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Load(ctx, "sb"); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Load after Close = %v, want ErrClosed", err)
	}
	if _, err := s.GetMeta(ctx, "sb"); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("GetMeta after Close = %v, want ErrClosed", err)
	}
}

// testSnapshot: a snapshot replaces the journal and keeps its numbering;
// one at the wrong sequence number changes nothing (stores that are a
// sandbox.Snapshotter).
func testSnapshot(t *testing.T, s sandbox.Store) {
	sn, ok := s.(sandbox.Snapshotter)
	if !ok {
		t.Skip("not a sandbox.Snapshotter")
	}
	ctx := context.Background()
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	if err := sn.PutSnapshot(ctx, "sb", sandbox.Entry{Seq: 1, Code: "x = 1", Snapshot: true}); !errors.Is(err, sandbox.ErrConflict) {
		t.Fatalf("PutSnapshot of an empty journal = %v, want ErrConflict", err)
	}
	for _, code := range []string{"x = 1", "x += 1", "x += 1"} {
		mustAppend(t, s, "sb", sandbox.Entry{Code: code, ID: "r-" + code})
	}
	mustAppend(t, s, "other", sandbox.Entry{Code: "y = 1"})
	for _, seq := range []uint64{0, 2, 4} {
		if err := sn.PutSnapshot(ctx, "sb", sandbox.Entry{Seq: seq, Code: "x = 99", Snapshot: true}); !errors.Is(err, sandbox.ErrConflict) {
			t.Fatalf("PutSnapshot at %d of a journal at 3 = %v, want ErrConflict", seq, err)
		}
	}
	checkCodes(t, mustLoad(t, s, "sb"), "x = 1", "x += 1", "x += 1")

	if err := sn.PutSnapshot(ctx, "sb", sandbox.Entry{Seq: 3, Code: "x = 3", At: at, Snapshot: true}); err != nil {
		t.Fatalf("PutSnapshot: %v", err)
	}
	want := []sandbox.Entry{{Seq: 3, Code: "x = 3", At: at, Snapshot: true}}
	if got := mustLoad(t, s, "sb"); !slices.EqualFunc(got, want, sameEntry) {
		t.Fatalf("Load after PutSnapshot = %+v, want %+v", got, want)
	}
	if seq := mustAppend(t, s, "sb", sandbox.Entry{Seq: 4, Code: "x += 1", ID: "r4"}); seq != 4 {
		t.Fatalf("Append after the snapshot = seq %d, want 4", seq)
	}
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Seq: 4, Code: "again"}); !errors.Is(err, sandbox.ErrConflict) {
		t.Fatalf("Append at 4 twice = %v, want ErrConflict", err)
	}
	if seq := mustAppend(t, s, "sb", sandbox.Entry{Code: "x += 1"}); seq != 5 {
		t.Fatalf("Append after the snapshot = seq %d, want 5", seq)
	}
	want = append(want, sandbox.Entry{Seq: 4, Code: "x += 1", ID: "r4"}, sandbox.Entry{Seq: 5, Code: "x += 1"})
	if got := mustLoad(t, s, "sb"); !slices.EqualFunc(got, want, sameEntry) {
		t.Fatalf("Load = %+v, want %+v", got, want)
	}

	// A snapshot of a journal that starts with one.
	if err := sn.PutSnapshot(ctx, "sb", sandbox.Entry{Seq: 5, Code: "x = 5", At: at, Snapshot: true}); err != nil {
		t.Fatalf("second PutSnapshot: %v", err)
	}
	want = []sandbox.Entry{{Seq: 5, Code: "x = 5", At: at, Snapshot: true}}
	if got := mustLoad(t, s, "sb"); !slices.EqualFunc(got, want, sameEntry) {
		t.Fatalf("Load after the second PutSnapshot = %+v, want %+v", got, want)
	}
	checkCodes(t, mustLoad(t, s, "other"), "y = 1")

	// Truncate starts the numbering again; Delete removes the snapshot.
	if err := s.Truncate(ctx, "sb"); err != nil {
		t.Fatal(err)
	}
	checkCodes(t, mustLoad(t, s, "sb"))
	if seq := mustAppend(t, s, "sb", sandbox.Entry{Seq: 1, Code: "a"}); seq != 1 {
		t.Fatalf("Append after Truncate = seq %d", seq)
	}
	if err := sn.PutSnapshot(ctx, "sb", sandbox.Entry{Seq: 1, Code: "a = 1", Snapshot: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "sb"); err != nil {
		t.Fatal(err)
	}
	checkCodes(t, mustLoad(t, s, "sb"))
	if seq := mustAppend(t, s, "sb", sandbox.Entry{Code: "b"}); seq != 1 {
		t.Fatalf("Append after Delete = seq %d", seq)
	}
}

func sameEntry(a, b sandbox.Entry) bool {
	return a.Seq == b.Seq && a.Code == b.Code && a.ID == b.ID && a.Snapshot == b.Snapshot && a.At.Equal(b.At)
}
