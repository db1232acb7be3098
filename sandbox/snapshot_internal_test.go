package sandbox

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/otpbox/otpbox/sandbox/internal/wire"
)

// FuzzAnswered: the ids and answers a snapshot keeps decode to what was
// kept (answers dropped oldest first included), and any bytes decode to
// an error or to something get can read, never a panic.
func FuzzAnswered(f *testing.F) {
	f.Add(uint16(3), uint16(10), []byte(nil))
	f.Add(uint16(300), uint16(4000), []byte{1, 2, 3})
	f.Add(uint16(0), uint16(0), []byte{0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0})
	f.Fuzz(func(t *testing.T, n, size uint16, junk []byte) {
		a := newAnswered()
		for i := range int(n % 400) {
			a.put(fmt.Sprintf("r%d", i), uint64(i), &wire.ExecResult{Value: strings.Repeat("v", int(size)%5000), Steps: uint64(i)})
		}
		b, err := unmarshalAnswered(a.marshal())
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(a.list) == 0 {
			a = newAnswered()
		}
		if !reflect.DeepEqual(a.list, b.list) && len(a.list)+len(b.list) > 0 || a.kept != b.kept || string(a.buf) != string(b.buf) {
			t.Fatalf("decoded %d ids (kept from %d, %d bytes), want %d (from %d, %d bytes)", len(b.list), b.kept, len(b.buf), len(a.list), a.kept, len(a.buf))
		}
		if last := int(n%400) - 1; last >= 0 {
			r, found, err := b.get(fmt.Sprintf("r%d", last), uint64(last))
			if !found || err != nil || r.GetSteps() != uint64(last) {
				t.Fatalf("the latest answer: %v, %v, %v", r, found, err)
			}
		}
		if c, err := unmarshalAnswered(junk); err == nil {
			for i := range c.list {
				c.get(fmt.Sprintf("r%d", i), 0)
			}
			c.put("new", 1, &wire.ExecResult{})
		}
	})
}
