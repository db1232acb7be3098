package pebble_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/bolt"
	"github.com/otpbox/otpbox/sandbox/store/pebble"
	"github.com/otpbox/otpbox/sandbox/store/storetest"
	"github.com/otpbox/otpbox/sandbox/store/wal"
)

// candidates are the journal stores BenchmarkJournal compares, each
// opened in an empty directory.
var candidates = []struct {
	name string
	open func(dir string) (sandbox.Store, error)
}{
	{"bolt", func(dir string) (sandbox.Store, error) { return bolt.Open(filepath.Join(dir, "sandboxes.db")) }},
	{"pebble", func(dir string) (sandbox.Store, error) { return pebble.Open(dir) }},
	{"wal", func(dir string) (sandbox.Store, error) { return wal.Open(dir, wal.Config{}) }},
	{"wal-interval", func(dir string) (sandbox.Store, error) { return wal.Open(dir, wal.Config{Sync: wal.SyncInterval}) }},
}

// BenchmarkJournal compares the candidate journals in one run: durable
// 100-byte appends from 1, 16 and 256 sandboxes at once (wal-interval is
// acknowledged before its sync, for comparison only).
func BenchmarkJournal(b *testing.B) {
	for _, c := range candidates {
		for _, n := range storetest.Appenders {
			b.Run(fmt.Sprintf("store=%s/appenders=%d", c.name, n), func(b *testing.B) {
				s, err := c.open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				storetest.BenchAppend(b, s, n)
			})
		}
	}
}

// BenchmarkBaselineDurableAppend is one 100-byte write and one
// fdatasync, one at a time: what one durable append costs on this disk.
func BenchmarkBaselineDurableAppend(b *testing.B) {
	storetest.BenchDurableAppend(b, b.TempDir())
}
