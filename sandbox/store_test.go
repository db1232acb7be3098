package sandbox_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/bolt"
)

// openStore opens the embedded default store in dir.
func openStore(t *testing.T, dir string) sandbox.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(dir, "sandboxes.db"))
	require.NoError(t, err)
	return s
}
