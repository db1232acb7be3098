// Package codec is the byte encoding of journal entries shared by the
// store implementations: 8 bytes of big-endian Unix nanoseconds (the
// minimum int64 for the zero time), then the code. An entry with a request
// id starts with the marker 0xFE 0x01, the id's length (one byte) and the
// id; a snapshot (sandbox.Entry.Snapshot) starts with the marker 0xFE
// 0x02 and its sequence number (8 bytes, big-endian). No timestamp the
// stores write starts with 0xFE (that is before 1700), so older entries
// decode as they are. The sequence number of any other entry is its
// position, kept by each store.
package codec

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/otpbox/otpbox/sandbox"
)

// ErrCorrupt reports bytes too short to be an entry.
var ErrCorrupt = errors.New("codec: corrupt journal entry")

// marker starts an entry with a request id, snapMarker a snapshot.
var (
	marker     = [2]byte{0xFE, 0x01}
	snapMarker = [2]byte{0xFE, 0x02}
)

// snapHead is the length of a snapshot's marker and sequence number.
const snapHead = 10

// MaxIDLen is the longest request id an entry keeps.
const MaxIDLen = 255

// ErrIDTooLong reports an entry whose ID is over MaxIDLen bytes.
var ErrIDTooLong = errors.New("codec: request id over 255 bytes")

// ErrSnapshotID reports a snapshot with a request id.
var ErrSnapshotID = errors.New("codec: a snapshot has no request id")

// Encode returns e's bytes; e.Seq is part of them only for a snapshot.
func Encode(e sandbox.Entry) ([]byte, error) {
	if len(e.ID) > MaxIDLen {
		return nil, ErrIDTooLong
	}
	head := 0
	switch {
	case e.Snapshot && e.ID != "":
		return nil, ErrSnapshotID
	case e.Snapshot:
		head = snapHead
	case e.ID != "":
		head = 3 + len(e.ID)
	}
	b := make([]byte, head+8+len(e.Code))
	switch {
	case e.Snapshot:
		b[0], b[1] = snapMarker[0], snapMarker[1]
		binary.BigEndian.PutUint64(b[2:], e.Seq)
	case e.ID != "":
		b[0], b[1], b[2] = marker[0], marker[1], byte(len(e.ID))
		copy(b[3:], e.ID)
	}
	at := int64(math.MinInt64)
	if !e.At.IsZero() {
		at = e.At.UnixNano()
	}
	binary.BigEndian.PutUint64(b[head:], uint64(at))
	copy(b[head+8:], e.Code)
	return b, nil
}

// Decode returns the entry encoded in b, with sequence number seq (a
// snapshot has its own).
func Decode(seq uint64, b []byte) (sandbox.Entry, error) {
	var (
		id   string
		snap bool
	)
	if len(b) >= 2 && b[0] == snapMarker[0] && b[1] == snapMarker[1] {
		if len(b) < snapHead {
			return sandbox.Entry{}, ErrCorrupt
		}
		seq, snap, b = binary.BigEndian.Uint64(b[2:]), true, b[snapHead:]
	} else if len(b) >= 3 && b[0] == marker[0] && b[1] == marker[1] {
		n := int(b[2])
		if len(b) < 3+n {
			return sandbox.Entry{}, ErrCorrupt
		}
		id, b = string(b[3:3+n]), b[3+n:]
	}
	if len(b) < 8 {
		return sandbox.Entry{}, ErrCorrupt
	}
	e := sandbox.Entry{Seq: seq, Code: string(b[8:]), ID: id, Snapshot: snap}
	if at := int64(binary.BigEndian.Uint64(b)); at != math.MinInt64 {
		e.At = time.Unix(0, at).UTC()
	}
	return e, nil
}

// SnapshotSeq returns the sequence number of the snapshot encoded in b;
// ok is false when b is not a snapshot.
func SnapshotSeq(b []byte) (seq uint64, ok bool) {
	if len(b) < snapHead || b[0] != snapMarker[0] || b[1] != snapMarker[1] {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[2:]), true
}
