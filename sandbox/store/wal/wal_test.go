package wal_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/storetest"
	"github.com/otpbox/otpbox/sandbox/store/wal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, dir string, cfg wal.Config) *wal.Store {
	t.Helper()
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
