package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// kind is a record's type.
type kind byte

const (
	kindEntry    kind = 1 // an entry of a sandbox's journal, with its sequence number
	kindMeta     kind = 2 // a sandbox's metadata, replacing the previous one
	kindTruncate kind = 3 // the end of a sandbox's journal so far
	kindDelete   kind = 4 // the end of a sandbox: journal and metadata
	// kindSnapshot is a snapshot of a sandbox, with its sequence number:
	// it replaces the entries up to that number.
	kindSnapshot kind = 5
)

// hasSeq reports whether records of kind k carry a sequence number.
func (k kind) hasSeq() bool { return k == kindEntry || k == kindSnapshot }

// maxSeq bounds an entry's sequence number in the log.
const maxSeq = 1 << 31

// frameHeader is the length and CRC before each record's body.
const frameHeader = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is a decoded record body.
type record struct {
	kind    kind
	id      string
	seq     uint64 // kindEntry and kindSnapshot only
	payload []byte // the encoded entry, or the metadata
}

// appendFrame appends r's frame to buf and returns it.
func appendFrame(buf []byte, k kind, id string, seq uint64, payload []byte) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, frameHeader)...)
	buf = append(buf, byte(k))
	buf = binary.AppendUvarint(buf, uint64(len(id)))
	buf = append(buf, id...)
	if k.hasSeq() {
		buf = binary.AppendUvarint(buf, seq)
	}
	buf = append(buf, payload...)
	body := buf[start+frameHeader:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(body, castagnoli))
	return buf
}

// frameSize is the size of a frame for a record of these fields.
func frameSize(k kind, id string, seq uint64, payload int) int {
	n := frameHeader + 1 + uvarintLen(uint64(len(id))) + len(id) + payload
	if k.hasSeq() {
		n += uvarintLen(seq)
	}
	return n
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// checkFrame verifies a frame's header against its body: b holds the
// whole frame.
func checkFrame(b []byte) ([]byte, error) {
	if len(b) < frameHeader {
		return nil, fmt.Errorf("%w: short frame", ErrCorrupt)
	}
	n := binary.LittleEndian.Uint32(b)
	body := b[frameHeader:]
	if uint32(len(body)) != n {
		return nil, fmt.Errorf("%w: frame length %d, want %d", ErrCorrupt, len(body), n)
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return body, nil
}

// decodeBody parses a record body. payload aliases body.
func decodeBody(body []byte) (record, error) {
	if len(body) < 2 {
		return record{}, fmt.Errorf("%w: short record", ErrCorrupt)
	}
	r := record{kind: kind(body[0])}
	if r.kind < kindEntry || r.kind > kindSnapshot {
		return record{}, fmt.Errorf("%w: record type %d", ErrCorrupt, body[0])
	}
	b := body[1:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return record{}, fmt.Errorf("%w: sandbox id length", ErrCorrupt)
	}
	r.id, b = string(b[w:w+int(n)]), b[w+int(n):]
	if r.kind.hasSeq() {
		if r.seq, w = binary.Uvarint(b); w <= 0 || r.seq == 0 || r.seq > maxSeq {
			return record{}, fmt.Errorf("%w: sequence number", ErrCorrupt)
		}
		b = b[w:]
	}
	r.payload = b
	return r, nil
}
