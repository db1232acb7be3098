// Package codec is the byte encoding of journal entries shared by the
// store implementations: 8 bytes of big-endian Unix nanoseconds (the
// minimum int64 for the zero time), then the code. The sequence number
// is the entry's position, kept by each store.
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

// Encode returns e's bytes; e.Seq is not part of them.
func Encode(e sandbox.Entry) []byte {
	b := make([]byte, 8+len(e.Code))
	at := int64(math.MinInt64)
	if !e.At.IsZero() {
		at = e.At.UnixNano()
	}
	binary.BigEndian.PutUint64(b, uint64(at))
	copy(b[8:], e.Code)
	return b
}

// Decode returns the entry encoded in b, with sequence number seq.
func Decode(seq uint64, b []byte) (sandbox.Entry, error) {
	if len(b) < 8 {
		return sandbox.Entry{}, ErrCorrupt
	}
	e := sandbox.Entry{Seq: seq, Code: string(b[8:])}
	if at := int64(binary.BigEndian.Uint64(b)); at != math.MinInt64 {
		e.At = time.Unix(0, at).UTC()
	}
	return e, nil
}
