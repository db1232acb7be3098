// Package pebble is a sandbox.Store on CockroachDB's Pebble (an LSM tree
// whose write-ahead log group-commits synced batches): one of the
// candidates measured beside sandbox/store/wal and sandbox/store/bolt by
// BenchmarkJournal. It is a module of its own, so that the node does not
// carry Pebble's dependencies; the node uses sandbox/store/wal.
//
// Layout: "m" + id holds a sandbox's metadata; "j" + id + 0x00 + the
// big-endian sequence number holds an entry (ids cannot contain 0x00
// here). Every write is a Pebble batch committed with Sync. A striped lock
// per sandbox id and a cache of each journal's last sequence number make
// the sequence check and the write atomic.
package pebble
