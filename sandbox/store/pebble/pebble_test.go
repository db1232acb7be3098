package pebble_test

import (
	"path/filepath"
	"testing"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/pebble"
	"github.com/otpbox/otpbox/sandbox/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sandbox.Store {
		s, err := pebble.Open(filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
