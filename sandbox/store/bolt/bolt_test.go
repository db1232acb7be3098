package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/bolt"
	"github.com/otpbox/otpbox/sandbox/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sandbox.Store {
		return open(t, filepath.Join(t.TempDir(), "sandboxes.db"))
	})
}

// TestReopen checks that what was written survives closing the file: the
// store is what rebuilds sandboxes after a restart.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandboxes.db")
	s := open(t, path)
	if err := s.PutMeta(ctx, "sb", []byte(`{"limits":{}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x = 1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	defer s.Close()
	es, err := s.Load(ctx, "sb")
	if err != nil || len(es) != 1 || es[0].Code != "x = 1" {
		t.Fatalf("Load after reopen = %v, %v", es, err)
	}
	if seq, err := s.Append(ctx, "sb", sandbox.Entry{Code: "x += 1"}); err != nil || seq != 2 {
		t.Fatalf("Append after reopen = %d, %v; want 2", seq, err)
	}
}

// TestLocked checks that a second Open of the same file fails instead of
// corrupting it.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandboxes.db")
	s := open(t, path)
	defer s.Close()
	s2, err := bolt.Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open = %v, want ErrLocked naming the file", err)
	}
}

// TestEmptyID checks that an id bbolt cannot key is an error, not a
// silently dropped write.
func TestEmptyID(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "sandboxes.db"))
	defer s.Close()
	if _, err := s.Append(ctx, "", sandbox.Entry{Code: "x"}); !errors.Is(err, bolt.ErrEmptyID) {
		t.Fatalf("Append(\"\") = %v, want ErrEmptyID", err)
	}
	if err := s.PutMeta(ctx, "", nil); !errors.Is(err, bolt.ErrEmptyID) {
		t.Fatalf("PutMeta(\"\") = %v, want ErrEmptyID", err)
	}
}
