// Package codec is the byte encoding of journal entries shared by the
// store implementations: 8 bytes of big-endian Unix nanoseconds (the
// minimum int64 for the zero time), then the code. An entry with a request
// id starts with the marker 0xFE 0x01, the id's length (one byte) and the
// id; no timestamp the stores write starts with 0xFE (that is before
// 1700), so older entries decode as they are. The sequence number is the
// entry's position, kept by each store.
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

// marker starts an entry with a request id.
var marker = [2]byte{0xFE, 0x01}

// MaxIDLen is the longest request id an entry keeps.
const MaxIDLen = 255

// ErrIDTooLong reports an entry whose ID is over MaxIDLen bytes.
var ErrIDTooLong = errors.New("codec: request id over 255 bytes")

// Encode returns e's bytes; e.Seq is not part of them.
func Encode(e sandbox.Entry) ([]byte, error) {
	if len(e.ID) > MaxIDLen {
		return nil, ErrIDTooLong
	}
	head := 0
	if e.ID != "" {
		head = 3 + len(e.ID)
	}
	b := make([]byte, head+8+len(e.Code))
	if e.ID != "" {
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

// Decode returns the entry encoded in b, with sequence number seq.
func Decode(seq uint64, b []byte) (sandbox.Entry, error) {
	var id string
	if len(b) >= 3 && b[0] == marker[0] && b[1] == marker[1] {
		n := int(b[2])
		if len(b) < 3+n {
			return sandbox.Entry{}, ErrCorrupt
		}
		id, b = string(b[3:3+n]), b[3+n:]
	}
	if len(b) < 8 {
		return sandbox.Entry{}, ErrCorrupt
	}
	e := sandbox.Entry{Seq: seq, Code: string(b[8:]), ID: id}
	if at := int64(binary.BigEndian.Uint64(b)); at != math.MinInt64 {
		e.At = time.Unix(0, at).UTC()
	}
	return e, nil
}
