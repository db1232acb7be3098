// Package wal is a sandbox.Store in a segmented append-only log on local
// disk: the embedded default, for a single node, built for appends from
// many sandboxes at once.
//
// # Group commit
//
// Every write (an entry, metadata, a truncation or a deletion) is a
// record appended to the log under one short lock that checks the
// sequence number, assigns the record its place and updates the index in
// memory. One writer goroutine takes what accumulated since it last
// did, writes it with one write(2) and, with SyncAlways (the default),
// makes it durable with one fdatasync before it takes the next group:
// while a fdatasync runs, new records gather, and the next write and
// fdatasync cover all of them. A write returns once its record is
// durable or, with SyncInterval, once it has reached the operating
// system (a syncer goroutine then syncs every Config.SyncInterval): a
// crash of the process loses nothing it acknowledged in either mode, a
// crash of the machine may lose up to one interval with SyncInterval.
//
// Reads are served from the index (which keeps, per sandbox, its
// metadata and where each entry lies) and the segment files, and never
// see a record before it is durable in the store's mode.
//
// # Files
//
// The directory holds a lock file, LOCK (one process at a time: Open
// fails with ErrLocked naming the process that holds it), and segments
// 00000001.wal, 00000002.wal, …, each at most Config.SegmentSize bytes
// (one record may exceed it alone). A segment starts with an 8-byte
// magic; then records, each a frame of its body's length (4 bytes,
// little-endian), the CRC-32C of the body (4 bytes) and the body: the
// record's type, the sandbox id (uvarint length and bytes) and, for an
// entry, its sequence number (uvarint) and the entry in the stores'
// shared encoding; for metadata, the metadata.
//
// Open replays every segment in order to rebuild the index. A torn or
// corrupt record ends the log: the segment is cut there and later
// segments are removed (nothing acknowledged can lie past it in
// SyncAlways mode, since a record is acknowledged only once everything
// before it is durable).
//
// # Reclaiming space
//
// Terminating a sandbox (Delete) or resetting it (Truncate) makes its
// records dead. The compactor reclaims the oldest segments: a segment
// with no live record is removed; while the log is more than
// Config.CompactRatio times its live bytes, the oldest segment's live
// records are written again at the head of the log, made durable, and
// the segment is removed. Only the oldest segment is ever removed, so a
// deletion's record always outlives the records it killed.
package wal
